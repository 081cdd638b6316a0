// Message keys made ahead of time, so that sending a message costs no write to
// the key store: each process keeps a pool of fresh message ids whose keys are
// already stored (one multi-row INSERT per refill), and a send takes one. The
// key is durable before anything is sealed under it, as sealing requires; and
// while the key store is unreachable (a MariaDB outage in distributed mode)
// messages keep flowing until the pool runs dry.
//
// The ids are minted when the pool fills, a little before the send; they are
// UUID v7 all the same, so rows still sort roughly by creation.

import type { Kysely } from 'kysely';
import { newId } from '../ids.ts';
import type { Database } from '../store/schema.ts';
import { forgetUnusedKeys, messageKeyId, storeKeys } from './key-store.ts';
import { newDataKey } from './sealing.ts';

export interface MessageKey {
  messageId: string;
  keyId: string;
  secret: Buffer;
}

export interface MessageKeyPool {
  /** A fresh message id and its key, already in the key store. */
  take(): Promise<MessageKey>;
  /** Removes the keys never handed out (they sealed nothing). */
  stop(): Promise<void>;
}

export function createMessageKeyPool(options: {
  db: Kysely<Database>;
  /** Keys kept ready; a refill starts when a quarter is left. */
  size: number;
  now?: () => number;
  onRefillError: (error: unknown) => void;
}): MessageKeyPool {
  const { db, size, onRefillError } = options;
  const now = options.now ?? Date.now;
  const ready: MessageKey[] = [];
  let refilling: Promise<void> | undefined;
  let stopped = false;

  function refill(): Promise<void> {
    refilling ??= (async () => {
      const keys = Array.from({ length: size - ready.length }, (): MessageKey => {
        const messageId = newId();
        return { messageId, keyId: messageKeyId(messageId), secret: newDataKey() };
      });
      for (let i = 0; i < keys.length; i += 500) {
        const chunk = keys.slice(i, i + 500);
        await storeKeys(
          db,
          chunk.map(({ keyId, secret }) => ({ id: keyId, secret })),
          now(),
        );
        ready.push(...chunk); // usable only once stored
      }
    })().finally(() => (refilling = undefined));
    return refilling;
  }

  return {
    async take() {
      if (stopped) throw new Error('message key pool stopped');
      if (ready.length <= size / 4) refill().catch(onRefillError);
      // Empty: wait for the refill (it fails while the store is unreachable).
      while (ready.length === 0) await refill();
      return ready.shift()!;
    },
    async stop() {
      stopped = true;
      await refilling?.catch(() => undefined);
      const unused = ready.splice(0).map((key) => key.keyId);
      await forgetUnusedKeys(db, unused);
    },
  };
}
