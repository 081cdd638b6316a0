// Projection lag: for each partition, the records of the log a projection has
// not applied yet — the log's end offset minus the offset stored with the
// projection's rows. Read from the offsets table, so any instance answers for
// the whole deployment, wherever the projectors run.

import type { Kysely } from 'kysely';
import type { Log } from '../log/port.ts';
import type { Database } from '../store/schema.ts';
import { storedOffsets } from './offsets.ts';

export interface FollowedProjection {
  /** The name the lag is reported under (the model's, `chat`, whichever version is active). */
  label: string;
  /** The name its offsets are stored under (`chat@v2` while version 2 is active). */
  offsetsName: string;
  topic: string;
}

export interface ProjectionLagRow {
  projection: string;
  partition: number;
  lag: number;
}

export async function projectionLag(
  log: Log,
  db: Kysely<Database>,
  projections: readonly FollowedProjection[],
): Promise<ProjectionLagRow[]> {
  const rows: ProjectionLagRow[] = [];
  for (const { label, offsetsName, topic } of projections) {
    const [ends, stored] = await Promise.all([log.endOffsets(topic), storedOffsets(db, offsetsName, topic)]);
    ends.forEach((end, partition) => {
      rows.push({ projection: label, partition, lag: Math.max(0, end - (stored.get(partition) ?? 0)) });
    });
  }
  return rows;
}
