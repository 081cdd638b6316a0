// The webhook aggregate (issue 15): a global admin subscribes an HTTP endpoint
// to event types of the log (all rooms, or one). Its life is in the log —
// created, paused (by an admin, or by the system when the receiver keeps
// failing), resumed, asked to replay history from a time, deleted — so the
// audit lists every act and a rebuild recovers every subscription. Where it
// stands in the log (what it has delivered) is the dispatcher's bookkeeping,
// not an event: it moves with every delivery. The URL is sealed under the
// webhook's own key (it may hold a credential), and the signing secret never
// enters the log at all.

import { assertNever, Rejection, type Command, type DomainEvent } from './decider.ts';

export type WebhookPauseReason = 'admin' | 'failing';

/** Every act carries an `action_id`: its line in the admin audit. */
export type CreateWebhook = Command<
  'create_webhook',
  { webhook_id: string; action_id: string; url: string; events: string[]; room_id: string | null }
>;
/** `error`: why the system paused it (the receiver's last failure); null for an admin's pause. */
export type PauseWebhook = Command<
  'pause_webhook',
  { webhook_id: string; action_id: string; reason: WebhookPauseReason; error: string | null }
>;
export type ResumeWebhook = Command<'resume_webhook', { webhook_id: string; action_id: string }>;
export type ReplayWebhook = Command<'replay_webhook', { webhook_id: string; action_id: string; from_time: number }>;
export type DeleteWebhook = Command<'delete_webhook', { webhook_id: string; action_id: string }>;
export type WebhookCommand = CreateWebhook | PauseWebhook | ResumeWebhook | ReplayWebhook | DeleteWebhook;

export type WebhookCreated = DomainEvent<
  'webhook_created',
  {
    webhook_id: string;
    action_id: string;
    url: string;
    events: string[];
    room_id: string | null;
    created_by: string;
    created_at: number;
  }
>;
/** `paused_by` null: the system paused it (its receiver kept failing). `created_by` is told (WEBHOOK_PAUSED). */
export type WebhookPaused = DomainEvent<
  'webhook_paused',
  {
    webhook_id: string;
    action_id: string;
    reason: WebhookPauseReason;
    error: string | null;
    paused_by: string | null;
    paused_at: number;
    created_by: string;
  }
>;
export type WebhookResumed = DomainEvent<
  'webhook_resumed',
  { webhook_id: string; action_id: string; resumed_by: string; resumed_at: number }
>;
export type WebhookReplayRequested = DomainEvent<
  'webhook_replay_requested',
  { webhook_id: string; action_id: string; from_time: number; requested_by: string; requested_at: number }
>;
export type WebhookDeleted = DomainEvent<
  'webhook_deleted',
  { webhook_id: string; action_id: string; deleted_by: string; deleted_at: number }
>;
export type WebhookEvent = WebhookCreated | WebhookPaused | WebhookResumed | WebhookReplayRequested | WebhookDeleted;

export interface WebhookState {
  status: 'none' | 'active' | 'paused' | 'deleted';
  /** The admin who created it (told when it is paused). */
  createdBy: string;
}

export const initialWebhookState = (): WebhookState => ({ status: 'none', createdBy: '' });
export const webhookAggregateId = (webhookId: string): string => `webhook:${webhookId}`;

export function decideWebhook(command: WebhookCommand, state: WebhookState): WebhookEvent[] {
  const at = command.metadata.at;
  const by = command.metadata.user_id;
  const { webhook_id, action_id } = command.data;
  if (command.type === 'create_webhook') {
    if (by === null) throw new Rejection('forbidden', 'a webhook is created by an admin');
    if (state.status !== 'none') throw new Rejection('already_exists', 'webhook already exists');
    return [{ type: 'webhook_created', data: { ...command.data, created_by: by, created_at: at } }];
  }
  if (state.status === 'none' || state.status === 'deleted') throw new Rejection('not_found', 'webhook not found');
  // Only a pause may come from the system (the dispatcher); everything else is an admin's act.
  if (by === null && command.type !== 'pause_webhook') throw new Rejection('forbidden', 'only an admin may do this');
  switch (command.type) {
    case 'pause_webhook':
      if (state.status === 'paused') return [];
      return [
        {
          type: 'webhook_paused',
          data: {
            webhook_id,
            action_id,
            reason: command.data.reason,
            error: command.data.error,
            paused_by: by,
            paused_at: at,
            created_by: state.createdBy,
          },
        },
      ];
    case 'resume_webhook':
      if (state.status === 'active') return [];
      return [{ type: 'webhook_resumed', data: { webhook_id, action_id, resumed_by: by!, resumed_at: at } }];
    case 'replay_webhook':
      return [
        {
          type: 'webhook_replay_requested',
          data: { webhook_id, action_id, from_time: command.data.from_time, requested_by: by!, requested_at: at },
        },
      ];
    case 'delete_webhook':
      return [{ type: 'webhook_deleted', data: { webhook_id, action_id, deleted_by: by!, deleted_at: at } }];
    default:
      return assertNever(command);
  }
}

export function evolveWebhook(state: WebhookState, event: WebhookEvent): WebhookState {
  switch (event.type) {
    case 'webhook_created':
      return { status: 'active', createdBy: event.data.created_by };
    case 'webhook_resumed':
      return { ...state, status: 'active' };
    case 'webhook_paused':
      return { ...state, status: 'paused' };
    case 'webhook_replay_requested':
      return state;
    case 'webhook_deleted':
      return { ...state, status: 'deleted' };
    default:
      return assertNever(event);
  }
}

export const webhookDecider = {
  initialState: initialWebhookState,
  decide: decideWebhook,
  evolve: evolveWebhook,
};
