// Clients written for the original Go service work unchanged. Its README's
// example frame is sent as printed there — a top-level sender_id, no ref, no
// client_msg_id — with only the room (its "room-123") and the user
// ("user-123") made real; the rest of its frame types go out in the same
// shape. sender_id must name the socket's own user; the server assigns a
// client_msg_id when there is none (no retry protection then); a bare TYPING
// means typing started.

import { describe, expect, test } from 'vitest';
import type { Frame, TestUser } from '../support/client.ts';
import { eventually } from '../support/chat.ts';
import { expectStatus, groupRoom, messagesOf, useParley } from '../support/social.ts';
import type { Message } from '../support/wire.ts';

const suite = useParley();

/** The Go service README's SEND_MESSAGE example, as printed, for a real room and user. */
const readmeSendMessage = (senderId: string, roomId: string) =>
  `{
  "type": "SEND_MESSAGE",
  "sender_id": "${senderId}",
  "timestamp": 1686123456789,
  "data": {
    "chat_room_id": "${roomId}",
    "content": "Hello world!",
    "mime_type": "text/plain"
  }
}`;

/** A frame in the Go service's shape: type, sender_id, timestamp, data; no ref. */
const goFrame = (type: string, sender: TestUser, data?: Record<string, unknown>) =>
  JSON.stringify({ type, sender_id: sender.id, timestamp: Date.now(), ...(data === undefined ? {} : { data }) });

/** The room's history once it holds `count` messages (a WS ACK comes before the projection). */
async function historyOf(user: TestUser, roomId: string, count: number): Promise<Message[]> {
  let history: Message[] = [];
  await eventually(
    async () => (history = await messagesOf(suite.api, user, roomId)).length >= count,
    `${count} messages in history`,
  );
  return history;
}

async function chatRoom() {
  const [alice, bob] = await suite.api.users(2, 'go');
  const room = await groupRoom(suite.api, alice!, [bob!]);
  const aliceWs = await suite.connect(alice!);
  const bobWs = await suite.connect(bob!);
  return { alice: alice!, bob: bob!, roomId: room.id, aliceWs, bobWs };
}

const newMessage = (roomId: string, content: string) => (frame: Frame) =>
  frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId && frame.data.content === content;

describe("the Go service's frames", () => {
  test("its README's SEND_MESSAGE, verbatim: ACKed, stored with a server-assigned client_msg_id, delivered", async () => {
    const { alice, roomId, aliceWs, bobWs } = await chatRoom();
    aliceWs.send(readmeSendMessage(alice.id, roomId));
    const ack = await aliceWs.next<{ message: Message }>((frame) => frame.type === 'ACK' || frame.type === 'ERROR');
    expect(ack.type).toBe('ACK');
    expect(ack.data.message).toMatchObject({ room_id: roomId, sender_id: alice.id, content: 'Hello world!', seq: 1 });
    expect(ack.data.message.client_msg_id).toEqual(expect.any(String));
    expect(ack.data.message.client_msg_id).not.toBe('');
    const delivered = await bobWs.next(newMessage(roomId, 'Hello world!'));
    expect(delivered.data).toMatchObject({ id: ack.data.message.id, sender_id: alice.id });
    // The ACK says it is in the log; the history shows it once projected.
    const history = await historyOf(alice, roomId, 1);
    expect(history.map((m) => m.content)).toEqual(['Hello world!']);
  });

  test('without a client_msg_id, the same text sent twice is two messages (nothing to recognise a retry by)', async () => {
    const { alice, roomId, aliceWs } = await chatRoom();
    for (let i = 0; i < 2; i++) {
      aliceWs.send(readmeSendMessage(alice.id, roomId));
      await aliceWs.next((frame) => frame.type === 'ACK' && (frame.data.message as Message).seq === i + 1);
    }
    const history = await historyOf(alice, roomId, 2);
    expect(history.map((m) => m.seq)).toEqual([1, 2]);
    expect(new Set(history.map((m) => m.client_msg_id)).size).toBe(2);
    // REST takes a message without one as well.
    const posted = expectStatus(await suite.api.post<Message>(alice, `/rooms/${roomId}/messages`, { content: 'over REST' }), 201);
    expect(posted.seq).toBe(3);
  });

  test('a sender_id that is not the socket’s user is refused with sender_mismatch, and nothing is sent', async () => {
    const { alice, bob, roomId, aliceWs, bobWs } = await chatRoom();
    aliceWs.send(readmeSendMessage(bob.id, roomId));
    const refused = await aliceWs.next((frame) => frame.type === 'ERROR' || frame.type === 'ACK');
    expect(refused).toMatchObject({ type: 'ERROR', data: { code: 'sender_mismatch' } });
    aliceWs.send(readmeSendMessage('user-123', roomId));
    expect(await aliceWs.next((frame) => frame !== refused && (frame.type === 'ERROR' || frame.type === 'ACK'))).toMatchObject({
      type: 'ERROR',
      data: { code: 'sender_mismatch' },
    });
    expect(await messagesOf(suite.api, alice, roomId)).toEqual([]);
    expect(bobWs.frames.filter((frame) => frame.type === 'NEW_MESSAGE')).toEqual([]);
  });

  test('JOIN_ROOM, a bare TYPING, READ_RECEIPT, LEAVE_ROOM and PING in its shape all work', async () => {
    const { alice, bob, roomId, aliceWs, bobWs } = await chatRoom();
    bobWs.send(goFrame('JOIN_ROOM', bob, { chat_room_id: roomId }));
    expect((await bobWs.next((frame) => frame.type === 'JOIN_SUCCESS')).data).toEqual({ chat_room_id: roomId, last_seq: 0 });
    await bobWs.next((frame) => frame.type === 'USERS' && frame.data.chat_room_id === roomId);

    // TYPING without is_typing: started.
    aliceWs.send(goFrame('TYPING', alice, { chat_room_id: roomId }));
    const typing = await bobWs.next((frame) => frame.type === 'TYPING' && frame.data.user_id === alice.id);
    expect(typing.data).toMatchObject({ chat_room_id: roomId, is_typing: true });

    aliceWs.send(readmeSendMessage(alice.id, roomId));
    await bobWs.next(newMessage(roomId, 'Hello world!'));
    bobWs.send(goFrame('READ_RECEIPT', bob, { chat_room_id: roomId, seq: 1 }));
    expect((await bobWs.next((frame) => frame.type === 'ACK')).data).toMatchObject({ chat_room_id: roomId, last_read_seq: 1 });

    bobWs.send(goFrame('LEAVE_ROOM', bob, { chat_room_id: roomId }));
    expect((await bobWs.next((frame) => frame.type === 'LEAVE_SUCCESS')).data).toEqual({ chat_room_id: roomId });
    bobWs.send(goFrame('PING', bob));
    await bobWs.next((frame) => frame.type === 'PONG');
    expect(bobWs.frames.filter((frame) => frame.type === 'ERROR')).toEqual([]);
  });

  test('a frame naming an unknown room is still refused clearly', async () => {
    const { alice, aliceWs } = await chatRoom();
    aliceWs.send(readmeSendMessage(alice.id, '00000000-0000-7000-8000-000000000000'));
    expect(await aliceWs.next((frame: Frame) => frame.type === 'ERROR')).toMatchObject({ data: { code: 'room_not_found' } });
  });
});
