// Crypto-shredding for the rest of Parley: writers seal personal values under a
// data key before they enter the log (commands and events alike), readers open
// them after decoding, and an erasure destroys keys (key-store.ts). Which
// fields are personal is the schemas' word (log/personal-fields.ts); a sealed
// value says so itself, so readers need no list.
//
// Opening fails closed: a key the store does not answer for (no row, or no
// answer at all) throws, and the caller retries; only a key the store says was
// destroyed reads as erased. A value written before sealing existed (plain
// text) is passed through: crypto-shredding cannot reach it.

import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Database } from '../store/schema.ts';
import { gatherKeyReads } from './key-reads.ts';
import { fetchKeys, fetchKeysAhead, storeKeys, type KeySecret } from './key-store.ts';
import { createMessageKeyPool } from './message-keys.ts';
import { forEachSealed, mapSealed, newDataKey, open, parseSealed, seal, SealBroken, sealedKeyId } from './sealing.ts';

/** What an erased personal value reads as (it stays a string, as its field's type says). */
export const ERASED = '';

/** Seals values under one data key. */
export interface Sealer {
  seal(plaintext: string): string;
  /** Seals a value that may be absent (an optional field of a command); absent stays absent. */
  sealOptional<T extends string | null | undefined>(value: T): T extends string ? string : T;
}

/** Anything carrying data with sealed values in it: an event, a command, a replay line. */
export interface WithData {
  data: unknown;
}

/** A record whose sealed values are open, and whether any of them was erased. */
export type OpenedRecord<R extends WithData> = R & { erased: boolean };

export interface PersonalDataVault {
  /**
   * A new message's id and a sealer for its own key, already durable in the
   * key store (message-keys.ts: no key-store write on the send path).
   */
  newMessage(): Promise<{ messageId: string; sealer: Sealer }>;
  /**
   * A sealer for the key `keyId` (key-store.ts names them): fetched, or
   * created on first use. A destroyed key throws KeyErased: nothing new is
   * sealed under it.
   */
  sealerFor(keyId: string): Promise<Sealer>;
  /**
   * A keyed hash of `value` under the key `keyId` (HMAC-SHA256, hex): stands
   * for a personal value where the log needs it to identify something (an
   * email's reservation) without holding it. Without the key it reveals nothing.
   */
  blindIndex(keyId: string, value: string): Promise<string>;
  /**
   * Opens every sealed value in the data of `records` (wherever it sits: the
   * writers sealed exactly the fields the schemas mark), fetching the keys
   * they need in one read. An erased value reads as ERASED.
   */
  open<R extends WithData>(records: readonly R[], options?: OpenOptions): Promise<OpenedRecord<R>[]>;
  /** Gives back the message keys it made ahead and never used. */
  stop(): Promise<void>;
}

export interface OpenOptions {
  /**
   * Read every key from the store, not from this process's cache (which may
   * hold a key destroyed elsewhere for up to its TTL): for views that must
   * show an erasure the moment it happened. The cache takes what was read.
   */
  fresh?: boolean;
}

/** A sealed value's key is not in the store, or the store did not answer: retry, never read it as erased. */
export class KeyUnavailable extends Error {
  constructor(keyIds: readonly string[]) {
    super(`data keys not in the key store: ${keyIds.slice(0, 5).join(', ')}${keyIds.length > 5 ? ' …' : ''}`);
    this.name = 'KeyUnavailable';
  }
}

/** The key was destroyed: what it sealed is erased, and nothing new may be sealed under it. */
export class KeyErased extends Error {
  readonly keyId: string;
  constructor(keyId: string) {
    super(`data key ${keyId} was destroyed`);
    this.name = 'KeyErased';
    this.keyId = keyId;
  }
}

export interface VaultOptions {
  db: Kysely<Database>;
  cacheTtlMs: number;
  cacheSize: number;
  /** Message keys made ahead of time (message-keys.ts). */
  messageKeysAhead: number;
  /**
   * How many of the values this process sealed last stay known in the clear
   * (PARLEY_VAULT_RECENT_SEALS; 0: none), so that its own readers — the
   * projector and gateway of the instance a message arrived at — open them
   * without decrypting. The key still decides: a value whose key the store
   * says was destroyed reads as erased, known or not.
   */
  recentSeals?: number;
  /**
   * Message keys read along with one this process lacks, from it on
   * (key-store.ts fetchKeysAhead; PARLEY_KEY_READ_AHEAD; 0: only those asked for).
   */
  keyReadAhead?: number;
  /** A refill of the message keys failed (the store unreachable): sends go on from what is left. */
  onKeyStoreError?: (error: unknown) => void;
  now?: () => number;
}

export function createVault(options: VaultOptions): PersonalDataVault {
  const { db, cacheTtlMs, cacheSize } = options;
  const keyReadAhead = Math.min(options.keyReadAhead ?? 0, cacheSize);
  const now = options.now ?? Date.now;
  const cache = createKeyCache(cacheTtlMs, cacheSize, now);
  const remembered = (fetched: Map<string, KeySecret>) => {
    for (const [id, secret] of fetched) cache.set(id, secret);
    return fetched;
  };
  const keyReads = gatherKeyReads(async (ids) => {
    // Keys a read ahead brought in since they were asked for need no statement.
    const found = new Map<string, KeySecret>();
    const unknown: string[] = [];
    for (const id of ids) {
      const cached = cache.get(id);
      if (cached === undefined) unknown.push(id);
      else found.set(id, cached);
    }
    if (unknown.length === 0) return found;
    for (const [id, secret] of remembered(await fetchKeysAhead(db, unknown, keyReadAhead))) found.set(id, secret);
    return found;
  });
  const recent = createRecentSeals(options.recentSeals ?? 0);
  const messageKeys = createMessageKeyPool({
    db,
    size: options.messageKeysAhead,
    now,
    onRefillError: options.onKeyStoreError ?? (() => undefined),
  });

  async function keysFor(ids: readonly string[], fresh = false): Promise<Map<string, KeySecret>> {
    const keys = new Map<string, KeySecret>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = fresh ? undefined : cache.get(id);
      if (cached === undefined) missing.push(id);
      else keys.set(id, cached);
    }
    if (missing.length === 0) return keys;
    // A fresh read is the caller's own, begun now; the others are gathered.
    const fetched = fresh ? remembered(await fetchKeys(db, missing)) : await keyReads.read(missing);
    for (const id of missing) {
      const secret = fetched.get(id);
      if (secret !== undefined) keys.set(id, secret);
    }
    return keys;
  }

  async function secretFor(keyId: string): Promise<Buffer> {
    const known = (await keysFor([keyId])).get(keyId);
    if (known === null) throw new KeyErased(keyId);
    if (known !== undefined) return known;
    await storeKeys(db, [{ id: keyId, secret: newDataKey() }], now());
    // Read back (fresh: begun after the store): a concurrent writer may have stored its key first, and that one counts.
    const stored = (await keysFor([keyId], true)).get(keyId);
    if (stored === null) throw new KeyErased(keyId);
    if (stored === undefined) throw new KeyUnavailable([keyId]);
    return stored;
  }

  function sealerWith(keyId: string, secret: Buffer): Sealer {
    const sealText = (plaintext: string) => recent.remember(seal(keyId, secret, plaintext), plaintext);
    return {
      seal: sealText,
      sealOptional: <T extends string | null | undefined>(value: T) =>
        (typeof value === 'string' ? sealText(value) : value) as T extends string ? string : T,
    };
  }

  return {
    async newMessage() {
      const { messageId, keyId, secret } = await messageKeys.take();
      // The projector and gateway of this process open the message next.
      cache.set(keyId, secret);
      return { messageId, sealer: sealerWith(keyId, secret) };
    },

    async sealerFor(keyId) {
      return sealerWith(keyId, await secretFor(keyId));
    },

    async blindIndex(keyId, value) {
      return createHmac('sha256', await secretFor(keyId))
        .update(value, 'utf8')
        .digest('hex');
    },

    async open(records, options = {}) {
      const needed = new Set<string>();
      for (const record of records) {
        forEachSealed(record.data, (sealed) => needed.add(keyIdOf(sealed)));
      }
      if (needed.size === 0) return records.map((record) => ({ ...record, erased: false }));

      const keys = await keysFor([...needed], options.fresh);
      const unavailable = [...needed].filter((id) => !keys.has(id));
      if (unavailable.length > 0) throw new KeyUnavailable(unavailable);

      return records.map((record) => {
        // Set by the callback below (`as boolean`: TypeScript does not see that write).
        let erased = false as boolean;
        const data = mapSealed(record.data, (value) => {
          const keyId = keyIdOf(value);
          const secret = keys.get(keyId);
          if (secret === undefined) throw new KeyUnavailable([keyId]);
          if (secret !== null) return recent.plaintextOf(value) ?? open(parseSealed(value)!, secret);
          erased = true;
          return ERASED;
        });
        return { ...record, data, erased };
      });
    },

    stop: () => messageKeys.stop(),
  };
}

/**
 * Opens `records` as `vault.open` does, except that a record holding a value
 * that does not open with its own key (altered or truncated in the log:
 * SealBroken) gets its SealBroken in its place instead of failing them all.
 * That is the record's own fault, which no retry mends: a consumer treats it
 * as it treats an undecodable record, and the others go on. Anything else (a
 * key the store cannot give now) still fails the call, to be tried again.
 */
export async function openEach<R extends WithData>(
  vault: PersonalDataVault,
  records: readonly R[],
  options?: OpenOptions,
): Promise<(OpenedRecord<R> | SealBroken)[]> {
  try {
    return await vault.open(records, options);
  } catch (error) {
    if (!(error instanceof SealBroken)) throw error;
  }
  // Which ones: one at a time (their keys are cached by the call above;
  // `fresh` reads them again, as the caller asked).
  const results: (OpenedRecord<R> | SealBroken)[] = [];
  for (const record of records) {
    try {
      results.push((await vault.open([record], options))[0]!);
    } catch (error) {
      if (!(error instanceof SealBroken)) throw error;
      results.push(error);
    }
  }
  return results;
}

/** The key id a sealed value names; a value too broken to name one fails as a broken seal does. */
function keyIdOf(sealed: string): string {
  const keyId = sealedKeyId(sealed);
  if (keyId === undefined) throw new SealBroken('(no key id)');
  return keyId;
}

/** The last `size` values sealed here, by their sealed form; the least recently used dropped first. */
function createRecentSeals(size: number) {
  const plaintexts = size === 0 ? undefined : new LRUCache<string, string>({ max: size });
  return {
    /** Returns `sealed`. */
    remember(sealed: string, plaintext: string): string {
      plaintexts?.set(sealed, plaintext);
      return sealed;
    },
    plaintextOf: (sealed: string): string | undefined => plaintexts?.get(sealed),
  };
}

/**
 * Keys by id for `ttlMs` after they were stored here, the least recently used
 * dropped first beyond `size`. (lru-cache, not a Map whose oldest entry is
 * deleted: a Map keeps deleted entries as holes until it rehashes, and finding
 * its first live entry walks them — ~15 µs per store at 20,000 keys.)
 */
function createKeyCache(ttlMs: number, size: number, now: () => number) {
  // Wrapped: lru-cache takes no null value, and null is a destroyed key. The
  // clock is read at every look (ttlResolution 0), not remembered for a while.
  const entries = new LRUCache<string, { secret: KeySecret }>({ max: size, ttl: ttlMs, ttlResolution: 0, perf: { now } });
  return {
    get: (id: string): KeySecret | undefined => entries.get(id)?.secret,
    set(id: string, secret: KeySecret): void {
      entries.set(id, { secret });
    },
    delete(id: string): void {
      entries.delete(id);
    },
  };
}
