// Runs the read-model migrations in migrations/ (one file per step, applied in
// name order, recorded by kysely in kysely_migration). Run by `parley migrate`
// and at start.

import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration';
import type { AnyDatabase } from './dialect.ts';

export const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));

const fileProvider = (dir: string): MigrationProvider => ({
  async getMigrations() {
    const migrations: Record<string, Migration> = {};
    for (const file of (await fs.readdir(dir)).sort()) {
      if (!/^\d{4}_.+\.ts$/.test(file) || file.endsWith('.spec.ts')) continue;
      migrations[file.replace(/\.ts$/, '')] = (await import(pathToFileURL(path.join(dir, file)).href)) as Migration;
    }
    return migrations;
  },
});

/**
 * Applies every pending migration; returns the names applied. Migrations see
 * the database untyped: they build the schema the types describe.
 */
export async function migrateToLatest(db: AnyDatabase, dir = migrationsDir): Promise<string[]> {
  return applied(await new Migrator({ db, provider: fileProvider(dir) }).migrateToLatest());
}

/** Migrates up or down to `target` (a migration's name, `0005_projection_versions`); returns the names run. */
export async function migrateTo(db: AnyDatabase, target: string, dir = migrationsDir): Promise<string[]> {
  return applied(await new Migrator({ db, provider: fileProvider(dir) }).migrateTo(target));
}

/** Reverts the newest applied migration; returns its name (none: nothing was applied). */
export async function migrateDown(db: AnyDatabase, dir = migrationsDir): Promise<string[]> {
  return applied(await new Migrator({ db, provider: fileProvider(dir) }).migrateDown());
}

/** The file name the next migration called `name` gets in `dir`: the next number, then the name. */
export async function nextMigrationFile(name: string, dir = migrationsDir): Promise<string> {
  const numbers = (await fs.readdir(dir)).map((file) => /^(\d{4})_/.exec(file)?.[1]).filter((n) => n !== undefined);
  const next = Math.max(0, ...numbers.map(Number)) + 1;
  return `${String(next).padStart(4, '0')}_${name}.ts`;
}

function applied({ error, results }: MigrationResultSet): string[] {
  if (error !== undefined) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
