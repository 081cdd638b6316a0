// A mass disconnect (a network blip, a gateway shutting down) untracks the
// rooms left without a local member in one pass, not one pass per closing
// user: a pass walks every tracked room, so one per close made it quadratic.
// Real read model (both engines), real membership and presence; the sockets
// are event emitters standing in for ws sockets (only `close` is used).

import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { WebSocket } from 'ws';
import { testEngines } from '../../test/support/engines.ts';
import { createMemoryPresence } from '../infra/presence.ts';
import type { Store } from '../store/store.ts';
import { createConnections } from './connections.ts';
import { createMembership } from './membership.ts';
import { roomReads } from '../queries/room-reads.ts';
import type { RoomViews } from './room-views.ts';
import { SessionRegistry } from './sessions.ts';
import type { Typing } from './typing.ts';

const ROOMS = 20;
const MEMBERS = 5;

for (const engine of await testEngines('connections'))
  describe.runIf(engine.available)(`a mass disconnect on ${engine.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await engine.open();
    });
    afterEach(async () => {
      await store.db.destroy();
      await engine.dispose();
    });

    test('untracks every room left without a local member, in one pass over the tracked rooms', async () => {
      const userOf = (room: number, member: number) => `user-${room}-${member}`;
      const rows = [];
      for (let room = 0; room < ROOMS; room++) {
        for (let member = 0; member < MEMBERS; member++) {
          rows.push({
            room_id: `room-${room}`,
            user_id: userOf(room, member),
            role: 'member' as const,
            joined_at: 1,
            last_read_seq: 0,
          });
        }
      }
      await store.db.insertInto('room_members').values(rows).execute();

      const logger = pino({ level: 'silent' });
      const sessions = new SessionRegistry();
      const rooms = roomReads(store.db);
      const membership = createMembership({ rooms, readModelCaughtUp: () => Promise.resolve(true), logger });
      let passes = 0;
      const prune = membership.prune.bind(membership);
      membership.prune = (isConnected) => {
        passes++;
        prune(isConnected);
      };
      const connect = createConnections({
        rooms,
        sessions,
        presence: createMemoryPresence({ leaseMs: 60_000 }),
        membership,
        views: { leave: () => undefined } as unknown as RoomViews,
        typing: { stopAll: () => undefined } as unknown as Typing,
        publish: () => undefined,
        partitionOf: () => 0,
        logEnds: { afterNow: () => Promise.resolve([]) },
        rateBurst: 10,
        logger,
      });

      const sockets: EventEmitter[] = [];
      for (let room = 0; room < ROOMS; room++) {
        for (let member = 0; member < MEMBERS; member++) {
          const socket = new EventEmitter();
          sockets.push(socket);
          const identity = { userId: userOf(room, member), sessionId: null, expiresAt: Infinity, rooms: null };
          await connect(socket as unknown as WebSocket, new PassThrough(), identity);
        }
      }
      for (let room = 0; room < ROOMS; room++) expect(membership.isTracked(`room-${room}`)).toBe(true);

      // Room 0 keeps one member connected; everyone else goes at once.
      for (const socket of sockets.slice(1)) socket.emit('close');
      await new Promise((resolve) => setImmediate(resolve));

      expect(passes).toBe(1);
      expect(membership.isTracked('room-0')).toBe(true);
      for (let room = 1; room < ROOMS; room++) expect(membership.isTracked(`room-${room}`)).toBe(false);

      // A later close is pruned on its own turn.
      sockets[0]!.emit('close');
      await new Promise((resolve) => setImmediate(resolve));
      expect(passes).toBe(2);
      expect(membership.isTracked('room-0')).toBe(false);
    });
  });
