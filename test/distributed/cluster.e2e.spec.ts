// Three Parley processes on one Kafka, one MariaDB and one Redis behave as one
// service: users on different instances chat, any instance takes any command,
// and a client's next query on another instance sees its write.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { acceptInvitations, barrier, eventually, fullHistory, historyWith, range1, seqsIn } from '../support/chat.ts';
import { registerUser, request, WsClient, type TestUser } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import type { ErrorBody, FriendRequest, Message, PresenceStatus, Room, Session } from '../support/wire.ts';

const available = await stackAvailable('distributed cluster');

describe.runIf(available)('three instances on Kafka, MariaDB and Redis', () => {
  let cluster: Cluster;
  const url = (i: number) => cluster.nodes[i]!.url;
  const wsUrl = (i: number) => cluster.nodes[i]!.wsUrl;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster('cluster', 3);
    return () => cluster.stop(); // after afterAll below
  }, 180_000);
  afterAll(async () => {
    for (const socket of sockets) await socket.close().catch(() => undefined);
  });

  async function connect(i: number, user: TestUser) {
    const socket = await WsClient.connect(wsUrl(i), user.token);
    sockets.push(socket);
    return socket;
  }

  async function roomOf(owner: TestUser, members: TestUser[], via = 0): Promise<string> {
    const response = await request(url(via), 'POST', '/api/v1/rooms', {
      token: owner.token,
      body: { name: 'cluster room', member_ids: members.map((m) => m.id) },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    await acceptInvitations(url(via), response.body.id as string, members);
    return response.body.id as string;
  }

  test('a user registered on one instance logs in on another; a token from one works on all', async () => {
    const alice = await registerUser(url(0), 'alice');
    const login = await request<Session>(url(1), 'POST', '/api/v1/auth/login', {
      body: { login: alice.username, password: alice.password },
    });
    expect(login.status).toBe(200);
    for (const i of [0, 1, 2]) {
      const me = await request(url(i), 'GET', '/api/v1/users/me', { token: login.body.access_token });
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(alice.id);
    }
  });

  test('read-your-writes across instances: a write on one is at once visible on the next', async () => {
    const [alice, bob] = [await registerUser(url(0), 'ryw'), await registerUser(url(1), 'ryw')];
    for (let round = 0; round < 10; round++) {
      const writeVia = round % 3;
      const readVia = (round + 1) % 3;
      const roomId = await roomOf(alice, [bob], writeVia);
      const room = await request(url(readVia), 'GET', `/api/v1/rooms/${roomId}`, { token: bob.token });
      expect(room.status, `room created via ${writeVia}, read via ${readVia}`).toBe(200);
      const posted = await request(url(writeVia), 'POST', `/api/v1/rooms/${roomId}/messages`, {
        token: alice.token,
        body: { client_msg_id: `r${round}`, content: `round ${round}` },
      });
      expect(posted.status).toBe(201);
      const history = await request<{ messages: Message[] }>(url(readVia), 'GET', `/api/v1/rooms/${roomId}/messages`, {
        token: bob.token,
      });
      expect(history.body.messages.map((m) => m.content)).toEqual([`round ${round}`]);
    }
  });

  test('users on different instances chat: every member socket gets every message once, in seq order', async () => {
    const users = [await registerUser(url(0), 'u0'), await registerUser(url(1), 'u1'), await registerUser(url(2), 'u2')];
    const roomId = await roomOf(users[0]!, users.slice(1));
    const clients = await Promise.all(users.map((user, i) => connect(i, user)));
    // Each user sends 15 messages over their own instance's socket, all at once.
    const acks = await Promise.all(
      clients.flatMap((client, i) =>
        Array.from({ length: 15 }, (_, n) =>
          client.call<{ message: Message }>('SEND_MESSAGE', {
            chat_room_id: roomId,
            content: `from ${i} #${n}`,
            client_msg_id: `c${i}-${n}`,
          }),
        ),
      ),
    );
    expect(acks.every((ack) => ack.type === 'ACK')).toBe(true);
    expect(acks.map((ack) => ack.data.message.seq).sort((a, b) => a - b)).toEqual(range1(45));
    for (const client of clients) {
      await eventually(() => seqsIn(client, roomId).length >= 45, 'all 45 messages delivered', 20_000);
      await barrier(client);
      expect(seqsIn(client, roomId)).toEqual(range1(45));
    }
    const stored = await historyWith(url(2), users[2]!, roomId, 45);
    expect(stored.map((m) => m.seq)).toEqual(range1(45));
  });

  test('commands for one room sent to every instance at once keep seq gapless and client_msg_id unique', async () => {
    const [alice, bob] = [await registerUser(url(0), 'gap'), await registerUser(url(0), 'gap')];
    const roomId = await roomOf(alice, [bob]);
    const posts = await Promise.all(
      Array.from({ length: 30 }, (_, n) =>
        request(url(n % 3), 'POST', `/api/v1/rooms/${roomId}/messages`, {
          token: n % 2 === 0 ? alice.token : bob.token,
          // Every message is sent twice (a client retry on another instance).
          body: { client_msg_id: `m${Math.floor(n / 2)}-${n % 2}`, content: `n${n}` },
        }),
      ),
    );
    expect(posts.every((p) => p.status === 201)).toBe(true);
    const retries = await Promise.all(
      posts.map((p, n) =>
        request(url((n + 1) % 3), 'POST', `/api/v1/rooms/${roomId}/messages`, {
          token: n % 2 === 0 ? alice.token : bob.token,
          body: { client_msg_id: p.body.client_msg_id, content: 'retry' },
        }),
      ),
    );
    expect(retries.map((r) => r.body.id)).toEqual(posts.map((p) => p.body.id));
    const stored = await fullHistory(url(1), alice, roomId);
    expect(stored.map((m) => m.seq)).toEqual(range1(30));
    const rows = await cluster.query<{ n: number }>('select count(*) as n from messages where room_id = ?', [roomId]);
    expect(rows[0]!.n).toBe(30);
  });

  test('presence is shared: a user online on one instance shows online on every instance, offline after', async () => {
    const [alice, bob] = [await registerUser(url(0), 'pres'), await registerUser(url(0), 'pres')];
    await roomOf(alice, [bob]);
    const socket = await connect(2, alice);
    for (const i of [0, 1, 2]) {
      await eventually(async () => {
        const profile = await request<{ status?: PresenceStatus }>(url(i), 'GET', `/api/v1/users/${alice.id}`, {
          token: bob.token,
        });
        return profile.body.status?.online === true;
      }, `alice online as seen via instance ${i}`);
    }
    await socket.close();
    await eventually(async () => {
      const profile = await request<{ status?: PresenceStatus }>(url(0), 'GET', `/api/v1/users/${alice.id}`, {
        token: bob.token,
      });
      return profile.body.status?.online === false && profile.body.status.last_seen_at !== null;
    }, 'alice offline with last_seen_at');
  });

  test('20 concurrent accepts of one friend request through all instances make one friendship', async () => {
    const [alice, bob] = [await registerUser(url(0), 'acc'), await registerUser(url(1), 'acc')];
    const sent = await request<{ request: FriendRequest }>(url(0), 'POST', '/api/v1/friends/requests', {
      token: alice.token,
      body: { user_id: bob.id },
    });
    expect(sent.status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        request<Partial<ErrorBody>>(url(n % 3), 'POST', `/api/v1/friends/requests/${sent.body.request.id}/accept`, {
          token: bob.token,
        }),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status !== 200).every((a) => a.body.error!.code === 'request_not_found')).toBe(true);
    const rows = await cluster.query<{ n: number }>(
      'select count(*) as n from friendships where (user_id = ? and friend_id = ?) or (user_id = ? and friend_id = ?)',
      [alice.id, bob.id, bob.id, alice.id],
    );
    expect(rows[0]!.n).toBe(2);
  });

  test('remove-while-posting across instances: every 201 is stored, nothing after the removal is from the removed member', async () => {
    const [owner, poster] = [await registerUser(url(0), 'rwp'), await registerUser(url(1), 'rwp')];
    const roomId = await roomOf(owner, [poster]);
    const posts = Array.from({ length: 20 }, (_, n) =>
      request<Partial<Message> & Partial<ErrorBody>>(url(n % 3), 'POST', `/api/v1/rooms/${roomId}/messages`, {
        token: poster.token,
        body: { client_msg_id: `p${n}`, content: `p${n}` },
      }),
    );
    const removal = request(url(2), 'DELETE', `/api/v1/rooms/${roomId}/members/${poster.id}`, { token: owner.token });
    const [answers, removed] = await Promise.all([Promise.all(posts), removal]);
    expect(removed.status).toBe(204);
    expect(answers.every((a) => a.status === 201 || a.body.error?.code === 'room_not_found')).toBe(true);
    const accepted = answers.filter((a) => a.status === 201).map((a) => a.body.id as string);
    const stored = await fullHistory(url(0), owner, roomId);
    expect(stored.map((m) => m.seq)).toEqual(range1(stored.length));
    expect(stored.map((m) => m.id).sort()).toEqual([...accepted].sort());
    const after = await request(url(1), 'POST', `/api/v1/rooms/${roomId}/messages`, {
      token: poster.token,
      body: { client_msg_id: 'late', content: 'too late' },
    });
    expect(after.status).toBe(404);
  });

  test('concurrent role changes through all instances leave exactly one outcome and always an owner', async () => {
    const [owner, a, b] = [
      await registerUser(url(0), 'role'),
      await registerUser(url(1), 'role'),
      await registerUser(url(2), 'role'),
    ];
    const roomId = await roomOf(owner, [a, b]);
    const changes = await Promise.all(
      [a, b, a, b, a, b].map((member, n) =>
        request(url(n % 3), 'PATCH', `/api/v1/rooms/${roomId}/members/${member.id}`, {
          token: owner.token,
          body: { role: n < 2 ? 'owner' : n < 4 ? 'admin' : 'member' },
        }),
      ),
    );
    expect(changes.every((c) => c.status === 200 || c.status === 403 || c.status === 409)).toBe(true);
    const room = await request<Room>(url(0), 'GET', `/api/v1/rooms/${roomId}`, { token: owner.token });
    const roles = room.body.members.map((m) => m.role);
    expect(roles).toContain('owner');
    // All instances answer the same membership (one read model).
    for (const i of [1, 2]) {
      const seen = await request(url(i), 'GET', `/api/v1/rooms/${roomId}`, { token: owner.token });
      expect(seen.body.members).toEqual(room.body.members);
    }
  });
});
