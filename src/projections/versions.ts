// Blue/green versions of a read model. Version 1 of a model is its tables under
// their plain names (what migrations/ created); version N > 1 is the same
// tables suffixed `__v<N>`, built from offset 0 by `parley rebuild` while the
// active version keeps serving. `projection_versions` says which version is
// active (and which one is being built); the switch is one UPDATE of that row.
//
// Code never names a suffixed table: the model's queries and its projection
// are written against the plain names, and VersionedTablesPlugin rewrites
// them for a version (a fixed one for a projector, "whatever is active" for
// the query side). Raw SQL that names a table must use `sql.table('messages')`
// (not the bare word) so the plugin sees it.

import {
  OperationNodeTransformer,
  TableNode,
  type KyselyPlugin,
  type Kysely,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import type { Database } from '../store/schema.ts';
import type { Projection } from './runner.ts';
import type { AnyDatabase, TableRenaming } from '../store/dialect.ts';

/** A read model that can be rebuilt into fresh tables and swapped in. */
export interface VersionedModel {
  /** The projection that writes it; its name keys `projection_versions`. */
  projection: Projection;
  /** Its tables, by their version-1 names, in an order that can be dropped. */
  tables: readonly string[];
  /**
   * Every name the plugin rewrites for a version: the tables and any other
   * object queries name (e.g. the `messages_fts` full-text table).
   */
  names: readonly string[];
  /** Creates the tables of `version` (and their indexes) with the model's current schema. */
  create(db: AnyDatabase, version: number): Promise<void>;
  /**
   * Adds what is cheaper to build once, over rows already there, than row by
   * row while a rebuild loads them (full-text indexes). A rebuild calls it
   * when it first reaches the head, before the swap; it must be idempotent,
   * and the model is complete only after it.
   */
  finish?(db: AnyDatabase, version: number): Promise<void>;
  /** Drops the tables of `version` if they exist. */
  drop(db: AnyDatabase, version: number): Promise<void>;
}

/** `messages` → `messages` (version 1) or `messages__v3`. */
export const versionedName = (name: string, version: number): string => (version === 1 ? name : `${name}__v${version}`);

/** The projection name (offsets row, consumer group) of one version: `chat`, `chat@v3`. */
export const versionedProjectionName = (projection: string, version: number): string =>
  version === 1 ? projection : `${projection}@v${version}`;

/** Rewrites table names: `users` → `users__v3`. Unknown names are left alone. */
class RenameTables extends OperationNodeTransformer {
  readonly #names: ReadonlyMap<string, string>;
  constructor(names: ReadonlyMap<string, string>) {
    super();
    this.#names = names;
  }
  renamed(name: string): string | undefined {
    return this.#names.get(name);
  }
  protected override transformTable(node: TableNode): TableNode {
    const name = node.table.identifier.name;
    const renamed = node.table.schema === undefined ? this.#names.get(name) : undefined;
    return renamed === undefined ? super.transformTable(node) : TableNode.create(renamed);
  }
}

/**
 * Maps the plain table names of models to the names of a version. `versionOf`
 * is asked at every query, so one Kysely instance can follow the active version.
 */
export class VersionedTablesPlugin implements KyselyPlugin, TableRenaming {
  readonly #models: readonly { names: readonly string[]; version: () => number }[];
  #cacheKey = '';
  #transformer: RenameTables | null = null;

  constructor(models: readonly { names: readonly string[]; version: number | (() => number) }[]) {
    this.#models = models.map(({ names, version }) => ({
      names,
      version: typeof version === 'number' ? () => version : version,
    }));
  }

  /** A plugin for one model at one fixed version. */
  static at(model: Pick<VersionedModel, 'names'>, version: number): VersionedTablesPlugin {
    return new VersionedTablesPlugin([{ names: model.names, version }]);
  }

  /** The name `table` has in the versions the models are at now (store/dialect.ts asks for bulk writes' tables). */
  renamedTable(table: string): string {
    return this.#current()?.renamed(table) ?? table;
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const transformer = this.#current();
    return transformer === null ? args.node : transformer.transformNode(args.node, args.queryId);
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }

  #current(): RenameTables | null {
    const versions = this.#models.map((model) => model.version());
    const key = versions.join(',');
    if (key !== this.#cacheKey) {
      const names = new Map<string, string>();
      this.#models.forEach((model, i) => {
        if (versions[i] !== 1) for (const name of model.names) names.set(name, versionedName(name, versions[i]!));
      });
      this.#transformer = names.size === 0 ? null : new RenameTables(names);
      this.#cacheKey = key;
    }
    return this.#transformer;
  }
}

// ── projection_versions ─────────────────────────────────────────────────────

export interface VersionState {
  active: number;
  /** The version `parley rebuild` is building, if one is under way (or was interrupted). */
  building: number | null;
}

/** The versions of one model; a model never rebuilt is at version 1. */
export async function readVersionState(db: Kysely<Database>, projection: string): Promise<VersionState> {
  const row = await db
    .selectFrom('projection_versions')
    .select(['active_version', 'building_version'])
    .where('projection', '=', projection)
    .executeTakeFirst();
  if (row === undefined) return { active: 1, building: null };
  return {
    active: row.active_version,
    building: row.building_version === null ? null : row.building_version,
  };
}

/** Active version of every model that has a row. */
export async function readActiveVersions(db: Kysely<Database>): Promise<Map<string, number>> {
  const rows = await db.selectFrom('projection_versions').select(['projection', 'active_version']).execute();
  return new Map(rows.map((row) => [row.projection, row.active_version]));
}

export async function ensureVersionRow(db: Kysely<Database>, projection: string, now = Date.now()): Promise<void> {
  await db
    .insertInto('projection_versions')
    .ignore()
    .values({ projection, active_version: 1, building_version: null, updated_at: now })
    .execute();
}

/** Versions whose tables exist, found by their names (any one table of a version counts). */
export async function existingVersions(db: AnyDatabase, model: Pick<VersionedModel, 'tables'>): Promise<number[]> {
  const tables = await db.introspection.getTables();
  const versions = new Set<number>();
  for (const { name } of tables) {
    for (const base of model.tables) {
      if (name === base) versions.add(1);
      else if (name.startsWith(`${base}__v`) && /^\d+$/.test(name.slice(base.length + 3))) {
        versions.add(Number(name.slice(base.length + 3)));
      }
    }
  }
  return [...versions].sort((a, b) => a - b);
}

/** True when every table of `version` exists. */
export async function versionComplete(db: AnyDatabase, model: Pick<VersionedModel, 'tables'>, version: number): Promise<boolean> {
  const names = new Set((await db.introspection.getTables()).map((table) => table.name));
  return model.tables.every((table) => names.has(versionedName(table, version)));
}
