// What `parley replay` shows of personal data. By default nothing: every
// personal value — sealed, or plain text written before sealing existed —
// prints as a marker, so the output is what an analyst may keep on a laptop.
// An operator who asks (`--with-personal-data`) gets the values opened with
// the key store, and an erased one as erased.

import type { EventCodec } from '../log/codec.ts';
import { mapPersonalFields } from '../log/personal-fields.ts';
import type { ReplayLine } from '../log/replay.ts';
import { headers } from '../log/topics.ts';
import { mapSealed } from './sealing.ts';
import type { PersonalDataVault } from './vault.ts';

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

/** Lines with their sealed values opened; a line with an erased one says `erased: true`. */
export async function openPersonalData(vault: PersonalDataVault, lines: readonly ReplayLine[]): Promise<ReplayLine[]> {
  const opened = await vault.open(lines);
  return opened.map(({ erased, ...line }) => (erased ? { ...line, erased } : line));
}
