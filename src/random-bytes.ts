// Random bytes for ids, data keys and IVs, drawn from a pool.
//
// Each call of Node's randomBytes/randomFillSync enters OpenSSL's DRBG: a
// crypto job object, a lock, and a getpid() system call (OpenSSL's fork
// check) — ~4 µs however few bytes it asks for. A message takes several (its
// id, its event's id, its data key, an IV per sealed value), ~3 % of the
// embedded server's CPU at 1k msg/s (bench/README, fix 21). One fill of the
// pool serves many of them; the bytes are the same CSPRNG's output, each
// handed out once.

import { randomFillSync } from 'node:crypto';

/** Bytes per refill: 128 ids or IVs, 85 data keys (each wiped from the pool as it is handed out). */
const POOL_BYTES = 4096;

const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
/** Next unused byte; at the end, the pool is refilled before use. */
let next = POOL_BYTES;

/**
 * `size` cryptographically strong random bytes, a buffer of its own. The pool's
 * copy is zeroed at once, so a key's bytes stay only where the caller keeps them.
 */
export function randomBytes(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`randomBytes: size must be a whole number ≥ 0, got ${size}`);
  if (size > POOL_BYTES) return randomFillSync(Buffer.allocUnsafeSlow(size));
  if (next + size > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  // A copy that owns its memory: a slice of Node's shared 8 KiB slab would keep the slab alive.
  const bytes = Buffer.allocUnsafeSlow(size);
  pool.copy(bytes, 0, next, next + size);
  pool.fill(0, next, next + size);
  next += size;
  return bytes;
}
