// The pre-send hook (issue 15; Stream's before-message-send, Centrifugo's
// publish proxy): before a message is sent or edited, an HTTP endpoint of the
// deployment's choosing is asked about it, and answers
//   {"action": "allow"}                          it goes as it is,
//   {"action": "reject", "reason": "…"}          403 message_rejected, nothing is written,
//   {"action": "rewrite", "content": "…"}        it goes with this text instead.
// Calls are signed like webhooks: X-Parley-Signature: t=<unix s>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" under PARLEY_PRESEND_HOOK_SECRET>. A hook that
// does not answer in time, answers something else, or rewrites into text no
// message may have, has failed: the message goes through unchanged (`open`,
// the default: chat keeps working while the hook is down) or is refused with
// 503 (`closed`: nothing unchecked gets through).

import type { Logger } from 'pino';
import { z } from 'zod';
import { Rejection } from '../domain/decider.ts';
import { SIGNATURE_HEADER, signature } from '../infra/request-signature.ts';

export interface HookMessage {
  action: 'message.send' | 'message.edit';
  room_id: string;
  sender_id: string;
  /** The edited message (an edit only). */
  message_id?: string;
  content: string;
  attachments: { mime_type: string; bytes: number; name: string | null }[];
}

export interface PreSendHook {
  /** The text the message goes with; throws Rejection (refused) or PreSendHookUnavailable (failed closed). */
  review(message: HookMessage): Promise<string>;
}

/** The hook failed and PARLEY_PRESEND_HOOK_ON_FAILURE is `closed`: 503, retry later. */
export class PreSendHookUnavailable extends Error {
  constructor(why: string) {
    super(`the pre-send hook failed: ${why}`);
    this.name = 'PreSendHookUnavailable';
  }
}

const answerSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('allow') }),
  z.object({ action: z.literal('reject'), reason: z.string().max(1000).optional() }),
  z.object({ action: z.literal('rewrite'), content: z.string() }),
]);

/** No hook configured: every message goes as written. */
export const noPreSendHook: PreSendHook = { review: (message) => Promise.resolve(message.content) };

export function createPreSendHook(options: {
  url: string;
  secret: string | undefined;
  timeoutMs: number;
  onFailure: 'open' | 'closed';
  /** Whether a rewritten text is one a message may have (the same rules as a client's). */
  validContent: (content: string) => boolean;
  logger: Logger;
}): PreSendHook {
  const { url, secret, timeoutMs, onFailure, validContent, logger } = options;

  function failed(message: HookMessage, why: string): string {
    logger.warn({ room_id: message.room_id, why, onFailure }, 'pre-send hook failed');
    if (onFailure === 'closed') throw new PreSendHookUnavailable(why);
    return message.content;
  }

  return {
    async review(message) {
      const body = JSON.stringify(message);
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (secret !== undefined && secret !== '') headers[SIGNATURE_HEADER] = signature(secret, body);
      let answer: unknown;
      try {
        const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
        if (!response.ok) return failed(message, `status ${response.status}`);
        answer = await response.json();
      } catch (error) {
        return failed(message, error instanceof Error ? error.message : String(error));
      }
      const parsed = answerSchema.safeParse(answer);
      if (!parsed.success) return failed(message, 'an answer that is not allow, reject or rewrite');
      switch (parsed.data.action) {
        case 'allow':
          return message.content;
        case 'reject':
          throw new Rejection('message_rejected', 'the message was refused', { reason: parsed.data.reason ?? null });
        case 'rewrite':
          if (!validContent(parsed.data.content)) return failed(message, 'a rewrite into text no message may have');
          return parsed.data.content;
      }
    },
  };
}
