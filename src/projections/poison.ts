// Which failures of a projector are the record's fault (poison) and which the
// world's (transient). The rule, also in docs/ARCHITECTURE.md:
//
// * A record that does not decode is poison — unless the codec is only
//   waiting for its schema from the registry (RegistrySchemaPendingError) —
//   and so is one holding a personal value that does not open with its own
//   key (SealBroken: altered or truncated in the log).
// * An apply error is a poison *candidate* only when the database answered
//   and refused the data: SQLSTATE class 22 (data exception: too long, out of
//   range, wrong value) or 23 (integrity constraint) on MySQL/MariaDB, and
//   SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_TOOBIG or SQLITE_RANGE on SQLite.
//   It becomes poison when it repeats on every one of PARLEY_POISON_MAX_ATTEMPTS
//   tries of that record alone.
// * Everything else — the database down or restarting, a lost connection, a
//   deadlock or lock wait, a key the key store cannot give — is transient: the
//   batch is retried forever and never parked, so an outage loses nothing.

import { isPendingDecodeError } from '../log/codec.ts';
import { SealBroken } from '../privacy/sealing.ts';

export interface Refusal {
  /** Stable code for the dead letter: the driver's (ER_DATA_TOO_LONG, SQLITE_CONSTRAINT_NOTNULL …). */
  code: string;
  message: string;
}

/** SQLite primary result codes that mean "this row is refused". */
const SQLITE_REFUSALS = new Map([
  [18, 'SQLITE_TOOBIG'],
  [19, 'SQLITE_CONSTRAINT'],
  [20, 'SQLITE_MISMATCH'],
  [25, 'SQLITE_RANGE'],
]);

/** The database's refusal of the data in `error` (or in its causes), or null when the failure is not one. */
export function dataRefusal(error: unknown): Refusal | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const fields = e as Error & { sqlState?: unknown; code?: unknown; errcode?: unknown };
    // mysql2: code 'ER_…', sqlState '22001' …
    if (typeof fields.sqlState === 'string' && /^2[23]/.test(fields.sqlState)) {
      return { code: typeof fields.code === 'string' ? fields.code : `SQLSTATE_${fields.sqlState}`, message: e.message };
    }
    // node:sqlite: code 'ERR_SQLITE_ERROR', errcode the extended result code.
    if (typeof fields.errcode === 'number') {
      const name = SQLITE_REFUSALS.get(fields.errcode & 0xff);
      if (name !== undefined) return { code: name, message: e.message };
    }
  }
  return null;
}

/** A decode failure that goes away by itself (the schema is on its way). */
export const isTransientDecodeError = isPendingDecodeError;

/** The code a record that cannot be read is parked under: UNDECODABLE, or SEAL_BROKEN for a value that does not open. */
export function decodeFailure(error: unknown): Refusal {
  const message = error instanceof Error ? error.message : String(error);
  return { code: error instanceof SealBroken ? 'SEAL_BROKEN' : 'UNDECODABLE', message };
}
