// The embedded log's storage: schema, prepared statements and the few
// synchronous operations the adapter builds on. Everything here runs inside
// one DatabaseSync connection, so a JS caller never observes a half-written
// transaction of its own process; other processes are kept apart by SQLite's
// locks (BEGIN IMMEDIATE for every write).

import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { checkpointInBackground, type CheckpointerOptions, type WalCheckpointer } from '../../store/wal-checkpointer.ts';
import type { Headers, LogRecord, TopicSpec } from '../port.ts';

export type Durability = 'full' | 'normal';

export interface TopicRow {
  id: number;
  name: string;
  partitions: number;
  retentionMs: number | null;
}

/** One record ready to be written, its partition already chosen. */
export interface RecordToWrite {
  partition: number;
  key: string;
  value: Uint8Array;
  headers: Headers | undefined;
}

export interface StoreOptions {
  path: string;
  durability: Durability;
  busyTimeoutMs: number;
  /** Checkpoint the WAL from a worker thread (store/wal-checkpointer.ts); absent: the committing call does, now and then. */
  backgroundCheckpoints?: CheckpointerOptions | undefined;
}

// Schema version kept in PRAGMA user_version so a later change can migrate.
const SCHEMA_VERSION = 1;

// Tables are prefixed `log_` so the file can sit beside other data if a
// deployment wants one file. Each partition's records get their own table keyed
// by offset (the rowid): an append always lands on the right edge of that
// b-tree, so a commit dirties about one page per touched partition, and a read
// is one contiguous range scan. One shared table keyed by (topic, partition,
// offset) has the same reads but writes into the middle of the tree and, with
// 12 partitions, sent twice the pages through the WAL (and fsync) per commit.
//
// log_partitions keeps only the first offset still held; the end offset is the
// last record's offset + 1, or start_offset when retention emptied the table
// (retention then sets start_offset to the end), so appends need not touch it.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS log_topics (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  partitions INTEGER NOT NULL CHECK (partitions > 0),
  retention_ms INTEGER
);
CREATE TABLE IF NOT EXISTS log_partitions (
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  start_offset INTEGER NOT NULL,
  PRIMARY KEY (topic_id, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_group_offsets (
  grp TEXT NOT NULL,
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  off INTEGER NOT NULL,
  PRIMARY KEY (grp, topic_id, partition)
) WITHOUT ROWID;
`;

/** The records table of one partition; ids are integers, so the name is safe to splice. */
function recordsTable(topicId: number, partition: number): string {
  return `log_records_${topicId}_${partition}`;
}

/** The statements of one partition's table, prepared on first use and kept. */
interface PartitionStatements {
  insert: StatementSync;
  select: StatementSync;
  last: StatementSync;
  firstKept: StatementSync;
  deleteBefore: StatementSync;
}

export class SqliteStore {
  readonly #db: DatabaseSync;
  readonly #durability: Durability;
  #currentSync: Durability;
  readonly #topicsByName = new Map<string, TopicRow>();

  readonly #selectTopic: StatementSync;
  readonly #selectTopics: StatementSync;
  readonly #insertTopic: StatementSync;
  readonly #insertPartition: StatementSync;
  readonly #selectStart: StatementSync;
  readonly #updateStart: StatementSync;
  readonly #partitionStatements = new Map<string, PartitionStatements>();
  readonly #selectCommitted: StatementSync;
  readonly #upsertCommitted: StatementSync;
  readonly #dataVersion: StatementSync;
  readonly #checkpointer: WalCheckpointer | undefined;

  constructor(options: StoreOptions) {
    this.#db = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs });
    this.#durability = options.durability;
    this.#currentSync = options.durability;
    // WAL: readers (a CLI tail in another process) never block the writer,
    // and a commit is one sequential append to the WAL file.
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec(`PRAGMA synchronous = ${syncPragma(options.durability)}`);
    this.#migrate();
    this.#checkpointer = options.backgroundCheckpoints
      ? checkpointInBackground(this.#db, options.path, options.backgroundCheckpoints)
      : undefined;

    const db = this.#db;
    this.#selectTopic = db.prepare('SELECT id, name, partitions, retention_ms FROM log_topics WHERE name = ?');
    this.#selectTopics = db.prepare('SELECT id, name, partitions, retention_ms FROM log_topics');
    this.#insertTopic = db.prepare(
      'INSERT INTO log_topics (name, partitions, retention_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
    );
    this.#insertPartition = db.prepare(
      'INSERT OR IGNORE INTO log_partitions (topic_id, partition, start_offset) VALUES (?, ?, 0)',
    );
    this.#selectStart = db.prepare('SELECT start_offset FROM log_partitions WHERE topic_id = ? AND partition = ?');
    this.#updateStart = db.prepare('UPDATE log_partitions SET start_offset = ? WHERE topic_id = ? AND partition = ?');
    this.#selectCommitted = db.prepare('SELECT off FROM log_group_offsets WHERE grp = ? AND topic_id = ? AND partition = ?');
    this.#upsertCommitted = db.prepare(
      'INSERT INTO log_group_offsets (grp, topic_id, partition, off) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (grp, topic_id, partition) DO UPDATE SET off = excluded.off',
    );
    // Changes whenever another connection (process) commits; polled by sqlite-log.ts.
    this.#dataVersion = db.prepare('PRAGMA data_version');
  }

  #migrate(): void {
    const version = int(this.#db.prepare('PRAGMA user_version').get()?.['user_version']);
    if (version > SCHEMA_VERSION) {
      throw new Error(`log database schema version ${version} is newer than this code understands (${SCHEMA_VERSION})`);
    }
    if (version === SCHEMA_VERSION) return;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      this.#db.exec(SCHEMA);
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      this.#db.exec('COMMIT');
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#db.close();
    await this.#checkpointer?.stop();
  }

  /**
   * Runs `fn` in one write transaction. `durability` 'normal' is used for
   * transactions whose loss on power failure is harmless (committed consumer
   * offsets: losing one only redelivers a batch); appends use the configured
   * durability. Switching the pragma per transaction is allowed by SQLite and a
   * later 'full' commit fsyncs the WAL, earlier frames included.
   */
  transaction<T>(durability: Durability, fn: () => T): T {
    const wanted: Durability = this.#durability === 'normal' ? 'normal' : durability;
    if (wanted !== this.#currentSync) {
      this.#db.exec(`PRAGMA synchronous = ${syncPragma(wanted)}`);
      this.#currentSync = wanted;
    }
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  // ---- topics -------------------------------------------------------------

  ensureTopics(specs: TopicSpec[]): void {
    this.transaction('full', () => {
      for (const spec of specs) {
        this.#insertTopic.run(spec.name, spec.partitions, spec.retentionMs);
        const row = this.#readTopic(spec.name);
        if (!row) throw new Error(`topic ${spec.name} vanished while being created`);
        for (let p = 0; p < row.partitions; p++) {
          this.#db.exec(
            `CREATE TABLE IF NOT EXISTS ${recordsTable(row.id, p)} (
              off INTEGER PRIMARY KEY,
              key TEXT NOT NULL,
              value BLOB NOT NULL,
              headers TEXT,
              ts INTEGER NOT NULL
            )`,
          );
          this.#insertPartition.run(row.id, p);
        }
      }
    });
  }

  /** The topic, looked up in the database on a cache miss (another process may have created it). */
  topic(name: string): TopicRow | undefined {
    const cached = this.#topicsByName.get(name);
    if (cached) return cached;
    return this.#readTopic(name);
  }

  allTopics(): TopicRow[] {
    return this.#selectTopics.all().map(toTopicRow);
  }

  #readTopic(name: string): TopicRow | undefined {
    const row = this.#selectTopic.get(name);
    if (!row) return undefined;
    const topic = toTopicRow(row);
    // A topic never changes once created, so caching it forever is safe.
    this.#topicsByName.set(name, topic);
    return topic;
  }

  // ---- records ------------------------------------------------------------

  #statements(topicId: number, partition: number): PartitionStatements {
    const id = `${topicId}:${partition}`;
    let statements = this.#partitionStatements.get(id);
    if (!statements) {
      const table = recordsTable(topicId, partition);
      const db = this.#db;
      statements = {
        insert: db.prepare(`INSERT INTO ${table} (off, key, value, headers, ts) VALUES (?, ?, ?, ?, ?)`),
        select: db.prepare(`SELECT off, key, value, headers, ts FROM ${table} WHERE off >= ? ORDER BY off LIMIT ?`),
        last: db.prepare(`SELECT off FROM ${table} ORDER BY off DESC LIMIT 1`),
        // Walks the partition in offset order and stops at the first record
        // young enough to keep: the cost is the number of expired records
        // (they are at the front) and no index on ts is needed.
        firstKept: db.prepare(`SELECT off FROM ${table} WHERE ts >= ? ORDER BY off LIMIT 1`),
        deleteBefore: db.prepare(`DELETE FROM ${table} WHERE off < ?`),
      };
      this.#partitionStatements.set(id, statements);
    }
    return statements;
  }

  bounds(topicId: number, partition: number): { start: number; end: number } {
    const row = this.#selectStart.get(topicId, partition);
    if (!row) throw new Error(`partition ${partition} of topic #${topicId} does not exist`);
    const start = int(row['start_offset']);
    const last = this.#statements(topicId, partition).last.get();
    return { start, end: last ? int(last['off']) + 1 : start };
  }

  /**
   * Writes records of one topic; must run inside `transaction`. `next` carries
   * each partition's next offset across calls of the same transaction, read
   * from the file on first use so a writer in another process is respected.
   * Returns the offsets in input order.
   */
  insertRecords(topic: TopicRow, records: RecordToWrite[], timestamp: number, next: Map<number, number>): number[] {
    const offsets: number[] = [];
    for (const record of records) {
      const p = record.partition;
      const offset = next.get(p) ?? this.bounds(topic.id, p).end;
      const headers = record.headers && hasKeys(record.headers) ? JSON.stringify(record.headers) : null;
      this.#statements(topic.id, p).insert.run(offset, record.key, record.value, headers, timestamp);
      next.set(p, offset + 1);
      offsets.push(offset);
    }
    return offsets;
  }

  read(topic: TopicRow, partition: number, offset: number, limit: number): LogRecord[] {
    const rows = this.#statements(topic.id, partition).select.all(offset, limit);
    const records = new Array<LogRecord>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const headers = row['headers'];
      records[i] = {
        topic: topic.name,
        partition,
        offset: int(row['off']),
        key: str(row['key']),
        value: toBuffer(row['value']),
        headers: typeof headers === 'string' ? parseHeaders(headers) : {},
        timestamp: int(row['ts']),
      };
    }
    return records;
  }

  /**
   * Deletes, per partition, the prefix of records older than `now - retentionMs`
   * and moves start_offset past them. Prefix only: a record is kept while an
   * older-offset record is still young (clock steps back), as Kafka does with
   * segments. Returns the number of records deleted.
   */
  sweepRetention(now: number): number {
    let deleted = 0;
    const topics = this.allTopics().filter((t) => t.retentionMs !== null);
    if (topics.length === 0) return 0;
    this.transaction('full', () => {
      for (const topic of topics) {
        const cutoff = now - (topic.retentionMs ?? 0);
        for (let p = 0; p < topic.partitions; p++) {
          const { start, end } = this.bounds(topic.id, p);
          const statements = this.#statements(topic.id, p);
          const kept = statements.firstKept.get(cutoff);
          const newStart = kept ? int(kept['off']) : end;
          if (newStart <= start) continue;
          deleted += Number(statements.deleteBefore.run(newStart).changes);
          this.#updateStart.run(newStart, topic.id, p);
        }
      }
    });
    return deleted;
  }

  // ---- consumer groups ----------------------------------------------------

  committedOffset(group: string, topicId: number, partition: number): number | null {
    const row = this.#selectCommitted.get(group, topicId, partition);
    return row ? int(row['off']) : null;
  }

  /** Inside `transaction`. */
  commitOffset(group: string, topicId: number, partition: number, offset: number): void {
    this.#upsertCommitted.run(group, topicId, partition, offset);
  }

  /** A number that changes when another connection committed since the last call. */
  dataVersion(): number {
    return int(this.#dataVersion.get()?.['data_version']);
  }
}

function syncPragma(durability: Durability): string {
  return durability === 'full' ? 'FULL' : 'NORMAL';
}

function toTopicRow(row: Record<string, SQLOutputValue>): TopicRow {
  const retention = row['retention_ms'];
  return {
    id: int(row['id']),
    name: str(row['name']),
    partitions: int(row['partitions']),
    retentionMs: retention === null || retention === undefined ? null : int(retention),
  };
}

function int(value: SQLOutputValue | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new TypeError(`expected an integer column, got ${typeof value}`);
}

function str(value: SQLOutputValue | undefined): string {
  if (typeof value === 'string') return value;
  throw new TypeError(`expected a text column, got ${typeof value}`);
}

function toBuffer(value: SQLOutputValue | undefined): Buffer {
  if (value instanceof Uint8Array) {
    // Wraps the bytes node:sqlite already copied out; no second copy.
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  throw new TypeError(`expected a blob column, got ${typeof value}`);
}

function parseHeaders(json: string): Headers {
  const parsed: unknown = JSON.parse(json);
  const headers: Headers = {};
  if (parsed && typeof parsed === 'object') {
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value === 'string') headers[name] = value;
    }
  }
  return headers;
}

function hasKeys(headers: Headers): boolean {
  for (const _ in headers) return true;
  return false;
}
