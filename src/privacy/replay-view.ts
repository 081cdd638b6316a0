// What `parley replay` shows of personal data. By default nothing: every
// personal value — sealed, or plain text written before sealing existed —
// prints as a marker, so the output is what an analyst may keep on a laptop.
// An operator who asks (`--with-personal-data`) gets the values opened with
// the key store, an erased one as erased, and one altered in the log as broken.

import type { EventCodec } from '../log/codec.ts';
import { mapPersonalFields } from '../log/personal-fields.ts';
import type { ReplayLine } from '../log/replay.ts';
import { headers } from '../log/topics.ts';
import { mapSealed, SealBroken } from './sealing.ts';
import { openEach, type PersonalDataVault } from './vault.ts';

export const HIDDEN = '[personal data]';

/**
 * A command carries the personal values of the event it asks for, under the
 * same names: its fields are the event's, as the schemas mark them.
 */
const eventOfCommand: Readonly<Record<string, string>> = {
  register_user: 'user_registered',
  update_profile: 'user_profile_updated',
  send_message: 'message_sent',
  edit_message: 'message_edited',
  confirm_email: 'email_confirmed',
};

/** Lines with every personal value replaced by HIDDEN. */
export function hidePersonalData(codec: EventCodec, lines: readonly ReplayLine[]): ReplayLine[] {
  return lines.map((line) => {
    const data = mapSealed(line.data, () => HIDDEN);
    if (line.type === null) return { ...line, data };
    if (line.headers[headers.eventType] !== undefined) {
      return { ...line, data: mapPersonalFields(data, codec.personalFields(line.type), hide) };
    }
    const eventType = eventOfCommand[line.type];
    if (eventType === undefined || typeof data !== 'object' || data === null || !('data' in data)) return { ...line, data };
    return { ...line, data: { ...data, data: mapPersonalFields(data.data, codec.personalFields(eventType), hide) } };
  });
}

const hide = (value: string | null) => (value === null ? null : HIDDEN);

/** What a sealed value that does not open with its own key (altered in the log) prints as. */
export const BROKEN = '[seal broken]';

/**
 * Lines with their sealed values opened; a line with an erased one says
 * `erased: true`, and a line holding a value that does not open with its key
 * says `seal_broken: true`, its sealed values printed as BROKEN — the replay
 * goes on past it.
 */
export async function openPersonalData(vault: PersonalDataVault, lines: readonly ReplayLine[]): Promise<ReplayLine[]> {
  const opened = await openEach(vault, lines);
  return opened.map((result, i) => {
    if (result instanceof SealBroken) return { ...lines[i]!, data: mapSealed(lines[i]!.data, () => BROKEN), seal_broken: true };
    const { erased, ...line } = result;
    return erased ? { ...line, erased } : line;
  });
}
