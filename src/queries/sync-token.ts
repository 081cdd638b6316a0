// A sync token: where a device's view of the feed stands, as the next offset
// of every events-log partition the chat model had applied. Opaque to
// clients (base64url JSON); a forged one can only replay what its bearer may
// see anyway, so it carries no signature.

const VERSION = 1;

export type SyncPosition = readonly number[];

export function encodeSyncToken(position: SyncPosition): string {
  return Buffer.from(JSON.stringify({ v: VERSION, o: position })).toString('base64url');
}

/** The position a token holds; null when it is not a token of this log (another partition count, or garbage). */
export function decodeSyncToken(token: string, partitions: number): SyncPosition | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { v, o } = parsed as { v?: unknown; o?: unknown };
  if (v !== VERSION || !Array.isArray(o) || o.length !== partitions) return null;
  return o.every((offset) => Number.isSafeInteger(offset) && (offset as number) >= 0) ? (o as number[]) : null;
}
