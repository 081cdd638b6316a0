// The projection_offsets table: for each projection (and version, `chat@v3`),
// the next offset of each partition it has applied. The runner reads and moves
// it inside the transaction that writes the projection's rows, so a crash
// never applies an event twice nor skips one; read-your-writes polls it for
// projectors in other processes; a rebuild starts and resumes from it.

import { sql, type Kysely, type Transaction } from 'kysely';
import { topics } from '../log/topics.ts';
import { quotedColumn, readLocked, writeSql } from '../store/dialect.ts';
import type { Database } from '../store/schema.ts';

type OffsetsDb = Kysely<Database> | Transaction<Database>;

/** One partition's row of a projection. */
const rowOf = (projection: string, topic: string, partition: number) => ({ projection, topic, partition });

/** The next offset the projection will apply in the partition; null when it has no row yet. */
export async function storedOffset(
  db: OffsetsDb,
  projection: string,
  partition: number,
  topic: string = topics.events,
): Promise<number | null> {
  const row = await db
    .selectFrom('projection_offsets')
    .select('next_offset')
    .where((eb) => eb.and(rowOf(projection, topic, partition)))
    .executeTakeFirst();
  return row === undefined ? null : row.next_offset;
}

/** Every partition's stored offset of a projection, in one query. */
export async function storedOffsets(
  db: OffsetsDb,
  projection: string,
  topic: string = topics.events,
): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('projection_offsets')
    .select(['partition', 'next_offset'])
    .where('projection', '=', projection)
    .where('topic', '=', topic)
    .execute();
  return new Map(rows.map((row) => [row.partition, row.next_offset]));
}

/** One row per partition from the start, so every batch only ever updates (and locks) it. */
export async function ensureOffsetRows(db: OffsetsDb, projection: string, topic: string, partitions: number): Promise<void> {
  for (let partition = 0; partition < partitions; partition++) {
    // `ignore` is INSERT IGNORE on MySQL and INSERT OR IGNORE on SQLite.
    await db
      .insertInto('projection_offsets')
      .ignore()
      .values({ ...rowOf(projection, topic, partition), next_offset: 0 })
      .execute();
  }
}

/**
 * Reads the partition's offset inside a batch's transaction and locks its row
 * until the transaction ends, so two consumers of one partition (a rebalance
 * straggler, or a rebuild and a server handing over) serialise.
 */
export async function lockOffset(
  trx: Transaction<Database>,
  projection: string,
  topic: string,
  partition: number,
): Promise<number> {
  return Number(await readLocked(trx, 'projection_offsets', 'next_offset', rowOf(projection, topic, partition)));
}

export async function saveOffset(
  trx: Transaction<Database>,
  projection: string,
  topic: string,
  partition: number,
  nextOffset: number,
): Promise<void> {
  // As SQL, not built: it runs for every batch (see readLocked).
  await sql`update ${sql.table('projection_offsets')} set next_offset = ${nextOffset}
    where projection = ${projection} and topic = ${topic} and ${sql.ref('partition')} = ${partition}`.execute(trx);
}

/**
 * Moves the offset from `from` to `to`; false (nothing written) when it no
 * longer stands at `from`. SQL text run by `writeSql`: the projector moves an
 * offset for every batch (bench/README fix 28). The table is no versioned
 * model's, so its name is written out.
 */
export async function moveOffset(
  trx: Transaction<Database>,
  projection: string,
  topic: string,
  partition: number,
  from: number,
  to: number,
): Promise<boolean> {
  const changed = await writeSql(
    trx,
    `update projection_offsets set next_offset = ? where projection = ? and topic = ? and ${quotedColumn(trx, 'partition')} = ? and next_offset = ?`,
    [to, projection, topic, partition, from],
  );
  return changed === 1;
}

/** Forgets every offset of a projection (a version whose tables are dropped). */
export async function deleteOffsets(db: OffsetsDb, projection: string): Promise<void> {
  await db.deleteFrom('projection_offsets').where('projection', '=', projection).execute();
}
