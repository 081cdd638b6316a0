// Upcasters hide what older records say and no reader may see again: the
// password hash that register_user commands and user_registered v1 events
// carried. Events are covered through the codec in schemas.unit.spec.ts; here,
// commands as the processor reads them and as `parley replay` prints them.

import { describe, expect, it } from 'vitest';
import { decodeCommand } from '../commands/envelope.ts';
import type { EventCodec } from './codec.ts';
import type { LogRecord } from './port.ts';
import { decodeRecord } from './replay.ts';
import { headers } from './topics.ts';
import { upcast } from './upcasters.ts';

const hash = '$2b$12$KIXQJQ1v6n3Vf4r6lq9hUe0Z6b1mN3dO2y7pQ8sT9uV0wX1yZ2a3b';
/** A register_user command as versions before user_registered v2 appended it. */
const oldCommand = {
  type: 'register_user',
  data: { user_id: 'u-1', username: 'alice', email: 'alice@example.org', password_hash: hash, display_name: 'Alice' },
  metadata: { command_id: 'c-1', user_id: 'u-1', at: 1 },
};
const commandRecord: LogRecord = {
  topic: 'parley.commands',
  partition: 0,
  offset: 7,
  timestamp: 1,
  key: 'user:u-1',
  value: Buffer.from(JSON.stringify(oldCommand)),
  headers: { [headers.commandType]: 'register_user' },
};
const noCodec: EventCodec = {
  encode: () => Buffer.alloc(0),
  decode: () => {
    throw new Error('a command is not an Avro event');
  },
  personalFields: () => [],
};

describe('upcasters', () => {
  it('drop the password hash from register_user and user_registered data, and nothing else', () => {
    const { password_hash: _, ...rest } = oldCommand.data;
    expect(upcast('register_user', oldCommand.data)).toEqual(rest);
    expect(upcast('user_registered', { ...rest, created_at: 1 })).toEqual({ ...rest, created_at: 1 });
    expect(upcast('message_sent', { content: 'hi', password_hash: 'not a secret here' })).toEqual({
      content: 'hi',
      password_hash: 'not a secret here',
    });
  });

  it('the processor reads an old register_user command without the hash', () => {
    const command = decodeCommand(commandRecord.value);
    expect(command.data).not.toHaveProperty('password_hash');
    expect(command).toMatchObject({ type: 'register_user', data: { username: 'alice' }, metadata: { command_id: 'c-1' } });
  });

  it('parley replay prints an old register_user command without the hash', () => {
    const line = JSON.stringify(decodeRecord(noCodec, commandRecord));
    expect(line).not.toContain(hash);
    expect(line).not.toContain('password_hash');
    expect(JSON.parse(line)).toMatchObject({ type: 'register_user', data: { data: { username: 'alice' } } });
  });
});
