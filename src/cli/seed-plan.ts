// What `parley seed` creates, decided from the seed alone before anything is
// written: the same seed always gives the same users, friendships, rooms and
// messages (faker's generator is seeded), which is what makes a re-run find
// everything already there instead of adding it again.

import { base, en, Faker } from '@faker-js/faker';
import { normalizeUsername, RESERVED_USERNAMES } from '../auth/usernames.ts';

export interface SeedSize {
  users: number;
  rooms: number;
  messages: number;
  seed: number;
}

export interface PlannedUser {
  username: string;
  email: string;
  display_name: string;
}

export interface PlannedRoom {
  name: string;
  /** Index into users; the creator, who is friends with every member. */
  owner: number;
  members: number[];
}

export interface PlannedMessage {
  room: number;
  sender: number;
  /** Unique per seed and position: the processor answers a repeated one with the first message. */
  client_msg_id: string;
  content: string;
  /** Index of an earlier message of the same room this one answers. */
  reply_to: number | null;
  reactions: { user: number; emoji: string }[];
}

export interface SeedPlan {
  users: PlannedUser[];
  /** Pairs of user indexes; the first sends the request, the second accepts it. */
  friendships: [number, number][];
  rooms: PlannedRoom[];
  messages: PlannedMessage[];
}

/** Each user befriends the next few (a ring), so every room's owner has friends to bring in. */
const FRIENDS_AHEAD = 3;
const EMOJIS = ['👍', '❤️', '😂', '🎉', '👀', '🚀'];

/** A valid, unreserved username (usernames.ts) from faker's suggestion, unique within `taken`. */
function usernameFrom(suggestion: string, taken: Set<string>): string {
  let base = normalizeUsername(suggestion)
    .replace(/[^a-z0-9_.]/g, '')
    .slice(0, 28);
  if (base.length < 3 || RESERVED_USERNAMES.has(base)) base = `user_${base}`.slice(0, 28);
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
  taken.add(name);
  return name;
}

export function planSeed(size: SeedSize): SeedPlan {
  const faker = new Faker({ locale: [en, base], seed: size.seed });
  const taken = new Set<string>();
  const users = Array.from({ length: size.users }, () => {
    const firstName = faker.person.firstName();
    const lastName = faker.person.lastName();
    const username = usernameFrom(faker.internet.username({ firstName, lastName }), taken);
    return { username, email: `${username}@example.com`, display_name: `${firstName} ${lastName}` };
  });

  const friendships: [number, number][] = [];
  const seen = new Set<string>();
  for (let a = 0; a < users.length; a++) {
    for (let step = 1; step <= Math.min(FRIENDS_AHEAD, users.length - 1); step++) {
      const b = (a + step) % users.length;
      const key = [Math.min(a, b), Math.max(a, b)].join(':');
      if (seen.has(key)) continue;
      seen.add(key);
      friendships.push([a, b]);
    }
  }
  const friendsOf = (user: number) =>
    friendships.flatMap(([a, b]) => (a === user ? [b] : b === user ? [a] : [])).sort((x, y) => x - y);

  const roomNames = new Set<string>();
  const rooms = Array.from({ length: users.length === 0 ? 0 : size.rooms }, (_, index) => {
    let name = `${faker.word.adjective()} ${faker.word.noun()}`.replace(/^./, (c) => c.toUpperCase());
    for (let n = 2; roomNames.has(name); n++) name = `${name} ${n}`;
    roomNames.add(name);
    const owner = index % users.length;
    const friends = friendsOf(owner);
    const members = faker.helpers.arrayElements(friends, { min: Math.min(1, friends.length), max: friends.length });
    return { name, owner, members: [owner, ...members] };
  });

  const messages: PlannedMessage[] = [];
  const byRoom: number[][] = rooms.map(() => []);
  for (let index = 0; index < (rooms.length === 0 ? 0 : size.messages); index++) {
    const room = faker.number.int({ min: 0, max: rooms.length - 1 });
    const members = rooms[room]!.members;
    const earlier = byRoom[room]!;
    const replies = earlier.length > 0 && faker.datatype.boolean({ probability: 0.15 });
    const reacted = faker.datatype.boolean({ probability: 0.2 });
    messages.push({
      room,
      sender: faker.helpers.arrayElement(members),
      client_msg_id: `seed-${size.seed}-${index}`,
      content: faker.helpers.arrayElement([
        () => faker.lorem.sentence(),
        () => faker.hacker.phrase(),
        () => faker.company.catchPhrase(),
        () => faker.lorem.sentences({ min: 2, max: 4 }),
      ])(),
      reply_to: replies ? faker.helpers.arrayElement(earlier) : null,
      reactions: reacted
        ? faker.helpers
            .arrayElements(members, { min: 1, max: Math.min(3, members.length) })
            .map((user) => ({ user, emoji: faker.helpers.arrayElement(EMOJIS) }))
        : [],
    });
    earlier.push(index);
  }
  return { users, friendships, rooms, messages };
}
