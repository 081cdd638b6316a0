// What happens to a message after it is sent, end to end over real HTTP and
// WebSocket against a running Parley process (API.md "Rooms and messages":
// edit, delete, reactions, pins, replies, mentions; MESSAGE_UPDATED,
// MESSAGE_DELETED, REACTION_UPDATED and PIN_UPDATED frames; reliability plan
// I-3). Posting itself is in rooms.e2e.spec.ts.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { barrier } from '../support/chat.ts';
import type { Frame, TestUser } from '../support/client.ts';
import { addMember, expectError, expectStatus, groupRoom, messagesOf, postMessage, say, useParley } from '../support/social.ts';
import { uploadAttachment } from '../support/uploads.ts';
import type { Message, RoomSummary } from '../support/wire.ts';

/** Small, so the limit is reached in a test. */
const MAX_PINS = 2;
const suite = useParley({ PARLEY_MAX_PINS: String(MAX_PINS) });
const connect = suite.connect;
const messagePath = (roomId: string, messageId: string) => `/rooms/${roomId}/messages/${messageId}`;
const edit = (user: TestUser, roomId: string, messageId: string, content: string) =>
  suite.api.patch<Message>(user, messagePath(roomId, messageId), { content });
const remove = (user: TestUser, roomId: string, messageId: string) =>
  suite.api.del<Message>(user, messagePath(roomId, messageId));
const reactionPath = (roomId: string, messageId: string, emoji: string) =>
  `${messagePath(roomId, messageId)}/reactions/${encodeURIComponent(emoji)}`;
const react = (user: TestUser, roomId: string, messageId: string, emoji: string) =>
  suite.api.put<Message>(user, reactionPath(roomId, messageId, emoji));
const unreact = (user: TestUser, roomId: string, messageId: string, emoji: string) =>
  suite.api.del<Message>(user, reactionPath(roomId, messageId, emoji));
const frameFor =
  (type: string, messageId: string, also: (frame: Frame) => boolean = () => true) =>
  (frame: Frame) =>
    frame.type === type && frame.data.id === messageId && also(frame);
const sortedReactions = (reactions: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(reactions).map(([emoji, users]) => [emoji, [...users].sort()]));

/** A room with an owner, an admin, two plain members, and one message from `bob` (a member). */
async function roomWithMessage(content = 'original words') {
  const [owner, admin, bob, carol] = await suite.api.users(4, 'msg');
  const room = await groupRoom(suite.api, owner!, [bob!, carol!]);
  expectStatus(await addMember(suite.api, owner!, room.id, admin!, 'admin'), 201);
  const message = await say(suite.api, bob!, room.id, content);
  return { owner: owner!, admin: admin!, bob: bob!, carol: carol!, roomId: room.id, message };
}

describe('editing', () => {
  test('the author edits → 200 with the new content and edited_at; history shows it; members get MESSAGE_UPDATED', async () => {
    const { bob, carol, roomId, message } = await roomWithMessage();
    const carolWs = await connect(carol);
    const edited = expectStatus(await edit(bob, roomId, message.id, 'better words ✨'), 200);
    expect(edited).toMatchObject({
      id: message.id,
      seq: message.seq,
      sender_id: bob.id,
      content: 'better words ✨',
      deleted: false,
    });
    expect(edited.edited_at).toEqual(expect.any(Number));
    expect(edited.edited_at).toBeGreaterThanOrEqual(message.created_at);
    expect(edited.created_at).toBe(message.created_at);

    const frame = await carolWs.next(frameFor('MESSAGE_UPDATED', message.id));
    expect(frame.data).toMatchObject({
      id: message.id,
      room_id: roomId,
      content: 'better words ✨',
      edited_at: edited.edited_at,
    });
    const [stored] = await messagesOf(suite.api, carol, roomId);
    expect(stored).toEqual(edited);
    // The room list's last message is the edited one too.
    const listed = expectStatus(await suite.api.get<{ rooms: RoomSummary[] }>(carol, '/rooms'), 200).rooms.find(
      (r) => r.id === roomId,
    );
    expect(listed!.last_message!.content).toBe('better words ✨');
  });

  test('an edit to whitespace or zero-width characters only → 400 validation_failed on content; the message is unchanged', async () => {
    const { bob, roomId, message } = await roomWithMessage();
    for (const content of ['   ', '\u200b\u200c\u200d', ' \u2060\ufeff\n']) {
      const response = await edit(bob, roomId, message.id, content);
      expectError(response, 400, 'validation_failed');
      expect(JSON.stringify(response.body)).toContain('"path":"content"');
    }
    const [stored] = await messagesOf(suite.api, bob, roomId);
    expect(stored).toMatchObject({ id: message.id, content: 'original words', edited_at: null });
  });

  test('only the author may edit: another member, an admin and the owner get 403 forbidden; nothing changes', async () => {
    const { owner, admin, carol, roomId, message } = await roomWithMessage();
    for (const other of [carol, admin, owner]) {
      expectError(await edit(other, roomId, message.id, 'not yours'), 403, 'forbidden');
    }
    const [stored] = await messagesOf(suite.api, owner, roomId);
    expect(stored).toEqual(message);
  });

  test('bad edits → 400 (empty, whitespace, 4001 characters, unknown fields) and nothing changes', async () => {
    const { bob, roomId, message } = await roomWithMessage();
    for (const body of [
      { content: '' },
      { content: '  ' },
      { content: 'a'.repeat(4001) },
      {},
      { content: 'x', sender_id: bob.id },
    ]) {
      expectError(await suite.api.patch(bob, messagePath(roomId, message.id), body), 400, 'validation_failed');
    }
    expect((await messagesOf(suite.api, bob, roomId))[0]).toEqual(message);
  });
});

describe('edit history', () => {
  interface History {
    message: Message;
    versions: { content: string; written_at: number }[];
  }
  const historyOf = async (user: TestUser, roomId: string, messageId: string) =>
    expectStatus(await suite.api.get<History>(user, `${messagePath(roomId, messageId)}/history`), 200);

  test('members see what a message said before each edit, oldest first; deleting it erases them all', async () => {
    const { bob, carol, roomId, message } = await roomWithMessage('first words');
    expect((await historyOf(carol, roomId, message.id)).versions).toEqual([]);
    const once = expectStatus(await edit(bob, roomId, message.id, 'second words'), 200);
    const twice = expectStatus(await edit(bob, roomId, message.id, 'third words'), 200);

    const history = await historyOf(carol, roomId, message.id);
    expect(history.message).toMatchObject({ id: message.id, content: 'third words', edited_at: twice.edited_at });
    expect(history.versions).toEqual([
      { content: 'first words', written_at: message.created_at },
      { content: 'second words', written_at: once.edited_at },
    ]);

    expectStatus(await remove(bob, roomId, message.id), 200);
    const erased = await historyOf(carol, roomId, message.id);
    expect(erased.versions).toEqual([]);
    expect(erased.message).toMatchObject({ deleted: true, content: null });
  });

  test('outside the room → 404 room_not_found; an unknown message → 404 message_not_found', async () => {
    const { bob, roomId, message } = await roomWithMessage();
    const [stranger] = await suite.api.users(1, 'histout');
    expectError(await suite.api.get(stranger!, `${messagePath(roomId, message.id)}/history`), 404, 'room_not_found');
    expectError(await suite.api.get(bob, `${messagePath(roomId, randomUUID())}/history`), 404, 'message_not_found');
  });
});

describe('deleting', () => {
  test('the author deletes → 200 tombstone (deleted and erased: content null, no attachments, seq kept); members get MESSAGE_DELETED; history keeps its place', async () => {
    const [alice, bob] = await suite.api.users(2, 'del');
    const room = await groupRoom(suite.api, alice!, [bob!]);
    const bobWs = await connect(bob!);
    await say(suite.api, alice!, room.id, 'first');
    // Attachments must be confirmed uploads of the sender for the room.
    const upload = await uploadAttachment(suite.parley.url, alice!, room.id);
    const doomed = await say(suite.api, alice!, room.id, 'regrettable', {
      attachments: [{ url: upload.url, mime_type: upload.mime_type, bytes: upload.bytes, name: 'x.png' }],
    });
    expect(doomed.attachments).toHaveLength(1);
    await say(suite.api, alice!, room.id, 'third');
    expectStatus(await react(bob!, room.id, doomed.id, '👍'), 200);

    const tombstone = expectStatus(await remove(alice!, room.id, doomed.id), 200);
    expect(tombstone).toMatchObject({
      id: doomed.id,
      seq: 2,
      deleted: true,
      erased: true,
      content: null,
      attachments: [],
      sender_id: alice!.id,
    });
    const frame = await bobWs.next(frameFor('MESSAGE_DELETED', doomed.id));
    expect(frame.data).toMatchObject({ id: doomed.id, seq: 2, deleted: true, erased: true, content: null, attachments: [] });

    const history = await messagesOf(suite.api, bob!, room.id);
    expect(history.map((m) => [m.seq, m.deleted, m.content])).toEqual([
      [1, false, 'first'],
      [2, true, null],
      [3, false, 'third'],
    ]);
    expect(history[1]!.reactions).toEqual({});
    // The next message still continues the sequence.
    expect((await say(suite.api, bob!, room.id, 'fourth')).seq).toBe(4);
  });

  test("the owner and an admin may delete a member's message; a plain member deleting another's → 403", async () => {
    const { owner, admin, bob, carol, roomId, message } = await roomWithMessage();
    expectError(await remove(carol, roomId, message.id), 403, 'forbidden');
    expect((await messagesOf(suite.api, bob, roomId))[0]!.deleted).toBe(false);
    expect(expectStatus(await remove(admin, roomId, message.id), 200).deleted).toBe(true);

    const second = await say(suite.api, carol, roomId, 'by carol');
    expectError(await remove(bob, roomId, second.id), 403, 'forbidden');
    expect(expectStatus(await remove(owner, roomId, second.id), 200).deleted).toBe(true);
  });

  test('deleting twice → the same tombstone; editing or reacting to a deleted message → 409 invalid_state', async () => {
    const { bob, carol, roomId, message } = await roomWithMessage();
    const first = expectStatus(await remove(bob, roomId, message.id), 200);
    const again = expectStatus(await remove(bob, roomId, message.id), 200);
    expect(again).toEqual(first);
    expectError(await edit(bob, roomId, message.id, 'resurrected'), 409, 'invalid_state');
    expectError(await react(carol, roomId, message.id, '👍'), 409, 'invalid_state');
    expect((await messagesOf(suite.api, bob, roomId))[0]).toEqual(first);
  });
});

describe('reactions', () => {
  test('PUT adds my reaction → reactions {emoji: [user_id]}; PUT again changes nothing; others add theirs; DELETE takes mine away, idempotently', async () => {
    const { bob, carol, owner, roomId, message } = await roomWithMessage();
    const thumbs = '👍';
    expect(expectStatus(await react(carol, roomId, message.id, thumbs), 200).reactions).toEqual({ [thumbs]: [carol.id] });
    expect(expectStatus(await react(carol, roomId, message.id, thumbs), 200).reactions).toEqual({ [thumbs]: [carol.id] });
    const two = expectStatus(await react(bob, roomId, message.id, thumbs), 200);
    expect(sortedReactions(two.reactions)).toEqual({ [thumbs]: [bob.id, carol.id].sort() });
    const heart = expectStatus(await react(carol, roomId, message.id, '❤️'), 200);
    expect(sortedReactions(heart.reactions)).toEqual({ [thumbs]: [bob.id, carol.id].sort(), '❤️': [carol.id] });

    const withdrawn = expectStatus(await unreact(carol, roomId, message.id, thumbs), 200);
    expect(withdrawn.reactions).toEqual({ [thumbs]: [bob.id], '❤️': [carol.id] });
    expect(expectStatus(await unreact(carol, roomId, message.id, thumbs), 200).reactions).toEqual({
      [thumbs]: [bob.id],
      '❤️': [carol.id],
    });
    // Removing the last reaction of an emoji removes the emoji; removing a reaction nobody made is a no-op.
    expect(expectStatus(await unreact(bob, roomId, message.id, thumbs), 200).reactions).toEqual({ '❤️': [carol.id] });
    expect(expectStatus(await unreact(owner, roomId, message.id, '🎉'), 200).reactions).toEqual({ '❤️': [carol.id] });
    expect((await messagesOf(suite.api, owner, roomId))[0]!.reactions).toEqual({ '❤️': [carol.id] });
  });

  test('REACTION_UPDATED carries the changed message to members, once per actual change (a repeated PUT sends none)', async () => {
    const { carol, owner, roomId, message } = await roomWithMessage();
    const ownerWs = await connect(owner);
    expectStatus(await react(carol, roomId, message.id, '👍'), 200);
    expectStatus(await react(carol, roomId, message.id, '👍'), 200);
    expectStatus(await react(carol, roomId, message.id, '🔥'), 200);
    const last = await ownerWs.next(
      frameFor('REACTION_UPDATED', message.id, (f) => '🔥' in (f.data.reactions as Message['reactions'])),
    );
    expect(last.data).toMatchObject({ id: message.id, room_id: roomId, reactions: { '👍': [carol.id], '🔥': [carol.id] } });
    await barrier(ownerWs);
    const frames = ownerWs.frames.filter(frameFor('REACTION_UPDATED', message.id));
    expect(frames.map((f) => Object.keys(f.data.reactions as Message['reactions']).sort())).toEqual([
      ['👍'],
      ['🔥', '👍'].sort(),
    ]);
  });

  test.each([
    ['skin tone', '👍🏽'],
    ['ZWJ family', '👨‍👩‍👧'],
    ['flag', '🇯🇵'],
    ['variation selector', '❤️'],
    ['shortcode', ':party_parrot:'],
  ])('a URL-encoded %s emoji works and round-trips exactly', async (_label, emoji) => {
    const { carol, roomId, message } = await roomWithMessage();
    const body = expectStatus(await react(carol, roomId, message.id, emoji), 200);
    expect(Object.keys(body.reactions)).toEqual([emoji]);
    expect((await messagesOf(suite.api, carol, roomId))[0]!.reactions).toEqual({ [emoji]: [carol.id] });
  });

  test.each([
    ['plain text', 'abc'],
    ['two emoji', '👍👍'],
    ['emoji and text', '👍x'],
    ['a bad shortcode', ':Not Valid:'],
    ['HTML', '<b>'],
    ['too long', 'a'.repeat(65)],
  ])('an invalid emoji (%s) → 400 and no reaction', async (_label, emoji) => {
    const { carol, roomId, message } = await roomWithMessage();
    expectError(await react(carol, roomId, message.id, emoji), 400, 'validation_failed');
    expect((await messagesOf(suite.api, carol, roomId))[0]!.reactions).toEqual({});
  });
});

describe('pins', () => {
  interface Pin {
    message: Message;
    pinned_by: string;
    pinned_at: number;
  }
  const pinPath = (roomId: string, messageId: string) => `/rooms/${roomId}/pins/${messageId}`;
  const pins = async (user: TestUser, roomId: string) =>
    expectStatus(await suite.api.get<{ pins: Pin[] }>(user, `/rooms/${roomId}/pins`), 200).pins;
  const pinFrame = (messageId: string, pinned: boolean) => (frame: Frame) =>
    frame.type === 'PIN_UPDATED' && frame.data.message_id === messageId && frame.data.pinned === pinned;

  test('any member pins and unpins (204, idempotent); members hear PIN_UPDATED once per change; GET lists the newest pin first', async () => {
    const { owner, bob, carol, roomId, message } = await roomWithMessage('pin me');
    const second = await say(suite.api, owner, roomId, 'and me');
    const carolWs = await connect(carol);

    expectStatus(await suite.api.put(bob, pinPath(roomId, message.id)), 204);
    const frame = await carolWs.next(pinFrame(message.id, true));
    expect(frame.data).toEqual({
      chat_room_id: roomId,
      message_id: message.id,
      seq: message.seq,
      pinned: true,
      by: bob.id,
      at: expect.any(Number),
    });
    expectStatus(await suite.api.put(carol, pinPath(roomId, message.id)), 204); // pinned already: no change
    expectStatus(await suite.api.put(carol, pinPath(roomId, second.id)), 204);
    await carolWs.next(pinFrame(second.id, true));

    const listed = await pins(owner, roomId);
    expect(listed.map((pin) => [pin.message.id, pin.pinned_by])).toEqual([
      [second.id, carol.id],
      [message.id, bob.id],
    ]);
    expect(listed[1]!.message).toMatchObject({ id: message.id, content: 'pin me', seq: message.seq });
    expect(listed[1]!.pinned_at).toBe(frame.data.at);

    // The owner unpins bob's pin; twice changes nothing.
    expectStatus(await suite.api.del(owner, pinPath(roomId, message.id)), 204);
    expectStatus(await suite.api.del(owner, pinPath(roomId, message.id)), 204);
    await carolWs.next(pinFrame(message.id, false));
    expect((await pins(bob, roomId)).map((pin) => pin.message.id)).toEqual([second.id]);
    await barrier(carolWs);
    const changes = carolWs.frames.filter((f) => f.type === 'PIN_UPDATED').map((f) => [f.data.message_id, f.data.pinned]);
    expect(changes).toEqual([
      [message.id, true],
      [second.id, true],
      [message.id, false],
    ]);
  });

  test(`a room holds at most PARLEY_MAX_PINS (${MAX_PINS}) pins → 409 too_many_pins; a deleted message cannot be pinned, and loses its pin`, async () => {
    const { owner, bob, roomId, message } = await roomWithMessage();
    const others = [await say(suite.api, owner, roomId, 'two'), await say(suite.api, owner, roomId, 'three')];
    expectStatus(await suite.api.put(bob, pinPath(roomId, message.id)), 204);
    expectStatus(await suite.api.put(bob, pinPath(roomId, others[0]!.id)), 204);
    expectError(await suite.api.put(bob, pinPath(roomId, others[1]!.id)), 409, 'too_many_pins');

    // Deleting a pinned message takes its pin away, which frees a place.
    expectStatus(await remove(bob, roomId, message.id), 200);
    expect((await pins(bob, roomId)).map((pin) => pin.message.id)).toEqual([others[0]!.id]);
    expectError(await suite.api.put(bob, pinPath(roomId, message.id)), 409, 'invalid_state');
    expectStatus(await suite.api.put(bob, pinPath(roomId, others[1]!.id)), 204);
  });

  test('outside the room: listing, pinning and unpinning → 404 room_not_found; an unknown message → 404 message_not_found', async () => {
    const { bob, roomId, message } = await roomWithMessage();
    const [stranger] = await suite.api.users(1, 'pinout');
    expectError(await suite.api.get(stranger!, `/rooms/${roomId}/pins`), 404, 'room_not_found');
    expectError(await suite.api.put(stranger!, pinPath(roomId, message.id)), 404, 'room_not_found');
    expectError(await suite.api.del(stranger!, pinPath(roomId, message.id)), 404, 'room_not_found');
    expectError(await suite.api.put(bob, pinPath(roomId, randomUUID())), 404, 'message_not_found');
    expect(await pins(bob, roomId)).toEqual([]);
  });
});

describe('replies and mentions', () => {
  test('reply_to a message of this room → 201 with reply_to; of another room (even one I am in) → 404 message_not_found', async () => {
    const [alice, bob] = await suite.api.users(2, 'reply');
    const room = await groupRoom(suite.api, alice!, [bob!]);
    const other = await groupRoom(suite.api, alice!, [bob!]);
    const original = await say(suite.api, alice!, room.id, 'question?');
    const elsewhere = await say(suite.api, alice!, other.id, 'elsewhere');

    const reply = await say(suite.api, bob!, room.id, 'answer!', { reply_to: original.id });
    expect(reply.reply_to).toBe(original.id);
    expect((await messagesOf(suite.api, alice!, room.id))[1]).toMatchObject({ id: reply.id, reply_to: original.id });

    const cross = await postMessage(suite.api, bob!, room.id, {
      client_msg_id: randomUUID(),
      content: 'cross',
      reply_to: elsewhere.id,
    });
    expectError(cross, 404, 'message_not_found');
    expect((await messagesOf(suite.api, alice!, room.id)).map((m) => m.content)).toEqual(['question?', 'answer!']);
  });

  test('@username of a member → mentions [user_id], any letter case; names of non-members or unknown users are ignored', async () => {
    const [alice, bob, carol, outsider] = await suite.api.users(4, 'ment');
    const room = await groupRoom(suite.api, alice!, [bob!, carol!]);
    const message = await say(
      suite.api,
      alice!,
      room.id,
      `hi @${bob!.username} and @${carol!.username.toUpperCase()}, not @${outsider!.username} or @nobody_here_at_all`,
    );
    expect([...message.mentions].sort()).toEqual([bob!.id, carol!.id].sort());
    expect([...(await messagesOf(suite.api, bob!, room.id))[0]!.mentions].sort()).toEqual([bob!.id, carol!.id].sort());

    const none = await say(
      suite.api,
      alice!,
      room.id,
      `mail me at someone@${bob!.username}.example or ask @${outsider!.username}`,
    );
    expect(none.mentions).toEqual([]);
  });

  test('@room from an owner or admin names every member; from a plain member it names nobody', async () => {
    const [alice, bob, carol, dave] = await suite.api.users(4, 'mentroom');
    const room = await groupRoom(suite.api, alice!, [bob!, carol!]);
    expectStatus(await addMember(suite.api, alice!, room.id, dave!, 'admin'), 201);
    const members = [alice!, bob!, carol!, dave!].map((user) => user.id).sort();
    expect([...(await say(suite.api, alice!, room.id, 'heads up @room')).mentions].sort()).toEqual(members);
    expect([...(await say(suite.api, dave!, room.id, '@ROOM: standup')).mentions].sort()).toEqual(members);
    expect((await say(suite.api, bob!, room.id, 'hey @room')).mentions).toEqual([]);
  });

  test('@here from an owner or admin names the members online now (and anyone named); from a plain member it names nobody', async () => {
    const [alice, bob, carol, dave] = await suite.api.users(4, 'menthere');
    const room = await groupRoom(suite.api, alice!, [bob!, carol!, dave!]);
    await connect(bob!); // online once AUTH_SUCCESS came; carol and dave are not
    expect((await say(suite.api, alice!, room.id, '@here lunch?')).mentions).toEqual([bob!.id]);
    expect([...(await say(suite.api, alice!, room.id, `@here and @${dave!.username}`)).mentions].sort()).toEqual(
      [bob!.id, dave!.id].sort(),
    );
    expect((await say(suite.api, carol!, room.id, '@here anyone?')).mentions).toEqual([]);
  });

  test('an edit carries the mentions of its new content', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'mentedit');
    const room = await groupRoom(suite.api, alice!, [bob!, carol!]);
    const message = await say(suite.api, alice!, room.id, `ping @${bob!.username}`);
    expect(message.mentions).toEqual([bob!.id]);
    const edited = expectStatus(await edit(alice!, room.id, message.id, `actually @${carol!.username}`), 200);
    expect(edited.mentions).toEqual([carol!.id]);
  });
});

describe('threads', () => {
  interface Summary {
    reply_count: number;
    last_reply_at: number;
    participant_ids: string[];
  }
  type InHistory = Message & { thread: Summary | null };
  interface ThreadPage {
    message: InHistory;
    replies: Message[];
    next_after_seq: number | null;
  }
  const reply = (user: TestUser, roomId: string, to: string, content: string) =>
    postMessage<Message>(suite.api, user, roomId, { content, reply_to: to, client_msg_id: randomUUID() });

  test('history shows each message with its thread summary; the thread pages its replies, a deleted one as a tombstone', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'thread');
    const room = await groupRoom(suite.api, alice!, [bob!, carol!]);
    const root = await say(suite.api, alice!, room.id, 'the plan');
    const other = await say(suite.api, alice!, room.id, 'unrelated');
    const r1 = expectStatus(await reply(bob!, room.id, root.id, 'one'), 201);
    const r2 = expectStatus(await reply(carol!, room.id, root.id, 'two'), 201);
    const r3 = expectStatus(await reply(bob!, room.id, root.id, 'three'), 201);
    expectStatus(await suite.api.del(carol!, `/rooms/${room.id}/messages/${r2.id}`), 200);

    const history = expectStatus(await suite.api.get<{ messages: InHistory[] }>(carol!, `/rooms/${room.id}/messages`), 200);
    const byId = new Map(history.messages.map((m) => [m.id, m]));
    expect(byId.get(root.id)!.thread).toEqual({
      reply_count: 2, // the deleted reply does not count
      last_reply_at: r3.created_at,
      participant_ids: [bob!.id],
    });
    expect(byId.get(other.id)!.thread).toBeNull();
    expect(byId.get(r1.id)!.thread).toBeNull();

    const first = expectStatus(
      await suite.api.get<ThreadPage>(bob!, `/rooms/${room.id}/messages/${root.id}/thread?limit=2`),
      200,
    );
    expect(first.message).toMatchObject({ id: root.id, content: 'the plan', thread: { reply_count: 2 } });
    expect(first.replies.map((m) => [m.content, m.deleted])).toEqual([
      ['one', false],
      [null, true],
    ]);
    expect(first.next_after_seq).toBe(r2.seq);
    const rest = expectStatus(
      await suite.api.get<ThreadPage>(
        bob!,
        `/rooms/${room.id}/messages/${root.id}/thread?limit=2&after_seq=${first.next_after_seq}`,
      ),
      200,
    );
    expect(rest.replies.map((m) => m.id)).toEqual([r3.id]);
    expect(rest.next_after_seq).toBeNull();
  });

  test('a thread of a room I am not in → 404 room_not_found; of no message → 404 message_not_found; a bad page → 400', async () => {
    const [alice, stranger] = await suite.api.users(2, 'threadx');
    const room = await groupRoom(suite.api, alice!, []);
    const root = await say(suite.api, alice!, room.id, 'root');
    expectError(await suite.api.get(stranger!, `/rooms/${room.id}/messages/${root.id}/thread`), 404, 'room_not_found');
    expectError(await suite.api.get(alice!, `/rooms/${room.id}/messages/${randomUUID()}/thread`), 404, 'message_not_found');
    expectError(
      await suite.api.get(alice!, `/rooms/${room.id}/messages/${root.id}/thread?after_seq=-1`),
      400,
      'validation_failed',
    );
    const empty = expectStatus(await suite.api.get<ThreadPage>(alice!, `/rooms/${room.id}/messages/${root.id}/thread`), 200);
    expect(empty).toMatchObject({ message: { id: root.id, thread: null }, replies: [], next_after_seq: null });
  });
});

describe('followed threads', () => {
  interface FollowedThread {
    room_id: string;
    message: Message & { thread: { reply_count: number } | null };
    last_read_seq: number;
    unread_count: number;
    last_activity_at: number;
  }
  interface FollowedPage {
    threads: FollowedThread[];
    next_before: string | null;
  }
  interface ThreadState {
    following: boolean;
    last_read_seq: number;
    unread_count: number;
  }
  const reply = async (user: TestUser, roomId: string, to: string, content: string) =>
    expectStatus(
      await postMessage<Message>(suite.api, user, roomId, { content, reply_to: to, client_msg_id: randomUUID() }),
      201,
    );
  const followed = async (user: TestUser, query = '') =>
    expectStatus(await suite.api.get<FollowedPage>(user, `/threads${query}`), 200);
  const summary = (page: FollowedPage) =>
    page.threads.map((t) => ({ id: t.message.id, last_read_seq: t.last_read_seq, unread: t.unread_count }));
  const threadPath = (roomId: string, messageId: string) => `${messagePath(roomId, messageId)}/thread`;
  const stateOf = async (user: TestUser, roomId: string, messageId: string) => {
    const page = expectStatus(await suite.api.get<ThreadState>(user, threadPath(roomId, messageId)), 200);
    return { following: page.following, last_read_seq: page.last_read_seq, unread_count: page.unread_count };
  };

  test('replying, a mention in a reply and a first reply to my message follow a thread; GET /threads lists them latest first with unread counts; reading moves the mark', async () => {
    const [alice, bob, carol, dave] = await suite.api.users(4, 'follow');
    const room = await groupRoom(suite.api, alice!, [bob!, carol!, dave!]);
    const plan = await say(suite.api, alice!, room.id, 'the plan');
    const r1 = await reply(bob!, room.id, plan.id, 'one');
    const r2 = await reply(bob!, room.id, plan.id, `two, @${carol!.username}?`);

    // alice wrote the message, bob replied, carol was named in a reply; dave only reads.
    expect(summary(await followed(alice!))).toEqual([{ id: plan.id, last_read_seq: 0, unread: 2 }]);
    expect(summary(await followed(bob!))).toEqual([{ id: plan.id, last_read_seq: r2.seq, unread: 0 }]);
    expect(summary(await followed(carol!))).toEqual([{ id: plan.id, last_read_seq: 0, unread: 2 }]);
    expect((await followed(dave!)).threads).toEqual([]);
    const [listed] = (await followed(alice!)).threads;
    expect(listed).toMatchObject({ room_id: room.id, message: { id: plan.id, content: 'the plan', thread: { reply_count: 2 } } });
    expect(listed!.last_activity_at).toBe(r2.created_at);
    expect(await stateOf(dave!, room.id, plan.id)).toEqual({ following: false, last_read_seq: 0, unread_count: 2 });

    // Reading: the mark moves (never back), alice's other device hears it, the count drops.
    const aliceWs = await connect(alice!);
    const read = await suite.api.post(alice!, `${threadPath(room.id, plan.id)}/read`, { seq: r1.seq });
    expect(expectStatus(read, 200)).toEqual({ chat_room_id: room.id, message_id: plan.id, last_read_seq: r1.seq });
    const threadRead = await aliceWs.next((f) => f.type === 'THREAD_READ');
    expect(threadRead.data).toEqual({ chat_room_id: room.id, message_id: plan.id, seq: r1.seq });
    expect(summary(await followed(alice!))).toEqual([{ id: plan.id, last_read_seq: r1.seq, unread: 1 }]);
    const back = await suite.api.post(alice!, `${threadPath(room.id, plan.id)}/read`, { seq: 1 });
    expect(expectStatus(back, 200)).toMatchObject({ last_read_seq: r1.seq });
    // Reading does not follow: dave read it and still follows nothing.
    expectStatus(await suite.api.post(dave!, `${threadPath(room.id, plan.id)}/read`, { seq: r2.seq }), 200);
    expect(await stateOf(dave!, room.id, plan.id)).toEqual({ following: false, last_read_seq: r2.seq, unread_count: 0 });
    expect((await followed(dave!)).threads).toEqual([]);

    // A thread that moves later lists first; pages follow next_before.
    const lunch = await say(suite.api, carol!, room.id, 'lunch?');
    await reply(alice!, room.id, lunch.id, 'yes');
    expect(summary(await followed(alice!)).map((t) => t.id)).toEqual([lunch.id, plan.id]);
    const first = await followed(alice!, '?limit=1');
    expect(first.threads.map((t) => t.message.id)).toEqual([lunch.id]);
    const rest = await followed(alice!, `?limit=1&before=${encodeURIComponent(first.next_before!)}`);
    expect(rest.threads.map((t) => t.message.id)).toEqual([plan.id]);
    const end = await followed(alice!, `?limit=1&before=${encodeURIComponent(rest.next_before!)}`);
    expect(end).toEqual({ threads: [], next_before: null });
    expectError(await suite.api.get(alice!, '/threads?before=yesterday'), 400, 'validation_failed');
  });

  test('unfollowing hides a thread until I reply in it again; I can follow a message nobody answered; leaving the room hides its threads; outsiders get 404', async () => {
    const [alice, bob, outsider] = await suite.api.users(3, 'unfollow');
    const room = await groupRoom(suite.api, alice!, [bob!]);
    const plan = await say(suite.api, alice!, room.id, 'the plan');
    await reply(bob!, room.id, plan.id, 'one');
    const aliceWs = await connect(alice!);

    expectStatus(await suite.api.del(alice!, `${threadPath(room.id, plan.id)}/follow`), 204);
    const unfollowed = await aliceWs.next((f) => f.type === 'THREAD_FOLLOWED');
    expect(unfollowed.data).toEqual({ chat_room_id: room.id, message_id: plan.id, following: false });
    expect((await followed(alice!)).threads).toEqual([]);
    // Another reply does not bring it back for its author…
    await reply(bob!, room.id, plan.id, 'two');
    expect((await followed(alice!)).threads).toEqual([]);
    expect(await stateOf(alice!, room.id, plan.id)).toEqual({ following: false, last_read_seq: 0, unread_count: 2 });
    // …her own reply does.
    const mine = await reply(alice!, room.id, plan.id, 'ok, I am back');
    expect(summary(await followed(alice!))).toEqual([{ id: plan.id, last_read_seq: mine.seq, unread: 0 }]);

    // Following a message with no reply: listed, by the message's time.
    const idea = await say(suite.api, alice!, room.id, 'an idea');
    expectStatus(await suite.api.put(bob!, `${threadPath(room.id, idea.id)}/follow`), 204);
    const bobList = (await followed(bob!)).threads;
    expect(bobList.map((t) => [t.message.id, t.unread_count])).toEqual([
      [idea.id, 0],
      [plan.id, 1],
    ]);
    expect(bobList[0]!.last_activity_at).toBe(idea.created_at);
    // Following twice is the same as once.
    expectStatus(await suite.api.put(bob!, `${threadPath(room.id, idea.id)}/follow`), 204);
    expect((await followed(bob!)).threads).toHaveLength(2);

    expectError(await suite.api.put(outsider!, `${threadPath(room.id, plan.id)}/follow`), 404, 'room_not_found');
    expectError(await suite.api.post(outsider!, `${threadPath(room.id, plan.id)}/read`, { seq: 1 }), 404, 'room_not_found');
    expectError(await suite.api.put(bob!, `${threadPath(room.id, randomUUID())}/follow`), 404, 'message_not_found');

    expectStatus(await suite.api.del(bob!, `/rooms/${room.id}/members/${bob!.id}`), 204);
    expect((await followed(bob!)).threads).toEqual([]);
  });
});

describe('room notification settings', () => {
  const settingsPath = (roomId: string) => `/rooms/${roomId}/notifications`;
  const myRoom = async (user: TestUser, roomId: string) =>
    expectStatus(await suite.api.get<{ rooms: RoomSummary[] }>(user, '/rooms'), 200).rooms.find((room) => room.id === roomId)!;

  test('a member chooses how a room notifies them: the room list shows it to them alone, their other devices hear it', async () => {
    const [alice, bob] = await suite.api.users(2, 'notify');
    const room = await groupRoom(suite.api, alice!, [bob!]);
    expect((await myRoom(bob!, room.id)).notifications).toEqual({ level: 'all', muted_until: null });

    const bobWs = await connect(bob!);
    const until = Date.now() + 3_600_000;
    const set = await suite.api.put(bob!, settingsPath(room.id), { level: 'mentions', muted_until: until });
    expect(expectStatus(set, 200)).toEqual({ chat_room_id: room.id, level: 'mentions', muted_until: until });
    const frame = await bobWs.next((f) => f.type === 'NOTIFICATIONS_UPDATED');
    expect(frame.data).toEqual({ chat_room_id: room.id, level: 'mentions', muted_until: until });
    expect((await myRoom(bob!, room.id)).notifications).toEqual({ level: 'mentions', muted_until: until });
    // Alice's view of the room is hers.
    expect((await myRoom(alice!, room.id)).notifications).toEqual({ level: 'all', muted_until: null });

    // Without muted_until: not muted.
    const none = await suite.api.put(bob!, settingsPath(room.id), { level: 'none' });
    expect(expectStatus(none, 200)).toEqual({ chat_room_id: room.id, level: 'none', muted_until: null });
  });

  test('bad settings → 400 and nothing changes; a room I am not in → 404', async () => {
    const [alice, outsider] = await suite.api.users(2, 'notifyx');
    const room = await groupRoom(suite.api, alice!, []);
    for (const body of [
      { level: 'loud' },
      {},
      { level: 'all', muted_until: 'tomorrow' },
      { level: 'all', muted_until: Date.now() + 2 * 365 * 86_400_000 },
      { level: 'all', extra: true },
    ]) {
      expectError(await suite.api.put(alice!, settingsPath(room.id), body), 400, 'validation_failed');
    }
    expectError(await suite.api.put(alice!, settingsPath(room.id), { level: 'all', muted_until: 1_000 }), 409, 'invalid_state');
    expect((await myRoom(alice!, room.id)).notifications).toEqual({ level: 'all', muted_until: null });
    expectError(await suite.api.put(outsider!, settingsPath(room.id), { level: 'none' }), 404, 'room_not_found');
  });
});

describe('the mentions inbox', () => {
  interface MentionPage {
    mentions: { message: Message; room_id: string; mentioned_at: number; read: boolean }[];
    next_before: string | null;
  }
  const inbox = async (user: TestUser, query = '') =>
    expectStatus(await suite.api.get<MentionPage>(user, `/mentions${query}`), 200);
  const roomListed = async (user: TestUser, roomId: string) =>
    expectStatus(await suite.api.get<{ rooms: RoomSummary[] }>(user, '/rooms'), 200).rooms.find((r) => r.id === roomId)!;

  test('messages naming me, newest first, with read state; the room counts unread mentions; reading clears them', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'inbox');
    const room = await groupRoom(suite.api, alice!, [bob!, carol!]);
    const first = await say(suite.api, bob!, room.id, `@${carol!.username} look`);
    await say(suite.api, bob!, room.id, 'nothing for carol');
    const second = await say(suite.api, alice!, room.id, `again @${carol!.username}, and @${alice!.username} myself`);

    const page = await inbox(carol!);
    expect(page.mentions.map((m) => [m.message.id, m.room_id, m.read])).toEqual([
      [second.id, room.id, false],
      [first.id, room.id, false],
    ]);
    expect(page.mentions[1]!.mentioned_at).toBe(first.created_at);
    expect(page.next_before).toBeNull();
    // Mentioning oneself fills no inbox.
    expect((await inbox(alice!)).mentions).toEqual([]);
    expect((await roomListed(carol!, room.id)).unread_mention_count).toBe(2);

    expectStatus(await suite.api.post(carol!, `/rooms/${room.id}/read`, { seq: first.seq }), 200);
    expect((await inbox(carol!)).mentions.map((m) => m.read)).toEqual([false, true]);
    expect((await roomListed(carol!, room.id)).unread_mention_count).toBe(1);
  });

  test('edits add and take out mentions, deletion takes them all; pages follow next_before; leaving the room empties it', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'inboxedit');
    const room = await groupRoom(suite.api, alice!, [bob!, carol!]);
    const message = await say(suite.api, bob!, room.id, 'no names yet');
    const edited = expectStatus(await edit(bob!, room.id, message.id, `now @${carol!.username}`), 200);
    const [mention] = (await inbox(carol!)).mentions;
    expect(mention).toMatchObject({ message: { id: message.id }, mentioned_at: edited.edited_at });
    expectStatus(await edit(bob!, room.id, message.id, 'names gone'), 200);
    expect((await inbox(carol!)).mentions).toEqual([]);

    const named = [];
    for (let i = 0; i < 3; i++) named.push(await say(suite.api, bob!, room.id, `@${carol!.username} number ${i}`));
    const pageOne = await inbox(carol!, '?limit=2');
    expect(pageOne.mentions.map((m) => m.message.id)).toEqual([named[2]!.id, named[1]!.id]);
    const pageTwo = await inbox(carol!, `?limit=2&before=${encodeURIComponent(pageOne.next_before!)}`);
    expect(pageTwo.mentions.map((m) => m.message.id)).toEqual([named[0]!.id]);
    expect(pageTwo.next_before).toBeNull();
    expectError(await suite.api.get(carol!, '/mentions?before=yesterday'), 400, 'validation_failed');

    expectStatus(await remove(bob!, room.id, named[2]!.id), 200);
    expect((await inbox(carol!)).mentions.map((m) => m.message.id)).toEqual([named[1]!.id, named[0]!.id]);
    expect((await suite.api.del(carol!, `/rooms/${room.id}/members/${carol!.id}`)).status).toBeLessThan(300);
    expect((await inbox(carol!)).mentions).toEqual([]);
  });
});

describe('authorization on a message', () => {
  test('in a room I am not in: edit, delete, react and unreact → 404 room_not_found; the message is untouched', async () => {
    const { bob, roomId, message } = await roomWithMessage();
    const [mallory] = await suite.api.users(1, 'mal');
    expectError(await edit(mallory!, roomId, message.id, 'hacked'), 404, 'room_not_found');
    expectError(await remove(mallory!, roomId, message.id), 404, 'room_not_found');
    expectError(await react(mallory!, roomId, message.id, '👍'), 404, 'room_not_found');
    expectError(await unreact(mallory!, roomId, message.id, '👍'), 404, 'room_not_found');
    expect((await messagesOf(suite.api, bob, roomId))[0]).toEqual(message);
  });

  test('a message id of another room, through a room I am in → 404 message_not_found (edit, delete, react); both messages untouched', async () => {
    const [alice, bob, mallory] = await suite.api.users(3, 'xroom');
    const theirs = await groupRoom(suite.api, alice!, [bob!]);
    const mine = await groupRoom(suite.api, mallory!);
    const secret = await say(suite.api, alice!, theirs.id, 'theirs');
    expectError(await edit(mallory!, mine.id, secret.id, 'hacked'), 404, 'message_not_found');
    expectError(await remove(mallory!, mine.id, secret.id), 404, 'message_not_found');
    expectError(await react(mallory!, mine.id, secret.id, '👍'), 404, 'message_not_found');
    // Even the author, through the wrong room.
    const alicesOther = await groupRoom(suite.api, alice!);
    expectError(await edit(alice!, alicesOther.id, secret.id, 'wrong room'), 404, 'message_not_found');
    expect((await messagesOf(suite.api, bob!, theirs.id))[0]).toEqual(secret);
    expect(await messagesOf(suite.api, mallory!, mine.id)).toEqual([]);
  });

  test('an unknown message id → 404 message_not_found; a non-UUID → 400', async () => {
    const { bob, roomId } = await roomWithMessage();
    const ghost = randomUUID();
    expectError(await edit(bob, roomId, ghost, 'x'), 404, 'message_not_found');
    expectError(await remove(bob, roomId, ghost), 404, 'message_not_found');
    expectError(await react(bob, roomId, ghost, '👍'), 404, 'message_not_found');
    expectError(await edit(bob, roomId, 'not-a-uuid', 'x'), 400);
    expectError(await remove(bob, roomId, 'not-a-uuid'), 400);
    expectError(await react(bob, roomId, 'not-a-uuid', '👍'), 400);
  });

  test('a removed member can no longer edit or delete their own messages there (404)', async () => {
    const { owner, bob, roomId, message } = await roomWithMessage();
    expect((await suite.api.del(owner, `/rooms/${roomId}/members/${bob.id}`)).status).toBe(204);
    expectError(await edit(bob, roomId, message.id, 'after kick'), 404, 'room_not_found');
    expectError(await remove(bob, roomId, message.id), 404, 'room_not_found');
    expect((await messagesOf(suite.api, owner, roomId))[0]).toEqual(message);
  });
});
