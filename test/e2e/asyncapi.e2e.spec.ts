// The AsyncAPI document tells the truth: a conversation that makes the server
// send nearly every kind of frame (friends, an invitation, a room with
// messages, edits, reactions, deletes, receipts, typing, presence, role
// changes, a removal, a block, errors), and every frame each client received
// is validated against the payload schema /asyncapi.json names for its type.

import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { schemaValidator } from '../../src/api-docs/testing/schema-validator.ts';
import { eventually } from '../support/chat.ts';
import { WsClient, type Frame } from '../support/client.ts';
import { befriend, expectStatus, groupRoom, useParley } from '../support/social.ts';
import type { Message, Room } from '../support/wire.ts';

const context = useParley();
const api = () => context.api;
const parley = () => context.parley;
const connect = context.connect;

interface AsyncApiServed {
  components: {
    schemas: Record<string, Record<string, unknown>>;
    messages: Record<string, { name: string; payload: { $ref: string } }>;
  };
}

test('every frame a client receives in a whole conversation fits the schema /asyncapi.json gives its type', async () => {
  const served = (await (await fetch(`${parley().url}/asyncapi.json`)).json()) as AsyncApiServed;
  const payloadOf = new Map(
    Object.entries(served.components.messages)
      .filter(([name]) => name.startsWith('Server_'))
      .map(([, message]) => [message.name, message.payload.$ref.split('/').pop()!]),
  );
  const validator = schemaValidator(served);

  const [alice, bob, carol] = await api().users(3, 'aa');
  const aliceWs = await connect(alice!);
  // Bob authenticates with an AUTH frame instead of ?token=.
  const bobWs = new WsClient(parley().wsUrl);
  await bobWs.opened;
  bobWs.send({ type: 'AUTH', data: { token: bob!.token } });
  await bobWs.next((frame) => frame.type === 'AUTH_SUCCESS');
  const carolWs = await connect(carol!);

  // Friends (FRIEND_REQUEST, FRIEND_REQUEST_UPDATED, PRESENCE), and an invitation
  // of a non-friend (ROOM_INVITE, then MEMBER_ADDED when she accepts).
  await befriend(api(), alice!, bob!);
  const room = await groupRoom(api(), alice!, [bob!, carol!], 'schema tour');
  await aliceWs.next((frame) => frame.type === 'MEMBER_ADDED' && frame.data.user_id === carol!.id);

  // In the room: JOIN_SUCCESS, USERS, USER_JOINED, ACK, NEW_MESSAGE, TYPING, READ_RECEIPT.
  for (const ws of [aliceWs, bobWs]) await ws.call('JOIN_ROOM', { chat_room_id: room.id });
  const sent = await aliceWs.call<{ message: Message }>('SEND_MESSAGE', {
    chat_room_id: room.id,
    client_msg_id: randomUUID(),
    content: 'hello, schema',
  });
  const message = sent.data.message;
  aliceWs.send({ type: 'TYPING', data: { chat_room_id: room.id, is_typing: true } });
  await bobWs.call('READ_RECEIPT', { chat_room_id: room.id, seq: message.seq });

  // Over REST: MESSAGE_UPDATED, REACTION_UPDATED, PIN_UPDATED, MESSAGE_DELETED, ROOM_UPDATED, MEMBER_UPDATED, MEMBER_REMOVED.
  const messagePath = `/rooms/${room.id}/messages/${message.id}`;
  expectStatus(await api().patch(alice!, messagePath, { content: 'hello, edited' }), 200);
  expectStatus(await api().put(bob!, `${messagePath}/reactions/${encodeURIComponent('👍')}`), 200);
  expectStatus(await api().put(bob!, `/rooms/${room.id}/pins/${message.id}`), 204);
  expectStatus(await api().del(alice!, messagePath), 200);
  expectStatus(await api().patch<Room>(alice!, `/rooms/${room.id}`, { topic: 'schemas' }), 200);
  expectStatus(await api().patch(alice!, `/rooms/${room.id}/members/${bob!.id}`, { role: 'admin' }), 200);
  expect((await api().del(alice!, `/rooms/${room.id}/members/${carol!.id}`)).status).toBeLessThan(300);

  // PONG, ERROR, LEAVE_SUCCESS, USER_LEFT; then FRIEND_REMOVED and BLOCK_UPDATED.
  await aliceWs.call('PING');
  aliceWs.send('{"type": "NO_SUCH_FRAME", "data": {}}');
  await aliceWs.next((frame) => frame.type === 'ERROR');
  await bobWs.call('LEAVE_ROOM', { chat_room_id: room.id });
  expect((await api().del(alice!, `/friends/${bob!.id}`)).status).toBeLessThan(300);
  expect((await api().post(alice!, '/blocks', { user_id: carol!.id })).status).toBeLessThan(300);
  await aliceWs.next((frame) => frame.type === 'BLOCK_UPDATED');
  await bobWs.next((frame) => frame.type === 'FRIEND_REMOVED');

  const received = (): Frame[] => [...aliceWs.frames, ...bobWs.frames, ...carolWs.frames];
  const expected = [
    'AUTH_SUCCESS',
    'FRIEND_REQUEST',
    'FRIEND_REQUEST_UPDATED',
    'ROOM_INVITE',
    'MEMBER_ADDED',
    'JOIN_SUCCESS',
    'USERS',
    'USER_JOINED',
    'ACK',
    'NEW_MESSAGE',
    'TYPING',
    'READ_RECEIPT',
    'MESSAGE_UPDATED',
    'REACTION_UPDATED',
    'PIN_UPDATED',
    'MESSAGE_DELETED',
    'ROOM_UPDATED',
    'MEMBER_UPDATED',
    'MEMBER_REMOVED',
    'PONG',
    'ERROR',
    'LEAVE_SUCCESS',
    'USER_LEFT',
    'FRIEND_REMOVED',
    'BLOCK_UPDATED',
  ];
  // Fan-out frames travel on their own path: wait (bounded) until each kind has arrived.
  const missing = () => expected.filter((type) => !received().some((frame) => frame.type === type));
  await eventually(() => missing().length === 0, 'every kind of frame').catch(() => undefined);
  expect(missing()).toEqual([]);

  const misfits = received().flatMap((frame) => {
    const schema = payloadOf.get(frame.type);
    if (schema === undefined) return [`${frame.type}: no such server message in /asyncapi.json`];
    const problems = validator.problems(schema, frame);
    return problems === null ? [] : [`${frame.type}: ${problems} in ${JSON.stringify(frame).slice(0, 300)}`];
  });
  expect(misfits).toEqual([]);
  // And the check is no formality: a frame off its schema is caught.
  const doctored = { ...received().find((frame) => frame.type === 'NEW_MESSAGE')!, data: { ...message, seq: 'one' } };
  expect(validator.problems(payloadOf.get('NEW_MESSAGE')!, doctored)).toContain('seq');
  expect(received().length).toBeGreaterThan(expected.length);
});
