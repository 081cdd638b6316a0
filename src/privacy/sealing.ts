// A personal value as it travels in the log: sealed with AES-256-GCM under a
// data key that lives only in the key store (key-store.ts). Destroying the key
// makes every copy of the value unreadable at once — in Kafka's segments, the
// embedded log, backups and replays — without touching the log.
//
// A sealed value is a string, so it fits the schemas' `string` fields and the
// JSON commands unchanged:
//
//   "\u0000sealed:v1:" <key id> ":" base64(iv 12 bytes ‖ ciphertext ‖ tag 16 bytes)
//
// No user input can start with U+0000 (the inputs refuse it), so a sealed value
// is never mistaken for text and text never for a sealed value. The key id is
// the additional authenticated data: a value moved under another key id fails
// to open instead of opening as someone else's.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { forEachPersonalValue, type FieldPath } from '../log/personal-fields.ts';
import { randomBytes } from '../random-bytes.ts';

const PREFIX = '\u0000sealed:v1:';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const DATA_KEY_BYTES = 32;

export interface SealedValue {
  keyId: string;
  /** iv ‖ ciphertext ‖ tag */
  box: Buffer;
}

export const newDataKey = (): Buffer => randomBytes(DATA_KEY_BYTES);

export const isSealed = (value: unknown): value is string => typeof value === 'string' && value.startsWith(PREFIX);

export function seal(keyId: string, key: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(Buffer.from(keyId, 'utf8'));
  const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${keyId}:${body.toString('base64')}`;
}

/** The key id of a sealed value, without decoding its box; undefined for anything else. */
export function sealedKeyId(value: string): string | undefined {
  if (!value.startsWith(PREFIX)) return undefined;
  const separator = value.lastIndexOf(':');
  return separator < PREFIX.length ? undefined : value.slice(PREFIX.length, separator);
}

/** The key id and box of a sealed value; undefined for anything else. */
export function parseSealed(value: string): SealedValue | undefined {
  const keyId = sealedKeyId(value);
  if (keyId === undefined) return undefined;
  return { keyId, box: Buffer.from(value.slice(value.lastIndexOf(':') + 1), 'base64') };
}

/** Thrown for a sealed value that does not open with its own key: tampered, truncated, or not ours. */
export class SealBroken extends Error {
  constructor(keyId: string, options?: ErrorOptions) {
    super(`a value sealed under ${keyId} does not open with that key (altered or truncated)`, options);
    this.name = 'SealBroken';
  }
}

export function open(sealed: SealedValue, key: Buffer): string {
  const { keyId, box } = sealed;
  if (box.length < IV_BYTES + TAG_BYTES) throw new SealBroken(keyId);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, box.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId, 'utf8'));
    decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
    return Buffer.concat([decipher.update(box.subarray(IV_BYTES, box.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new SealBroken(keyId, { cause: error });
  }
}

/** The personal fields (by `paths`) of `data` that hold text not sealed: what must never reach the log. */
export function unsealedFields(data: unknown, paths: readonly FieldPath[]): string[] {
  const found: string[] = [];
  for (const path of paths) {
    forEachPersonalValue(data, [path], (value) => {
      if (!isSealed(value)) found.push(path.join('.'));
    });
  }
  return found;
}

/** Calls `visit` with every sealed string anywhere in `value` (objects and arrays, walked). */
export function forEachSealed(value: unknown, visit: (sealed: string) => void): void {
  if (isSealed(value)) visit(value);
  else if (Array.isArray(value)) for (const item of value) forEachSealed(item, visit);
  else if (isPlainObject(value)) for (const item of Object.values(value)) forEachSealed(item, visit);
}

/** A copy of `value` with every sealed string replaced by `replace(sealed)`; what holds none is shared. */
export function mapSealed<T>(value: T, replace: (sealed: string) => string): T {
  return walk(value, replace) as T;
}

function walk(value: unknown, replace: (sealed: string) => string): unknown {
  if (isSealed(value)) return replace(value);
  if (Array.isArray(value)) {
    const items = value.map((item: unknown) => walk(item, replace));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  if (isPlainObject(value)) {
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const after = walk(item, replace);
      if (after !== item) (copy ??= { ...value })[key] = after;
    }
    return copy ?? value;
  }
  return value;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Buffer.isBuffer(value);
