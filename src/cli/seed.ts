// `parley seed`: fills a deployment with users, friendships, rooms and
// messages for trying Parley by hand or demoing it (seed-plan.ts decides what
// from the seed). Everything goes through the command path the API uses —
// registration, the chat and social services, the processor, the projectors —
// in-process: events land in the log and the projections build the read
// models. No HTTP is involved, so neither the per-IP registration limit nor
// the per-user command budgets apply. Re-running with the same --seed finds
// what is there (users by username, rooms by name and owner, messages by
// client_msg_id) and adds nothing.

import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { hashPassword, passwordSchema } from '../auth/passwords.ts';
import { startCommandServices, type CommandServices } from '../compose.ts';
import type { Config } from '../config.ts';
import { commandInputs } from '../commands/inputs.ts';
import { findMessageByClientId } from '../queries/messages-queries.ts';
import { groupRoomIdByName } from '../queries/rooms-queries.ts';
import { areFriends, pendingRequestId } from '../queries/social-queries.ts';
import { userIdByUsername } from '../queries/users-queries.ts';
import { parseCount } from './args.ts';
import { progressBar } from './progress-bar.ts';
import type { SeedPlan } from './seed-plan.ts';

export const DEFAULT_SEED_PASSWORD = 'parley-seed-password';

export const seedUsage = `usage: parley seed [options]
  Registers users, befriends them, creates group rooms of friends and posts
  messages (with some replies and reactions), through the same commands as the
  API but in-process: no HTTP, so no registration or command rate limit.
  Friends get their direct rooms as usual. Same --seed again: nothing new.
  Embedded mode: stop the server on PARLEY_DATA_DIR first (see README).
  --users <n>          users (default 20)
  --rooms <n>          group rooms (default 5)
  --messages <n>       messages spread over the rooms (default 200)
  --seed <n>           what faker generates from (default 1)
  --password <p>       every seeded user's password (default ${DEFAULT_SEED_PASSWORD})
  --progress / --no-progress   progress line on stderr (default: on a terminal)`;

export interface SeedArgs {
  users: number;
  rooms: number;
  messages: number;
  seed: number;
  password: string;
  progress?: boolean | undefined;
}

export function parseSeedArgs(args: string[]): SeedArgs {
  const { values } = parseArgs({
    args,
    strict: true,
    allowNegative: true,
    options: {
      users: { type: 'string' },
      rooms: { type: 'string' },
      messages: { type: 'string' },
      seed: { type: 'string' },
      password: { type: 'string' },
      progress: { type: 'boolean' },
    },
  });
  const password = passwordSchema.safeParse(values.password ?? DEFAULT_SEED_PASSWORD);
  if (!password.success) throw new Error(`--password: ${password.error.issues[0]?.message ?? 'not a valid password'}`);
  return {
    users: parseCount(values.users, 'users', 1) ?? 20,
    rooms: parseCount(values.rooms, 'rooms', 0) ?? 5,
    messages: parseCount(values.messages, 'messages', 0) ?? 200,
    seed: parseCount(values.seed, 'seed', 0) ?? 1,
    password: password.data,
    progress: values.progress,
  };
}

export interface SeedResult {
  users: { created: number; total: number };
  friendships: { created: number; total: number };
  rooms: { created: number; total: number };
  messages: { created: number; total: number };
  /** A few usernames to log in with. */
  logins: string[];
}

/** The command as the CLI runs it. */
export async function seedCommand(argv: string[], config: Config, logger: Logger): Promise<void> {
  const args = parseSeedArgs(argv);
  // Loaded here, not at the top: the plan's generator (faker, with its English
  // data) would otherwise load into every `parley` process, servers included
  // (+26 MB of RSS and +16 MB of heap after a GC, measured), for a command an
  // operator runs once.
  const { planSeed } = await import('./seed-plan.ts');
  const services = await startCommandServices(config, logger);
  try {
    const bar = progressBar('seed', args.progress ?? process.stderr.isTTY);
    const result = await seed(services, config, planSeed(args), args.password, bar);
    bar(Number.NaN, Number.NaN);
    const line = (what: keyof Omit<SeedResult, 'logins'>) => `${result[what].total} ${what} (${result[what].created} new)`;
    process.stdout.write(
      `seeded (seed ${args.seed}): ${line('users')}, ${line('friendships')}, ${line('rooms')}, ${line('messages')}\n` +
        `password of every seeded user: ${args.password}\n` +
        `log in as: ${result.logins.join(', ')}\n`,
    );
  } finally {
    await services.stop();
  }
}

/** Writes what `plan` holds and is missing; `progress(done, total)` after each step. */
export async function seed(
  services: CommandServices,
  config: Config,
  plan: SeedPlan,
  password: string,
  progress: (done: number, total: number) => void,
): Promise<SeedResult> {
  const { chat, social, register } = services;
  const db = services.ctx.store.db;
  const inputs = commandInputs(config);
  const total = plan.users.length + plan.friendships.length + plan.rooms.length + plan.messages.length;
  let done = 0;
  const step = () => progress(++done, total);
  const result: SeedResult = {
    users: { created: 0, total: plan.users.length },
    friendships: { created: 0, total: plan.friendships.length },
    rooms: { created: 0, total: plan.rooms.length },
    messages: { created: 0, total: plan.messages.length },
    logins: plan.users.slice(0, 3).map((user) => user.username),
  };

  // One hash for every seeded user (they share the password): bcrypt's cost
  // is paid once, not once per user.
  let passwordHash: string | undefined;
  const userIds: string[] = [];
  for (const user of plan.users) {
    let id = await userIdByUsername(db, user.username);
    if (id === undefined) {
      passwordHash ??= await hashPassword(password, config.PARLEY_BCRYPT_COST);
      id = await register(user, passwordHash);
      result.users.created++;
    }
    userIds.push(id);
    step();
  }

  for (const [a, b] of plan.friendships) {
    const [from, to] = [userIds[a]!, userIds[b]!];
    if (!(await areFriends(db, from, to))) {
      // A request an interrupted run left pending is accepted, not sent again.
      const requestId = (await pendingRequestId(db, from, to)) ?? (await social.sendRequest(from, to)).id;
      await social.answerRequest(to, requestId, 'accept');
      result.friendships.created++;
    }
    step();
  }

  const roomIds: string[] = [];
  for (const room of plan.rooms) {
    const owner = userIds[room.owner]!;
    let id = await groupRoomIdByName(db, owner, room.name);
    if (id === undefined) {
      const input = inputs.createRoom.parse({ name: room.name, member_ids: room.members.map((m) => userIds[m]!) });
      id = (await chat.createRoom(owner, input)).id;
      result.rooms.created++;
    }
    roomIds.push(id);
    step();
  }

  // Rooms in parallel, each room's messages in order (so seqs follow the plan
  // and a reply's message exists before it).
  const messageIds = new Map<number, string>();
  const byRoom = new Map<number, number[]>();
  plan.messages.forEach((message, index) => byRoom.set(message.room, [...(byRoom.get(message.room) ?? []), index]));
  const postRoom = async (indexes: number[]) => {
    for (const index of indexes) {
      const message = plan.messages[index]!;
      const [roomId, sender] = [roomIds[message.room]!, userIds[message.sender]!];
      let id = (await findMessageByClientId(db, roomId, sender, message.client_msg_id))?.id;
      if (id === undefined) {
        const input = inputs.sendMessage.parse({
          client_msg_id: message.client_msg_id,
          content: message.content,
          reply_to: message.reply_to === null ? null : (messageIds.get(message.reply_to) ?? null),
        });
        id = (await chat.sendMessage(sender, roomId, input)).id;
        result.messages.created++;
      }
      messageIds.set(index, id);
      // Reacting again as before changes nothing (the room decider answers with no event).
      for (const reaction of message.reactions) await chat.react(userIds[reaction.user]!, roomId, id, reaction.emoji, true);
      step();
    }
  };
  const queue = [...byRoom.values()];
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await postRoom(next);
  };
  await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
  return result;
}
