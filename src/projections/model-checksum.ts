// A checksum over every row of every table of one version of a read model, so
// two versions (a rebuild and the live one) can be compared exactly. Rows are
// hashed in a canonical form (sorted keys, numbers as numbers), in sorted
// order, so neither row order nor the engine's number types matter.

import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { versionedName, type VersionedModel } from './versions.ts';
import type { AnyDatabase } from '../store/dialect.ts';

export interface ModelChecksum {
  /** One hash over all tables. */
  total: string;
  tables: Record<string, { rows: number; hash: string }>;
}

export async function modelChecksum(
  db: AnyDatabase,
  model: Pick<VersionedModel, 'tables'>,
  version: number,
  options: { omitColumns?: readonly string[] } = {},
): Promise<ModelChecksum> {
  const omit = new Set(options.omitColumns ?? []);
  const tables: ModelChecksum['tables'] = {};
  const total = createHash('sha256');
  for (const table of [...model.tables].sort()) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(versionedName(table, version))}`.execute(db);
    const lines = rows.map((row) => canonicalRow(row, omit)).sort();
    const hash = createHash('sha256');
    for (const line of lines) hash.update(line).update('\n');
    const digest = hash.digest('hex');
    tables[table] = { rows: lines.length, hash: digest };
    total.update(`${table}:${lines.length}:${digest}\n`);
  }
  return { total: total.digest('hex'), tables };
}

function canonicalRow(row: Record<string, unknown>, omit: ReadonlySet<string>): string {
  const keys = Object.keys(row)
    .filter((key) => !omit.has(key))
    .sort();
  return JSON.stringify(keys.map((key) => [key, canonicalValue(row[key])]));
}

function canonicalValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value ?? null;
}
