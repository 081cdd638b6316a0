// Zod schemas of what clients may send, shared by REST routes, WebSocket frames
// and the API documents: the commands' inputs, and the building blocks every
// route uses for ids and sequence numbers, so all accept the same spellings.
// Limits come from config so every one of them is named in one place.

import { z } from 'zod';
import type { Config } from '../config.ts';
import { newId } from '../ids.ts';

/** Length in Unicode code points, the unit users count in (an emoji is one). */
export function codePoints(value: string): number {
  let count = 0;
  // A string iterates by code point, not by UTF-16 unit.
  for (const _ of value) count++;
  return count;
}

/**
 * Characters that show nothing: whitespace (JavaScript's \s, which covers the
 * Unicode spaces and U+FEFF) and the zero-width ones (U+200B space, U+200C
 * non-joiner, U+200D joiner, U+2060 word joiner). A message or room name of
 * only these would look empty to everyone but still notify and take space.
 */
// Alternatives, not a character class: ZWJ inside a class reads as a joined sequence.
const INVISIBLE = /\s|\u200B|\u200C|\u200D|\u2060|\uFEFF/gu;

/** True when `value` has something besides whitespace and zero-width characters. */
export const hasVisibleText = (value: string): boolean => value.replace(INVISIBLE, '').length > 0;

export const BLANK_TEXT_MESSAGE = 'must not be empty, whitespace or zero-width characters only';

/**
 * Free text that is personal data, sealed before it enters the log
 * (privacy/sealing.ts). A sealed value starts with U+0000, so such text never
 * holds that character (no client has a use for it).
 */
export const personalText = () => z.string().refine((value) => !value.includes('\u0000'), { error: 'must not contain U+0000' });

/** Only web links: `javascript:`, `data:`, `file:` and the like never reach a client. */
export const webUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048);

/**
 * A UUID (RFC 9562 versions 1–8), in either case as clients may write it,
 * lowercase from here on — the only spelling Parley stores and emits. The nil
 * and max UUIDs name nothing Parley issues and are refused.
 */
export const uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/, {
    error: 'must be a UUID',
  })
  .transform((value) => value.toLowerCase());

/** A message sequence number in a JSON body or frame: a non-negative safe integer (0 = before the first). */
export const seq = z
  .number()
  .int({ error: 'must be a non-negative integer' })
  .min(0, { error: 'must be a non-negative integer' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'must be a safe integer' });

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
function isEmoji(value: string): boolean {
  if (/^:[a-z0-9_+-]{1,32}:$/.test(value)) return true;
  const graphemes = [...segmenter.segment(value)];
  return graphemes.length === 1 && /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(value);
}

/**
 * How a message's content is meant to be shown: plain text, or Markdown (which
 * clients render without raw HTML). Nothing else — a client told `text/html` or
 * an image type about a string would be asked to render what no one checked.
 */
export const MESSAGE_MIME_TYPES = ['text/plain', 'text/markdown'] as const;

/** A message's text: at most PARLEY_MAX_MESSAGE_CHARS code points, something visible in it. */
export const messageContentSchema = (config: Pick<Config, 'PARLEY_MAX_MESSAGE_CHARS'>) =>
  personalText()
    .refine((value) => codePoints(value) <= config.PARLEY_MAX_MESSAGE_CHARS, {
      error: `must be at most ${config.PARLEY_MAX_MESSAGE_CHARS} characters`,
    })
    .refine(hasVisibleText, { error: BLANK_TEXT_MESSAGE });

export function commandInputs(config: Config) {
  const content = messageContentSchema(config);

  const attachment = z.strictObject({
    url: webUrl,
    mime_type: z.string().min(1).max(100),
    bytes: z.number().int().nonnegative(),
    name: personalText().max(255).nullable().default(null),
  });

  const sendMessage = z.strictObject({
    // The client's own id makes a retry safe (the same message, not a second).
    // Clients of the Go service never sent one: the server assigns one then,
    // and such a message is not deduplicated.
    client_msg_id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .transform((id) => id ?? `srv-${newId()}`),
    content,
    mime_type: z.enum(MESSAGE_MIME_TYPES, { error: `must be one of ${MESSAGE_MIME_TYPES.join(', ')}` }).default('text/plain'),
    reply_to: uuid.nullable().default(null),
    attachments: z.array(attachment).max(config.PARLEY_MAX_ATTACHMENTS).default([]),
  });

  const roomName = z
    .string()
    .trim()
    .min(1)
    .refine(hasVisibleText, { error: BLANK_TEXT_MESSAGE })
    .refine((value) => codePoints(value) <= config.PARLEY_MAX_ROOM_NAME_CHARS, {
      error: `must be at most ${config.PARLEY_MAX_ROOM_NAME_CHARS} characters`,
    });

  return {
    uuid,
    seq,
    sendMessage,
    createRoom: z.strictObject({
      name: roomName,
      member_ids: z.array(uuid).max(config.PARLEY_MAX_ROOM_MEMBERS_ON_CREATE).default([]),
    }),
    updateRoom: z
      .strictObject({
        name: roomName.optional(),
        topic: z.string().max(1000).optional(),
        /** Owners only; null lifts the room's limit. */
        retention_days: z.number().int().min(1).max(config.PARLEY_MAX_RETENTION_DAYS).nullable().optional(),
      })
      .refine((value) => value.name !== undefined || value.topic !== undefined || value.retention_days !== undefined, {
        error: 'nothing to change',
      }),
    changeRole: z.strictObject({ role: z.enum(['owner', 'admin', 'member']) }),
    /** A mute always ends by itself (a ban is for good); null lifts it. */
    mute: z.strictObject({ duration_s: z.number().int().min(1).max(config.PARLEY_MAX_MUTE_S).nullable() }),
    /** muted_until: epoch ms in the future, at most PARLEY_MAX_NOTIFICATION_MUTE_S ahead; null or absent: not muted. */
    notifications: z.strictObject({
      level: z.enum(['all', 'mentions', 'none']),
      muted_until: z
        .number()
        .int()
        .positive()
        .nullable()
        .default(null)
        .refine((until) => until === null || until <= Date.now() + config.PARLEY_MAX_NOTIFICATION_MUTE_S * 1000, {
          error: `at most ${config.PARLEY_MAX_NOTIFICATION_MUTE_S} s ahead`,
        }),
    }),
    slowMode: z.strictObject({ interval_s: z.number().int().min(0).max(config.PARLEY_MAX_SLOW_MODE_S) }),
    editMessage: z.strictObject({ content }),
    readReceipt: z.strictObject({ seq }),
    userRef: z.strictObject({ user_id: uuid }),
    /** One emoji (a grapheme cluster of pictographs), or a short :shortcode:. */
    emoji: z.string().min(1).max(64).refine(isEmoji, { error: 'must be a single emoji or a :shortcode:' }),
    addMember: z.strictObject({
      user_id: uuid,
      role: z.enum(['admin', 'member', 'owner']).default('member'),
    }),
    updateProfile: z
      .strictObject({
        display_name: personalText().trim().min(1).max(100).optional(),
        bio: personalText().max(1000).optional(),
        avatar_url: webUrl.nullable().optional(),
      })
      .refine((value) => Object.keys(value).length > 0, { error: 'nothing to change' }),
  };
}

export type CommandInputs = ReturnType<typeof commandInputs>;
export type SendMessageInput = z.infer<CommandInputs['sendMessage']>;
