// The edge of resume (issue 17, item 6): a socket that missed more messages than
// PARLEY_REPLAY_MAX gets exactly that many after JOIN_ROOM's since_seq, then the
// live ones; it pages the rest over REST up to JOIN_SUCCESS's last_seq, and the
// two together hold every message once, with no gap — the contract API.md gives
// a client that was away.

import { expect, test } from 'vitest';
import { barrier, createRoom, range1, seqsIn } from '../support/chat.ts';
import { messagesOf, say, useParley } from '../support/social.ts';
import type { Message } from '../support/wire.ts';

const REPLAY_MAX = 5;
const suite = useParley({ PARLEY_REPLAY_MAX: String(REPLAY_MAX) });

test('a resume past the replay limit: exactly the limit replayed, live messages after, REST pages the gap, nothing twice', async () => {
  const [alice, bob] = await suite.api.users(2, 'resume');
  const roomId = await createRoom(suite.api.url, alice!, [bob!]);
  for (let i = 1; i <= 12; i++) await say(suite.api, alice!, roomId, `before ${i}`);

  // Bob was away since seq 2: ten messages missed, twice the replay limit.
  const bobWs = await suite.connect(bob!);
  await barrier(bobWs);
  expect(seqsIn(bobWs, roomId)).toEqual([]);
  const join = await bobWs.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: 2 });
  expect(join.type).toBe('JOIN_SUCCESS');
  expect(join.data.last_seq).toBe(12);

  // Live messages while bob pages the rest.
  for (let i = 13; i <= 14; i++) await say(suite.api, alice!, roomId, `live ${i}`);
  await bobWs.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId && frame.data.seq === 14);
  await barrier(bobWs);
  // The replay is the oldest REPLAY_MAX after since_seq, then live: no duplicate, in order.
  expect(seqsIn(bobWs, roomId)).toEqual([3, 4, 5, 6, 7, 13, 14]);

  // The gap is paged over REST from the last replayed seq up to last_seq.
  const page = await suite.api.get<{ messages: Message[] }>(bob!, `/rooms/${roomId}/messages?after_seq=7&limit=100`);
  expect(page.status).toBe(200);
  const paged = page.body.messages.map((m) => m.seq).filter((seq) => seq <= (join.data.last_seq as number));
  expect(paged).toEqual([8, 9, 10, 11, 12]);

  const held = [...seqsIn(bobWs, roomId), ...paged].sort((a, b) => a - b);
  expect(held).toEqual(range1(14).slice(2));
  expect((await messagesOf(suite.api, bob!, roomId)).map((m) => m.seq)).toEqual(range1(14));
});
