// The pusher (role `pusher`): a consumer group on the events topic, like the
// projector, so instances share its partitions and a restarted one resumes
// from the group's position. For each new message it pushes, through Web
// Push, to the devices of every member the room should notify (notify-rules.ts)
// who has no socket open anywhere (presence) — the online ones see the message
// on their socket. A subscription its push service says is gone (404/410) is
// removed through the log; 429, 5xx and network errors are retried with a
// doubling wait; events older than the push TTL are not pushed at all (a
// pusher catching up after an outage does not ring phones with day-old news).

import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import webpush from 'web-push';
import type { AnyEvent } from '../domain/aggregates.ts';
import type { MessageSent } from '../domain/room.ts';
import { decodeOrSkip, undecodableFields, type EventCodec } from '../log/codec.ts';
import type { Consumer, Log, LogRecord, Position } from '../log/port.ts';
import { headers, topics } from '../log/topics.ts';
import { SealBroken } from '../privacy/sealing.ts';
import { openEach, type PersonalDataVault } from '../privacy/vault.ts';
import type { Database } from '../store/schema.ts';
import { checkPushEndpoint } from './endpoint-policy.ts';
import { encodePayload, previewOf, pushReason } from './notify-rules.ts';
import { readPushAudiences, type PushAudience, type Subscription } from './push-audience.ts';
import { sendPush, type PushOutcome, type PushRequest } from './push-transport.ts';
import type { VapidKeys } from './vapid-keys.ts';

export const PUSHER_GROUP = 'parley.pusher';

/** The longest Retry-After honoured; a service asking for more is tried again sooner (the attempts are bounded). */
const MAX_RETRY_AFTER_MS = 60_000;

export interface PushSettings {
  /** PARLEY_PUSH_ENDPOINT_ALLOW. */
  allow: readonly string[];
  ttlS: number;
  timeoutMs: number;
  maxAttempts: number;
  retryBackoffMs: number;
  concurrency: number;
  previewChars: number;
  /** How late the pusher may read the events (ConsumeOptions.maxDelayMs; PARLEY_PUSH_READ_DELAY_MS). */
  readDelayMs: number;
}

export interface PusherOptions {
  log: Log;
  codec: EventCodec;
  vault: PersonalDataVault;
  db: Kysely<Database>;
  logger: Logger;
  vapid: VapidKeys & { subject: string };
  settings: PushSettings;
  /** Which of these users have a socket open (presence). */
  online: (userIds: string[]) => Promise<Set<string>>;
  /** Resolves once the read model shows the event at `position` (or a bounded wait is over). */
  applied: (position: Position) => Promise<unknown>;
  /** Removes a subscription its push service no longer knows (through the log). */
  dropSubscription: (drop: { userId: string; subscriptionId: string; commandId: string }) => Promise<void>;
  send?: (request: PushRequest, options: { timeoutMs: number; allowPrivate: boolean }) => Promise<PushOutcome>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** One push to one device. */
interface PushJob {
  userId: string;
  subscription: Subscription;
  payload: Buffer;
  /** Pushes with the same topic replace each other while undelivered (a redelivered event's push included). */
  topic: string;
  urgency: 'high' | 'normal';
  /** Names the drop command, so a redelivered event sends the same one. */
  eventKey: string;
}

export async function runPusher(options: PusherOptions): Promise<Consumer> {
  const { codec, vault, logger, settings } = options;
  const send = options.send ?? sendPush;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;

  return options.log.consume({
    topic: topics.events,
    group: PUSHER_GROUP,
    // A new pusher group starts at the end: history is never pushed.
    from: 'latest',
    // Late is fine: who is pushed is judged as of the message (notify-rules.ts).
    maxDelayMs: settings.readDelayMs,
    eachBatch: async ({ records }) => {
      const fresh = records.filter(
        (record) => record.headers[headers.eventType] === 'message_sent' && now() - record.timestamp <= settings.ttlS * 1000,
      );
      if (fresh.length === 0) return;
      const decoded: { record: LogRecord; event: MessageSent }[] = [];
      for (const record of fresh) {
        const event = decodeOrSkip(codec, record, (error) =>
          logger.error(undecodableFields(error, record), 'undecodable event: not pushed'),
        ) as AnyEvent | null;
        if (event?.type === 'message_sent') decoded.push({ record, event });
      }
      if (decoded.length === 0) return;
      // Who could be pushed to is read before anything is unsealed: most
      // messages reach no subscribed device, and then their content is never
      // opened (one AES-GCM open per message saved, bench/README fix 15). One
      // read for the batch, once the read model shows its last message (the
      // batch is one partition's, in order), so its membership as of them.
      const positionOf = (record: LogRecord): Position => ({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
      });
      await options.applied(positionOf(decoded.at(-1)!.record));
      const audiences = await readPushAudiences(
        options.db,
        decoded.map(({ event }) => ({ roomId: event.data.room_id, senderId: event.data.sender_id })),
      );
      const reachable: { event: MessageSent; audience: PushAudience; position: Position }[] = [];
      decoded.forEach(({ record, event }, i) => {
        const audience = audiences[i];
        if (audience !== undefined) reachable.push({ event, audience, position: positionOf(record) });
      });
      if (reachable.length === 0) return;
      // A key the store cannot give now throws: the batch comes again. A value
      // that does not open with its own key is the message's fault: not pushed.
      const opened = await openEach(
        vault,
        reachable.map(({ event }) => event),
      );
      const jobs: PushJob[] = [];
      for (const [index, { audience, position }] of reachable.entries()) {
        const event = opened[index]!;
        if (event instanceof SealBroken) {
          logger.error({ err: event, ...position }, 'a sealed value does not open: message not pushed');
          continue;
        }
        if (event.erased) continue;
        jobs.push(...(await jobsFor(event, audience, position)));
      }
      await forEachLimited(jobs, settings.concurrency, deliver);
    },
  });

  async function jobsFor(event: MessageSent, audience: PushAudience, position: Position): Promise<PushJob[]> {
    const message = event.data;
    const wanted = audience.members.flatMap((member) => {
      const reason = pushReason(member, message);
      return reason === null ? [] : [{ member, reason }];
    });
    if (wanted.length === 0) return [];
    const online = await options.online(wanted.map(({ member }) => member.user_id));
    const preview = previewOf(message.content, message.attachments.length, settings.previewChars);
    return wanted
      .filter(({ member }) => !online.has(member.user_id))
      .flatMap(({ member, reason }) => {
        const payload = encodePayload({
          type: 'NEW_MESSAGE',
          chat_room_id: message.room_id,
          room: audience.room,
          message_id: message.message_id,
          seq: message.seq,
          sender: audience.sender,
          preview,
          mention: reason === 'mention',
          created_at: message.created_at,
        });
        const urgency = reason === 'mention' || audience.room.type === 'direct' ? 'high' : 'normal';
        return member.subscriptions.map((subscription) => ({
          userId: member.user_id,
          subscription,
          payload,
          topic: message.message_id.replaceAll('-', ''),
          urgency,
          eventKey: `${position.partition}:${position.offset}`,
        }));
      });
  }

  /** One device's push, tried up to maxAttempts times. Never throws: a push is not worth stopping the partition for. */
  async function deliver(job: PushJob): Promise<void> {
    const { subscription } = job;
    const policy = checkPushEndpoint(subscription.endpoint, settings.allow);
    if (!policy.ok) {
      logger.warn(
        { subscription: subscription.subscription_id, reason: policy.reason },
        'push endpoint no longer allowed: not pushed',
      );
      return;
    }
    let request: PushRequest;
    try {
      const details = webpush.generateRequestDetails(
        { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
        job.payload,
        {
          vapidDetails: options.vapid,
          TTL: settings.ttlS,
          contentEncoding: 'aes128gcm',
          urgency: job.urgency,
          topic: job.topic,
        },
      );
      request = { endpoint: details.endpoint, headers: details.headers, body: details.body };
    } catch (error) {
      logger.warn({ err: error, subscription: subscription.subscription_id }, 'push not encrypted (bad subscription keys)');
      return;
    }
    for (let attempt = 1; ; attempt++) {
      const outcome = await send(request, { timeoutMs: settings.timeoutMs, allowPrivate: policy.allowListed });
      switch (outcome.kind) {
        case 'delivered':
          return;
        case 'gone':
          await options
            .dropSubscription({
              userId: job.userId,
              subscriptionId: subscription.subscription_id,
              commandId: `push-gone:${job.eventKey}:${subscription.subscription_id}`,
            })
            .catch((error: unknown) => logger.warn({ err: error }, 'expired push subscription not removed'));
          return;
        case 'refused':
          logger.warn(
            { subscription: subscription.subscription_id, status: outcome.status, body: outcome.body },
            'push refused by the push service',
          );
          return;
        case 'retry':
          if (attempt >= settings.maxAttempts) {
            logger.warn(
              { subscription: subscription.subscription_id, status: outcome.status, error: outcome.error },
              'push given up',
            );
            return;
          }
          await sleep(
            Math.max(settings.retryBackoffMs * 2 ** (attempt - 1), Math.min(outcome.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)),
          );
      }
    }
  }
}

/** Runs `work` over `items` with at most `limit` at a time; resolves when all are done. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
