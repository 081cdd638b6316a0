// Who of a room's members a new message pushes to, and what the push says.
// Pure: the pusher reads the members' settings and subscriptions, and asks.
//
// A member's room setting (PUT /rooms/:id/notifications) decides: `all` —
// every message; `mentions` — messages naming them (@username, and @room /
// @here from an owner or admin, already expanded into `mentions`); `none`, or
// muted until a time still ahead — nothing. Nobody is pushed their own message.
//
// As the message was sent, not as the pusher finds things later (it may read
// late: under load, or gathering its reads on Kafka): the mute is compared
// with the message's time; a member who joined after it gets nothing; and a
// setting changed at or after it means the row no longer shows the setting
// the message was sent under — then nothing is pushed (a mute just after a
// message is kept; an unmute just after a message sent while muted is not
// taken for a setting it had). Both times come from the processor deciding
// the room, so they are in the room's order.

export type NotifyLevel = 'all' | 'mentions' | 'none';

export interface MemberSetting {
  user_id: string;
  joined_at: number;
  notify_level: NotifyLevel;
  notify_muted_until: number | null;
  /** When the member last set level and mute; null: never. */
  notify_set_at: number | null;
}

export interface MessageFacts {
  sender_id: string;
  /** User ids the message names. */
  mentions: readonly string[];
  created_at: number;
}

/** Why a member is pushed a message, or null when they are not. */
export function pushReason(member: MemberSetting, message: MessageFacts): 'mention' | 'message' | null {
  if (member.user_id === message.sender_id) return null;
  if (member.joined_at > message.created_at) return null;
  if (member.notify_set_at !== null && member.notify_set_at >= message.created_at) return null;
  if (member.notify_muted_until !== null && member.notify_muted_until > message.created_at) return null;
  if (member.notify_level === 'none') return null;
  if (message.mentions.includes(member.user_id)) return 'mention';
  return member.notify_level === 'all' ? 'message' : null;
}

/** What a push carries (the service worker shows it; API.md "Push notifications"). */
export interface PushPayload {
  type: 'NEW_MESSAGE';
  chat_room_id: string;
  room: { type: 'group' | 'direct'; name: string };
  message_id: string;
  seq: number;
  sender: { id: string; username: string; display_name: string };
  /** The start of the text, or what was attached when there is none. */
  preview: string;
  /** Whether the message names the recipient. */
  mention: boolean;
  created_at: number;
}

/**
 * Push services take 4,096 bytes per push; encryption adds 86 (aes128gcm, one
 * record). What the payload may use, with room to spare.
 */
export const MAX_PAYLOAD_BYTES = 3_800;

const ELLIPSIS = '…';

/** At most `maxChars` characters (code points, so no emoji is cut in half), with an ellipsis when cut. */
export function truncate(text: string, maxChars: number): string {
  const chars = Array.from(text);
  if (chars.length <= maxChars) return text;
  return chars.slice(0, Math.max(0, maxChars - 1)).join('') + ELLIPSIS;
}

/** The preview of a message: its text (whitespace runs folded), or a word for its attachments. */
export function previewOf(content: string | null, attachments: number, maxChars: number): string {
  const text = (content ?? '').replace(/\s+/g, ' ').trim();
  if (text !== '') return truncate(text, maxChars);
  if (attachments > 0) return attachments === 1 ? '📎 1 attachment' : `📎 ${attachments} attachments`;
  return '';
}

/** The payload as sent: its preview cut further if names and text together would not fit in a push. */
export function encodePayload(payload: PushPayload): Buffer {
  let fitted = payload;
  let encoded = Buffer.from(JSON.stringify(fitted));
  while (encoded.length > MAX_PAYLOAD_BYTES && fitted.preview !== '') {
    const chars = Array.from(fitted.preview).length;
    fitted = { ...fitted, preview: chars <= 2 ? '' : truncate(fitted.preview, Math.floor(chars / 2)) };
    encoded = Buffer.from(JSON.stringify(fitted));
  }
  return encoded;
}
