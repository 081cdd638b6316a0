// Snapshots of the command processor's state, so that a processor taking a
// partition over reads the snapshot and the events after it, not the
// partition's whole history (issue 13: a partition's restore in ≤ 2 s however
// long its history).
//
// A snapshot is written in pieces, each only when it changed: per partition
// the offset it is good up to and the processor's memory of recent commands;
// per aggregate its state without its cold entries; per cold entry (a room's
// message, domain/aggregates.ts) one row, read back only when a command or an
// event needs it. So writing one costs what changed since the last, and
// restoring one costs the number of aggregates, not of messages.
//
// States are stored in V8's serialization (node:v8), which keeps Maps and Sets
// as they are. They hold what the events hold: personal fields arrive sealed,
// and erasing a user's key erases them here too.

import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import type { Kysely } from 'kysely';
import type { Position } from '../log/port.ts';
import { engineOf, quotedColumn, writeSql } from '../store/dialect.ts';
import type { Database } from '../store/schema.ts';
import { inTransaction } from '../store/transaction.ts';

/** Raise when a decider's state changes meaning without changing its fields (the fingerprint below catches the rest). */
const STATE_VERSION = 1;

/** What the processor remembers of a partition besides its aggregates. */
export interface PartitionMemory {
  head: Position | null;
  /** command id → position of its last event, oldest first. */
  recent: [string, Position | null][];
  /** Aggregates whose cold entries are rows of their own (cold-entries.ts). */
  spilled: string[];
}

export interface PartitionSnapshot {
  /** The first offset the snapshot does not cover: restore reads the log from here. */
  nextOffset: number;
  /** Identifies the record at nextOffset - 1 (`recordIdentity`): a snapshot of another log is not used. */
  lastRecord: string;
  memory: PartitionMemory;
  /** Every aggregate of the partition, their cold entries not loaded. */
  aggregates: Map<string, unknown>;
}

/** What changed since the partition's last snapshot. */
export interface SnapshotChanges {
  nextOffset: number;
  lastRecord: string;
  memory: PartitionMemory;
  /** Aggregates whose state changed, without their cold entries. */
  aggregates: Map<string, unknown>;
  /** Cold entries that changed: aggregate id → entry id → entry. */
  entries: Map<string, Map<string, unknown>>;
  /**
   * Every cold entry of the aggregates that spill with this snapshot. Written
   * ahead, in transactions of their own, so a history of a million messages
   * does not hold the database's write lock in one; no restore reads them
   * before the snapshot that names them spilled is saved.
   */
  spills: Map<string, Map<string, unknown>>;
}

export interface SnapshotStore {
  load(partition: number): Promise<PartitionSnapshot | null>;
  /** The stored entries among `ids` (missing ones are absent from the map). */
  loadEntries(aggregateId: string, ids: readonly string[]): Promise<Map<string, unknown>>;
  /**
   * Writes the changes in one transaction; false (nothing written) when the
   * stored snapshot is already further along: written by the partition's new
   * owner while this writer, stale, did not know it had lost the partition.
   */
  save(partition: number, changes: SnapshotChanges): Promise<boolean>;
  /** Forgets the partition's snapshot (it belongs to another log): the next one starts from scratch. */
  discard(partition: number): Promise<void>;
}

/**
 * The store of one log's snapshots in the read-model database. `scope` tells
 * logs sharing a database apart (a Kafka namespace).
 */
export function sqlSnapshotStore(db: Kysely<Database>, scope: string, format: string): SnapshotStore {
  const rowsPerStatement = 500;
  return {
    async load(partition) {
      const head = await db
        .selectFrom('processor_snapshots')
        .select(['format', 'next_offset', 'last_record', 'memory'])
        .where('scope', '=', scope)
        .where('partition_no', '=', partition)
        .executeTakeFirst();
      if (head === undefined || head.format !== format) return null;
      const rows = await db
        .selectFrom('processor_snapshot_aggregates')
        .select(['aggregate_id', 'state'])
        .where('scope', '=', scope)
        .where('partition_no', '=', partition)
        .execute();
      const aggregates = new Map<string, unknown>();
      for (const row of rows) aggregates.set(row.aggregate_id, v8.deserialize(row.state));
      return {
        nextOffset: head.next_offset,
        lastRecord: head.last_record,
        memory: v8.deserialize(head.memory) as PartitionMemory,
        aggregates,
      };
    },

    async loadEntries(aggregateId, ids) {
      const found = new Map<string, unknown>();
      for (let start = 0; start < ids.length; start += rowsPerStatement) {
        const rows = await db
          .selectFrom('processor_snapshot_entries')
          .select(['entry_id', 'entry'])
          .where('scope', '=', scope)
          .where('aggregate_id', '=', aggregateId)
          .where('entry_id', 'in', ids.slice(start, start + rowsPerStatement))
          .execute();
        for (const row of rows) found.set(row.entry_id, decodeEntry(row.entry));
      }
      return found;
    },

    async save(partition, changes) {
      /** Locks the partition's row until the transaction ends (MySQL; SQLite's transactions take the write lock as they begin). */
      const newerExists = async (trx: Kysely<Database>) => {
        let stored = trx
          .selectFrom('processor_snapshots')
          .select('next_offset')
          .where('scope', '=', scope)
          .where('partition_no', '=', partition);
        if (engineOf(db) === 'mysql') stored = stored.forUpdate();
        const current = await stored.executeTakeFirst();
        return current !== undefined && current.next_offset > changes.nextOffset;
      };
      const writeEntries = (trx: Kysely<Database>, aggregateId: string, ids: string[], entries: Map<string, unknown>) =>
        upsertEntries(trx, ids.length, (index) => {
          const id = ids[index]!;
          return [scope, aggregateId, id, encodeEntry(entries.get(id)), changes.nextOffset];
        });
      for (const [aggregateId, entries] of changes.spills) {
        const ids = [...entries.keys()];
        for (let start = 0; start < ids.length; start += spillRowsPerTransaction) {
          const written = await inTransaction(db, async (trx) => {
            if (await newerExists(trx)) return false;
            await writeEntries(trx, aggregateId, ids.slice(start, start + spillRowsPerTransaction), entries);
            return true;
          });
          if (!written) return false;
        }
      }
      return inTransaction(db, async (trx) => {
        // Two writers of the partition serialise here: the older view loses.
        if (await newerExists(trx)) return false;
        const memory = v8.serialize(changes.memory);
        await replaceRows(trx, 'processor_snapshots', 1, () => [
          scope,
          partition,
          format,
          changes.nextOffset,
          changes.lastRecord,
          memory,
          Date.now(),
        ]);
        const aggregates = [...changes.aggregates.keys()];
        await replaceRows(trx, 'processor_snapshot_aggregates', aggregates.length, (index) => {
          const id = aggregates[index]!;
          return [scope, partition, id, v8.serialize(changes.aggregates.get(id))];
        });
        for (const [aggregateId, entries] of changes.entries) await writeEntries(trx, aggregateId, [...entries.keys()], entries);
        return true;
      });
    },

    async discard(partition) {
      await inTransaction(db, async (trx) => {
        const aggregateIds = trx
          .selectFrom('processor_snapshot_aggregates')
          .select('aggregate_id')
          .where('scope', '=', scope)
          .where('partition_no', '=', partition);
        await trx
          .deleteFrom('processor_snapshot_entries')
          .where('scope', '=', scope)
          .where('aggregate_id', 'in', aggregateIds)
          .execute();
        await trx
          .deleteFrom('processor_snapshot_aggregates')
          .where('scope', '=', scope)
          .where('partition_no', '=', partition)
          .execute();
        await trx.deleteFrom('processor_snapshots').where('scope', '=', scope).where('partition_no', '=', partition).execute();
      });
    },
  };
}

const columnsOf = {
  processor_snapshots: ['scope', 'partition_no', 'format', 'next_offset', 'last_record', 'memory', 'taken_at'],
  processor_snapshot_aggregates: ['scope', 'partition_no', 'aggregate_id', 'state'],
  processor_snapshot_entries: ['scope', 'aggregate_id', 'entry_id', 'entry', 'next_offset'],
} as const;

/** Rows of a spill per transaction: each holds SQLite's write lock for well under 100 ms here. */
const spillRowsPerTransaction = 10_000;

/** Bound values, and bytes, per statement: under SQLite's and MySQL's limits (max_allowed_packet 16 MB by default). */
const maxParams = 8_000;
const maxBytes = 4_000_000;

type Value = string | number | Buffer;

/**
 * Inserts `count` rows, built by `row(index)` only as their statement is
 * (a first snapshot of a long history writes a row per message: building them
 * all first would hold them all in memory), replacing those with the same
 * key: `REPLACE INTO`, which SQLite and MySQL both read alike. Written as SQL,
 * not with the query builder, whose building cost more than the running.
 */
function replaceRows(db: Kysely<Database>, table: keyof typeof columnsOf, count: number, row: (index: number) => Value[]) {
  return writeRows(db, 'replace', table, count, row, '');
}

/** Inserts entries; one already stored is replaced only by an entry of a snapshot as new or newer. */
function upsertEntries(db: Kysely<Database>, count: number, row: (index: number) => Value[]) {
  const conflict =
    engineOf(db) === 'mysql'
      ? // Assignments run left to right: `entry` compares with the old next_offset.
        ' on duplicate key update entry = if(values(next_offset) >= next_offset, values(entry), entry),' +
        ' next_offset = greatest(next_offset, values(next_offset))'
      : ' on conflict (scope, aggregate_id, entry_id) do update set entry = excluded.entry, next_offset = excluded.next_offset' +
        ' where excluded.next_offset >= processor_snapshot_entries.next_offset';
  return writeRows(db, 'insert', 'processor_snapshot_entries', count, row, conflict);
}

async function writeRows(
  db: Kysely<Database>,
  verb: 'insert' | 'replace',
  table: keyof typeof columnsOf,
  count: number,
  row: (index: number) => Value[],
  conflict: string,
) {
  const columns = columnsOf[table];
  const quote = (name: string) => quotedColumn(db, name);
  const head = `${verb} into ${quote(table)} (${columns.map(quote).join(', ')}) values `;
  const one = `(${columns.map(() => '?').join(', ')})`;
  let index = 0;
  while (index < count) {
    const parameters: Value[] = [];
    let rows = 0;
    let bytes = 0;
    while (index < count && (rows + 1) * columns.length <= maxParams && bytes < maxBytes) {
      for (const value of row(index++)) {
        parameters.push(value);
        bytes += typeof value === 'number' ? 8 : value.length;
      }
      rows++;
    }
    await writeSql(db, head + Array.from({ length: rows }, () => one).join(', ') + conflict, parameters);
  }
}

/**
 * A cold entry as stored: JSON, with Maps and Sets tagged. Not V8's
 * serialization, which costs ~5 µs a call: a first snapshot makes a call per
 * message (JSON: ~0.3 µs).
 */
function encodeEntry(entry: unknown): Buffer {
  return Buffer.from(
    JSON.stringify(entry, (_key, value: unknown) =>
      value instanceof Map ? { $map: [...value] } : value instanceof Set ? { $set: [...value] } : value,
    ),
  );
}

/** `stored` is a Buffer from mysql2, a Uint8Array from node:sqlite. */
function decodeEntry(stored: Uint8Array): unknown {
  const text = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString('utf8');
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value !== 'object' || value === null) return value;
    if ('$map' in value) return new Map((value as { $map: [unknown, unknown][] }).$map);
    if ('$set' in value) return new Set((value as { $set: unknown[] }).$set);
    return value;
  });
}

/**
 * The format of snapshots written by this code: STATE_VERSION and the fields
 * of every aggregate's initial state. A snapshot of another format is not
 * used (the processor folds the history and writes a new one).
 */
export function snapshotFormat(initialStates: Record<string, unknown>): string {
  const shape = Object.entries(initialStates)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(
      ([kind, state]) =>
        `${kind}:${Object.keys(state as object)
          .sort()
          .join(',')}`,
    )
    .join(';');
  return `${STATE_VERSION}-${createHash('sha256').update(shape).digest('hex').slice(0, 16)}`;
}

/** Identifies a record of the events log: its key and the command that wrote it. */
export const recordIdentity = (key: string, commandId: string | undefined): string => `${key} ${commandId ?? ''}`;
