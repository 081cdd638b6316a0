// The webhook's rules: created once by an admin; paused (by an admin, or by
// the system when its receiver keeps failing), resumed, replayed and deleted
// only while it exists; the system may pause and nothing else.

import { describe, it } from 'vitest';
import type { CommandMetadata } from './decider.ts';
import { given } from './testing/given-when-then.ts';
import { webhookDecider, type WebhookCommand, type WebhookEvent } from './webhook.ts';

const T0 = 1_700_000_000_000;
const meta = (user_id: string | null, at = T0): CommandMetadata => ({ command_id: `cmd-${at}`, user_id, at });
const ids = { webhook_id: 'hook-1', action_id: 'act-1' };

const create = (by: string | null): WebhookCommand => ({
  type: 'create_webhook',
  data: { ...ids, url: 'sealed:url', events: ['message_sent'], room_id: null },
  metadata: meta(by),
});
const pause = (by: string | null, reason: 'admin' | 'failing' = 'admin', error: string | null = null): WebhookCommand => ({
  type: 'pause_webhook',
  data: { ...ids, reason, error },
  metadata: meta(by, T0 + 1),
});
const resume = (by: string | null): WebhookCommand => ({ type: 'resume_webhook', data: ids, metadata: meta(by, T0 + 2) });
const replay = (by: string | null): WebhookCommand => ({
  type: 'replay_webhook',
  data: { ...ids, from_time: T0 - 60_000 },
  metadata: meta(by, T0 + 3),
});
const remove = (by: string | null): WebhookCommand => ({ type: 'delete_webhook', data: ids, metadata: meta(by, T0 + 4) });

const created: WebhookEvent = {
  type: 'webhook_created',
  data: { ...ids, url: 'sealed:url', events: ['message_sent'], room_id: null, created_by: 'admin', created_at: T0 },
};
const pausedAsFailing: WebhookEvent = {
  type: 'webhook_paused',
  data: { ...ids, reason: 'failing', error: 'HTTP 503', paused_by: null, paused_at: T0 + 1, created_by: 'admin' },
};
const deleted: WebhookEvent = {
  type: 'webhook_deleted',
  data: { ...ids, deleted_by: 'admin', deleted_at: T0 + 4 },
};

describe('create_webhook', () => {
  it('creates a webhook once, in the admin’s name; never from the system', () => {
    given(webhookDecider, []).when(create('admin')).then([created]);
    given(webhookDecider, [created]).when(create('admin')).thenRejects('already_exists');
    given(webhookDecider, []).when(create(null)).thenRejects('forbidden');
  });
});

describe('pausing and resuming', () => {
  it('the system pauses a failing webhook, naming the creator to tell; again changes nothing', () => {
    given(webhookDecider, [created])
      .when(pause(null, 'failing', 'HTTP 503'))
      .then([pausedAsFailing]);
    given(webhookDecider, [created, pausedAsFailing]).when(pause('other-admin')).then([]);
  });

  it('an admin pauses and resumes; resuming an active webhook changes nothing', () => {
    given(webhookDecider, [created])
      .when(pause('other-admin'))
      .then([
        {
          type: 'webhook_paused',
          data: { ...ids, reason: 'admin', error: null, paused_by: 'other-admin', paused_at: T0 + 1, created_by: 'admin' },
        },
      ]);
    given(webhookDecider, [created, pausedAsFailing])
      .when(resume('admin'))
      .then([{ type: 'webhook_resumed', data: { ...ids, resumed_by: 'admin', resumed_at: T0 + 2 } }]);
    given(webhookDecider, [created]).when(resume('admin')).then([]);
  });

  it('only an admin resumes, replays or deletes: the system may only pause', () => {
    given(webhookDecider, [created, pausedAsFailing]).when(resume(null)).thenRejects('forbidden');
    given(webhookDecider, [created]).when(replay(null)).thenRejects('forbidden');
    given(webhookDecider, [created]).when(remove(null)).thenRejects('forbidden');
  });
});

describe('replay and delete', () => {
  it('replays from a time, also while paused', () => {
    const replayed: WebhookEvent = {
      type: 'webhook_replay_requested',
      data: { ...ids, from_time: T0 - 60_000, requested_by: 'admin', requested_at: T0 + 3 },
    };
    given(webhookDecider, [created]).when(replay('admin')).then([replayed]);
    given(webhookDecider, [created, pausedAsFailing]).when(replay('admin')).then([replayed]);
  });

  it('a deleted or unknown webhook is not found for every act', () => {
    given(webhookDecider, [created]).when(remove('admin')).then([deleted]);
    for (const command of [pause('admin'), pause(null, 'failing', 'x'), resume('admin'), replay('admin'), remove('admin')]) {
      given(webhookDecider, [created, deleted]).when(command).thenRejects('not_found');
      given(webhookDecider, []).when(command).thenRejects('not_found');
    }
  });
});
