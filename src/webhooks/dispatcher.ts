// The webhook dispatcher (role `webhooks`): delivers the events of the log to
// each webhook's receiver, signed, at least once, in log order per partition
// — so a room's events never overtake each other.
//
// Which partitions this process delivers is decided by a consumer group on
// the events topic (instances share them, like projectors); the group's own
// offsets mean nothing here. Each webhook keeps its own position per
// partition (positions.ts), so each (webhook, partition) pair is a cursor of
// its own: a receiver that fails holds back only its own deliveries; a paused
// webhook keeps its place and goes on from it when resumed; a replay moves
// the place back to the first event at or after a time. The group's batches
// only wake the cursors of their partition.
//
// A delivery that fails (no answer in time, or not 2xx) is tried again after
// a doubling wait; a webhook whose receiver has failed without one success
// for PARLEY_WEBHOOK_PAUSE_AFTER_MS is paused through the log (its creator
// hears WEBHOOK_PAUSED), and a resume starts again with the event that failed.

import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import https from 'node:https';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { decodeEventRecord, type EventCodec } from '../log/codec.ts';
import { mapPersonalFields } from '../log/personal-fields.ts';
import type { ConsumeOptions, Consumer, Log, LogRecord, Position } from '../log/port.ts';
import { headers, topics } from '../log/topics.ts';
import { postOutbound, type PostResult } from '../infra/outbound-http.ts';
import { SIGNATURE_HEADER, signature } from '../infra/request-signature.ts';
import { SealBroken } from '../privacy/sealing.ts';
import { openEach, type PersonalDataVault } from '../privacy/vault.ts';
import type { Database } from '../store/schema.ts';
import { createDeliveryLog } from './delivery-log.ts';
import { firstOffsetAtOrAfter } from '../log/offset-at-time.ts';
import { readPosition, savePosition } from './positions.ts';
import { checkWebhookUrl } from './url-policy.ts';
import { webhookView, type WebhookView } from './webhooks.ts';

export const WEBHOOKS_GROUP = 'parley.webhooks';

/** Records read from the log per page of a cursor. */
const READ_PAGE = 100;
/** A cursor at the end reads again after this even if no batch woke it (a safety net: batches do wake it). */
const IDLE_POLL_MS = 5_000;
/** What of a receiver's answer is kept in the delivery log. */
const MAX_ERROR_CHARS = 500;

export interface WebhookSettings {
  allowPrivate: readonly string[];
  urlMax: number;
  timeoutMs: number;
  retryBackoffMs: number;
  retryMaxMs: number;
  pauseAfterMs: number;
  deliveryLogMax: number;
  refreshMs: number;
  /**
   * How late the dispatcher may learn of appended events (ConsumeOptions.maxDelayMs):
   * its consumer only wakes the cursors, so a delay costs delivery latency,
   * never a delivery after a delete or pause (`stillActive`).
   */
  readDelayMs?: number;
}

export interface DispatcherOptions {
  log: Log;
  codec: EventCodec;
  vault: PersonalDataVault;
  db: Kysely<Database>;
  logger: Logger;
  settings: WebhookSettings;
  /** Resolves once the chat model shows the event at `position` (or a bounded wait is over). */
  applied: (position: Position) => Promise<unknown>;
  /** Pauses a webhook whose receiver keeps failing (through the log); `commandId` makes a repeat harmless. */
  pauseFailing: (pause: { webhookId: string; error: string; commandId: string }) => Promise<void>;
  post?: typeof postOutbound;
  now?: () => number;
}

/** The body a receiver gets (API.md "Webhooks"). */
export interface WebhookDelivery {
  delivery_id: string;
  webhook_id: string;
  type: string;
  occurred_at: number;
  room_id: string | null;
  data: unknown;
}

interface Cursor {
  webhook: WebhookView;
  generation: number;
  abort: AbortController;
  done: Promise<void>;
}

interface Subscription extends WebhookView {
  replay_generation: number;
}

export interface Dispatcher {
  stop(): Promise<void>;
}

export function runWebhookDispatcher(options: DispatcherOptions): Dispatcher {
  const { log, codec, vault, db, logger, settings } = options;
  const post = options.post ?? postOutbound;
  const now = options.now ?? Date.now;
  const deliveryLog = createDeliveryLog(db, settings.deliveryLogMax);
  // Keep-alive: a receiver that takes every event of a busy room should not pay a handshake for each.
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  const owned = new Set<number>();
  let webhooks = new Map<string, Subscription>();
  const cursors = new Map<string, Cursor>();
  /** Per partition: the end the group's batches have shown, and who waits for it to move. */
  const ends = new Map<number, number>();
  const waiting = new Map<number, Set<() => void>>();
  /** Per webhook: when its receiver started failing (any partition); a success anywhere clears it. */
  const failingSince = new Map<string, number>();
  let stopped = false;

  function wake(partition: number, end: number): void {
    ends.set(partition, Math.max(end, ends.get(partition) ?? 0));
    const waiters = waiting.get(partition);
    waiting.delete(partition);
    for (const resolve of waiters ?? []) resolve();
  }

  /** Until the partition has records past `offset`, the cursor stops, or IDLE_POLL_MS pass. */
  function appendedPast(partition: number, offset: number, signal: AbortSignal): Promise<void> {
    if ((ends.get(partition) ?? 0) > offset) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiting.get(partition)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, IDLE_POLL_MS);
      signal.addEventListener('abort', done, { once: true });
      let waiters = waiting.get(partition);
      if (waiters === undefined) waiting.set(partition, (waiters = new Set()));
      waiters.add(done);
    });
  }

  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });

  // ----------------------------------------------------------- the cursors

  async function startOffset(webhook: Subscription, partition: number): Promise<number> {
    const stored = await readPosition(db, webhook.webhook_id, partition);
    if (stored !== undefined && stored.replay_generation === webhook.replay_generation) return stored.next_offset;
    // New, or replayed since: from the replay's time, or from the webhook's creation.
    const from = webhook.replay_generation > 0 && webhook.replay_from !== null ? webhook.replay_from : webhook.created_at;
    const offset = await firstOffsetAtOrAfter(log, topics.events, partition, from);
    await savePosition(db, webhook.webhook_id, partition, {
      next_offset: offset,
      replay_generation: webhook.replay_generation,
    });
    return offset;
  }

  function wanted(webhook: WebhookView, record: LogRecord): boolean {
    const type = record.headers[headers.eventType];
    if (type === undefined || !webhook.events.includes(type)) return false;
    return webhook.room_id === null || record.key === `room:${webhook.room_id}`;
  }

  async function runCursor(webhook: Subscription, partition: number, signal: AbortSignal): Promise<void> {
    const secret = await db
      .selectFrom('webhook_secrets')
      .select('secret')
      .where('webhook_id', '=', webhook.webhook_id)
      .executeTakeFirst();
    if (secret === undefined) {
      logger.error({ webhook: webhook.webhook_id }, 'webhook without a secret: not delivered');
      return;
    }
    let offset = await startOffset(webhook, partition);
    let saved = offset;
    const save = async (next: number) => {
      await savePosition(db, webhook.webhook_id, partition, { next_offset: next, replay_generation: webhook.replay_generation });
      saved = next;
    };
    while (!signal.aborted) {
      const records = await log.read(topics.events, partition, offset, READ_PAGE);
      if (records.length === 0) {
        await appendedPast(partition, offset, signal);
        continue;
      }
      for (const record of records) {
        if (wanted(webhook, record)) {
          const delivered = await deliver(webhook, secret.secret, record, signal);
          if (!delivered) return; // paused, or stopped: the position stays on this event
          offset = record.offset + 1;
          await save(offset);
        } else offset = record.offset + 1;
      }
      // Past records nobody wanted since the last delivery (saved already when the page ended on one).
      if (offset !== saved) await save(offset);
    }
  }

  /** The body for one event, personal values opened (null where erased); null for a record nobody can read. */
  async function deliveryOf(webhook: WebhookView, record: LogRecord): Promise<WebhookDelivery | null> {
    let decoded;
    try {
      decoded = decodeEventRecord(codec, record);
    } catch (error) {
      logger.error({ err: error, partition: record.partition, offset: record.offset }, 'undecodable event: not delivered');
      return null;
    }
    if (decoded === null) return null;
    const [opened] = await openEach(vault, [decoded]);
    if (opened instanceof SealBroken) {
      logger.error(
        { err: opened, partition: record.partition, offset: record.offset },
        'a sealed value does not open: not delivered',
      );
      return null;
    }
    const data = opened!.erased
      ? mapPersonalFields(opened!.data, codec.personalFields(decoded.type), (value) => (value === '' ? null : value))
      : opened!.data;
    return {
      delivery_id: `${record.partition}-${record.offset}`,
      webhook_id: webhook.webhook_id,
      type: decoded.type,
      occurred_at: record.timestamp,
      room_id: record.key.startsWith('room:') ? record.key.slice('room:'.length) : null,
      data,
    };
  }

  /**
   * Whether the webhook still takes deliveries, read now: its DELETE removes
   * the secret, and its pause is projected, before either request answers,
   * while this cursor only stops at the next refresh. Asked before every
   * attempt, so nothing goes out after the admin was told it was deleted or
   * paused. One primary-key read per attempt.
   */
  async function stillActive(webhookId: string): Promise<boolean> {
    const row = await db
      .selectFrom('webhooks')
      .innerJoin('webhook_secrets', 'webhook_secrets.webhook_id', 'webhooks.id')
      .select('webhooks.status')
      .where('webhooks.id', '=', webhookId)
      .executeTakeFirst();
    return row?.status === 'active';
  }

  /** Delivers one event, trying until it is accepted; false when the webhook was paused or deleted, or the cursor stopped first. */
  async function deliver(webhook: WebhookView, secret: string, record: LogRecord, signal: AbortSignal): Promise<boolean> {
    const delivery = await deliveryOf(webhook, record);
    if (delivery === null) return true;
    const body = JSON.stringify(delivery);
    for (let attempt = 1; !signal.aborted; attempt++) {
      // Stopped here, the position stays on this event: a resumed webhook delivers it then.
      if (!(await stillActive(webhook.webhook_id))) return false;
      const started = now();
      const result = await send(webhook, secret, delivery, body);
      const ok = result.answered && result.status >= 200 && result.status < 300;
      const error = ok ? null : describe(result);
      await deliveryLog.record({
        webhook_id: webhook.webhook_id,
        delivery_id: delivery.delivery_id,
        event_type: delivery.type,
        attempt,
        status: result.answered ? result.status : null,
        error,
        ok,
        duration_ms: Math.max(0, now() - started),
        at: started,
      });
      if (ok) {
        failingSince.delete(webhook.webhook_id);
        return true;
      }
      const since = failingSince.get(webhook.webhook_id) ?? started;
      failingSince.set(webhook.webhook_id, since);
      if (now() - since >= settings.pauseAfterMs) {
        logger.warn({ webhook: webhook.webhook_id, error }, 'webhook receiver keeps failing: webhook paused');
        await options.pauseFailing({
          webhookId: webhook.webhook_id,
          error: error ?? 'failed',
          commandId: `webhook-failing:${webhook.webhook_id}:${since}`,
        });
        failingSince.delete(webhook.webhook_id);
        return false;
      }
      await sleep(Math.min(settings.retryBackoffMs * 2 ** (attempt - 1), settings.retryMaxMs), signal);
    }
    return false;
  }

  async function send(webhook: WebhookView, secret: string, delivery: WebhookDelivery, body: string): Promise<PostResult> {
    // Checked again at each delivery: the allow-list may have changed since the webhook was made.
    const verdict = checkWebhookUrl(webhook.url, settings.allowPrivate, settings.urlMax);
    if (!verdict.ok) return { answered: false, error: `URL not allowed: ${verdict.reason}` };
    const url = new URL(webhook.url);
    return post(
      url,
      {
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Parley-Webhooks/1',
          [SIGNATURE_HEADER]: signature(secret, body, now()),
          'X-Parley-Webhook-Id': webhook.webhook_id,
          'X-Parley-Delivery-Id': delivery.delivery_id,
          'X-Parley-Event': delivery.type,
        },
        body: Buffer.from(body, 'utf8'),
      },
      {
        timeoutMs: settings.timeoutMs,
        allowPrivate: verdict.allowListed,
        maxBodyBytes: MAX_ERROR_CHARS,
        agent: url.protocol === 'https:' ? agents.https : agents.http,
      },
    );
  }

  // ------------------------------------------- which cursors should run

  async function refresh(): Promise<void> {
    const rows = await db.selectFrom('webhooks').selectAll().execute();
    const before = webhooks;
    webhooks = new Map(rows.map((row) => [row.id, { ...webhookView(row), replay_generation: row.replay_generation }]));
    await reconcile();
    // Deleted: the admin's request removed their bookkeeping, but a cursor of
    // ours may have saved a position since; its cursors are stopped now.
    const deleted = [...before.keys()].filter((id) => !webhooks.has(id));
    if (deleted.length > 0) {
      await db.deleteFrom('webhook_positions').where('webhook_id', 'in', deleted).execute();
      await db.deleteFrom('webhook_deliveries').where('webhook_id', 'in', deleted).execute();
    }
  }

  /** Starts the cursors that should run and stops the others (a replayed webhook's restart from its new place). */
  async function reconcile(): Promise<void> {
    if (stopped) return;
    const stopping: Promise<void>[] = [];
    for (const [key, cursor] of cursors) {
      const [webhookId, partition] = splitKey(key);
      const webhook = webhooks.get(webhookId);
      const keep =
        webhook?.status === 'active' &&
        owned.has(partition) &&
        webhook.replay_generation === cursor.generation &&
        webhook.url === cursor.webhook.url;
      if (!keep) stopping.push(stopCursor(key, cursor));
    }
    await Promise.all(stopping);
    for (const webhook of webhooks.values()) {
      if (webhook.status !== 'active') continue;
      for (const partition of owned) {
        const key = cursorKey(webhook.webhook_id, partition);
        if (!cursors.has(key)) startCursor(key, webhook, partition);
      }
    }
  }

  function startCursor(key: string, webhook: Subscription, partition: number): void {
    const abort = new AbortController();
    const done = runCursor(webhook, partition, abort.signal).catch((error: unknown) => {
      logger.warn({ err: error, webhook: webhook.webhook_id, partition }, 'webhook cursor failed; it starts again');
      // Started again by the next refresh, from the stored position.
    });
    const cursor: Cursor = { webhook, generation: webhook.replay_generation, abort, done };
    cursors.set(key, cursor);
    void done.finally(() => {
      if (cursors.get(key) === cursor) cursors.delete(key);
    });
  }

  async function stopCursor(key: string, cursor: Cursor): Promise<void> {
    cursor.abort.abort();
    await cursor.done;
    if (cursors.get(key) === cursor) cursors.delete(key);
  }

  // One refresh at a time; one asked for while another runs runs again after
  // it (the running one may have read the table before the change that asked).
  let refreshing: Promise<void> | undefined;
  /** Refreshes asked for: one asked after a round began calls for another round. */
  let asked = 0;
  const refreshNow = (): Promise<void> => {
    asked++;
    refreshing ??= (async () => {
      let done = 0;
      while (done !== asked && !stopped) {
        done = asked;
        await refresh().catch((error: unknown) => logger.warn({ err: error }, 'reading the webhooks failed; retrying'));
      }
    })().finally(() => (refreshing = undefined));
    return refreshing;
  };
  const timer = setInterval(() => void refreshNow(), settings.refreshMs);
  timer.unref();

  const consumeOptions = (): ConsumeOptions => ({
    topic: topics.events,
    group: WEBHOOKS_GROUP,
    from: 'latest',
    maxDelayMs: settings.readDelayMs ?? 0,
    onAssigned: async (partitions) => {
      for (const partition of partitions) owned.add(partition);
      await refreshNow();
    },
    onRevoked: async (partitions) => {
      for (const partition of partitions) owned.delete(partition);
      // Awaited: the next owner must not deliver beside this one.
      await Promise.all(
        [...cursors].filter(([key]) => partitions.includes(splitKey(key)[1])).map(([key, cursor]) => stopCursor(key, cursor)),
      );
    },
    eachBatch: ({ partition, records }) => {
      const last = records[records.length - 1];
      if (last === undefined) return;
      wake(partition, last.offset + 1);
      // A webhook's own event: read the webhooks again once the chat model shows it.
      const changed = records.findLast((record) => record.headers[headers.eventType]?.startsWith('webhook_') === true);
      if (changed !== undefined) {
        void options
          .applied({ topic: changed.topic, partition: changed.partition, offset: changed.offset })
          .then(refreshNow, () => undefined);
      }
    },
  });

  // Joined in the background: the server does not wait for this group (a
  // second instance's join waits for every member's next heartbeat, a few
  // seconds per group), and deliveries begin once its partitions are assigned.
  // Nothing is lost meanwhile: each webhook reads from its own stored place.
  let consumer: Consumer | undefined;
  async function join(): Promise<void> {
    while (!stopped) {
      try {
        consumer = await log.consume(consumeOptions());
        return;
      } catch (error) {
        logger.error({ err: error }, 'the webhook dispatcher could not join the events log; retrying');
        await delay(IDLE_POLL_MS);
      }
    }
  }
  const joining = join();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await joining;
      await consumer?.stop();
      await refreshing;
      await Promise.all([...cursors].map(([key, cursor]) => stopCursor(key, cursor)));
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

const cursorKey = (webhookId: string, partition: number) => `${webhookId}/${partition}`;
function splitKey(key: string): [string, number] {
  const slash = key.lastIndexOf('/');
  return [key.slice(0, slash), Number(key.slice(slash + 1))];
}

function describe(result: PostResult): string {
  const text = result.answered ? `HTTP ${result.status}${result.body === '' ? '' : `: ${result.body}`}` : result.error;
  return text.slice(0, MAX_ERROR_CHARS);
}
