import { beforeAll, expect, test } from 'vitest';
import { acceptInvitations } from '../support/chat.ts';
import { registerUser, request, WsClient } from '../support/client.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import type { Message, Room } from '../support/wire.ts';

let parley: ParleyProcess;
beforeAll(async () => {
  parley = await startParley();
  return () => parley.stop();
});

test('smoke: two users chat over REST and WS', async () => {
  const alice = await registerUser(parley.url, 'alice');
  const bob = await registerUser(parley.url, 'bob');
  const room = await request<Room>(parley.url, 'POST', '/api/v1/rooms', {
    token: alice.token,
    body: { name: 'general', member_ids: [bob.id] },
  });
  expect(room.status).toBe(201);
  // Bob is no friend of alice's: he is invited, and joins by accepting.
  await acceptInvitations(parley.url, room.body.id, [bob]);
  const bobWs = await WsClient.connect(parley.wsUrl, bob.token);
  const aliceWs = await WsClient.connect(parley.wsUrl, alice.token);
  const ack = await aliceWs.call<{ message: Message }>('SEND_MESSAGE', {
    chat_room_id: room.body.id,
    content: 'hi bob',
    client_msg_id: 'c1',
  });
  expect(ack.type).toBe('ACK');
  expect(ack.data.message.seq).toBe(1);
  const got = await bobWs.next<Message>((f) => f.type === 'NEW_MESSAGE');
  expect(got.data.content).toBe('hi bob');
  const posted = await request<Message>(parley.url, 'POST', `/api/v1/rooms/${room.body.id}/messages`, {
    token: bob.token,
    body: { content: 'hey', client_msg_id: 'c2' },
  });
  expect(posted.status).toBe(201);
  expect(posted.body.seq).toBe(2);
  const history = await request<{ messages: Message[] }>(parley.url, 'GET', `/api/v1/rooms/${room.body.id}/messages`, {
    token: alice.token,
  });
  expect(history.body.messages.map((m) => m.seq)).toEqual([1, 2]);
  const join = await bobWs.call('JOIN_ROOM', { chat_room_id: room.body.id, since_seq: 0 });
  expect(join.type).toBe('JOIN_SUCCESS');
  await aliceWs.close();
  await bobWs.close();
});
