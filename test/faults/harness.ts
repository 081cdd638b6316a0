// The workload and the checker of the fault suites.
//
// `ChatLoad` plays several users chatting in a few rooms of a cluster, the way
// real clients do: each user keeps one WebSocket open (heartbeat PING; when it
// dies or stops answering, the user reconnects to another instance and sends
// JOIN_ROOM with since_seq = the last seq it had seen of each room) and sends
// messages one after another, alternating WS SEND_MESSAGE (ACK) and REST POST
// (201). A send that fails or times out is retried with the same
// client_msg_id until it is acknowledged, as a real client does. Every
// acknowledgement, every error and every delivery is recorded.
//
// `checkInvariants` then checks, per room (research/reliability.md, Part 2):
//   I1  every acknowledged message is in the read model exactly once, with the
//       acknowledged seq and id (direct query and REST history agree);
//   I2  no (sender, client_msg_id) twice; I7 every ack of a retried id agrees;
//   I3  seq is exactly 1..N; I4 no row that was never sent;
//   I5  every member's sockets together received 1..N, each exactly once.
// It returns the violations as readable lines (empty = all hold).

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import WebSocket from 'ws';
import { murmur2Partition } from '../../src/log/port.ts';
import { acceptInvitations, fullHistory, range1 } from '../support/chat.ts';
import { registerUser, type Frame, type TestUser } from '../support/client.ts';
import type { JsonObject } from '../support/wire.ts';
import type { Cluster } from '../support/cluster.ts';
import type { ParleyProcess } from '../support/server.ts';
import { run } from './stack.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until true; throws after `timeoutMs` with `what` (and `detail()` when given). */
export async function within(
  timeoutMs: number,
  what: string,
  check: () => boolean | Promise<boolean>,
  detail?: () => string,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${detail ? `\n${detail()}` : ''}`);
    await sleep(50);
  }
  return Date.now() - started;
}

export const alive = (node: ParleyProcess): boolean => node.child.exitCode === null && node.child.signalCode === null;

// ---------------------------------------------------------------- one socket

/** A WebSocket to one instance, authenticated, with bounded calls. */
/** A reply frame: an ERROR's data names its `code`; some replies carry no data (PONG). */
type Reply = Frame<(JsonObject & { code?: string }) | undefined>;

class Conn {
  readonly socket: WebSocket;
  readonly node: ParleyProcess;
  readonly closed: Promise<void>;
  #open = true;

  private constructor(socket: WebSocket, node: ParleyProcess) {
    this.socket = socket;
    this.node = node;
    socket.setMaxListeners(0);
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#open = false;
        resolve();
      }),
    );
  }

  /**
   * A call, not a getter: TypeScript keeps a property's narrowing across an
   * await, so a second check of an `open` property after one would look like dead code.
   */
  isOpen(): boolean {
    return this.#open && this.socket.readyState === WebSocket.OPEN;
  }

  /** Opens and authenticates (AUTH_SUCCESS) within `timeoutMs`, or rejects (and drops the socket). */
  static open(node: ParleyProcess, token: string, onFrame: (frame: Frame) => void, timeoutMs: number): Promise<Conn> {
    const socket = new WebSocket(`${node.wsUrl}?token=${encodeURIComponent(token)}`);
    const conn = new Conn(socket, node);
    return new Promise((resolve, reject) => {
      const fail = (reason: string) => {
        clearTimeout(timer);
        socket.terminate();
        reject(new Error(reason));
      };
      const timer = setTimeout(() => fail('connect timeout'), timeoutMs);
      socket.once('unexpected-response', (_req, res) => fail(`handshake refused: ${res.statusCode}`));
      socket.once('error', (error) => fail(`connect failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
      socket.once('close', () => fail('closed before AUTH_SUCCESS'));
      socket.on('message', (raw) => {
        // A Buffer: ws's default binaryType is 'nodebuffer'.
        const frame = JSON.parse((raw as Buffer).toString()) as Frame;
        if (frame.type === 'AUTH_SUCCESS') {
          clearTimeout(timer);
          socket.removeAllListeners('unexpected-response');
          resolve(conn);
        }
        onFrame(frame);
      });
    });
  }

  /** Sends a frame with a fresh ref; resolves with the reply, rejects on timeout or close. */
  call(type: string, data: unknown, timeoutMs: number): Promise<Reply> {
    const ref = randomUUID();
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.socket.off('message', onMessage);
        this.socket.off('close', onClose);
      };
      const onMessage = (raw: WebSocket.RawData) => {
        // A Buffer: ws's default binaryType is 'nodebuffer'.
        const frame = JSON.parse((raw as Buffer).toString()) as Reply;
        if (frame.ref !== ref) return;
        cleanup();
        resolve(frame);
      };
      const onClose = () => {
        cleanup();
        reject(new Error('socket closed'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error('reply timeout'));
      }, timeoutMs);
      this.socket.on('message', onMessage);
      this.socket.once('close', onClose);
      if (!this.isOpen()) {
        onClose();
        return;
      }
      this.socket.send(JSON.stringify({ type, ref, timestamp: Date.now(), data }));
    });
  }

  drop(): void {
    this.socket.terminate();
  }
}

// ---------------------------------------------------------------- the load

export interface Ack {
  roomId: string;
  senderId: string;
  clientMsgId: string;
  seq: number;
  id: string;
  /** The instance that acknowledged it. */
  node: string;
  via: 'ws' | 'rest';
  at: number;
}

interface Delivery {
  seq: number;
  /** Which of the user's sockets (0, 1, …) received it. */
  socket: number;
  node: string;
}

export interface LoadOptions {
  /** Each user and the rooms it sends to (it must be a member). */
  users: { user: TestUser; rooms: string[] }[];
  /** Pause between a user's messages. */
  paceMs?: number;
  /** How long one message is retried before the client gives up on it. */
  giveUpMs?: number;
  /** Timeout of one attempt (WS reply or HTTP response). */
  attemptTimeoutMs?: number;
}

const key = (senderId: string, clientMsgId: string) => `${senderId}/${clientMsgId}`;

class LoadUser {
  readonly user: TestUser;
  readonly rooms: string[];
  readonly index: number;
  conn: Conn | null = null;
  /** The socket is authenticated and every room is JOINed (resumed). */
  ready = false;
  sockets = 0;
  /** NEW_MESSAGE seqs per room, across all of this user's sockets, in arrival order. */
  readonly deliveries = new Map<string, Delivery[]>();
  /** ms from losing a socket to being resumed on another one. */
  readonly resumeTimes: number[] = [];
  readonly #load: ChatLoad;
  #supervisor: Promise<void> = Promise.resolve();
  #sender: Promise<void> = Promise.resolve();
  #nextNode: number;
  #restNode: number;

  constructor(load: ChatLoad, user: TestUser, rooms: string[], index: number) {
    this.#load = load;
    this.user = user;
    this.rooms = rooms;
    this.index = index;
    this.#nextNode = index;
    this.#restNode = index + 1;
    for (const room of rooms) this.deliveries.set(room, []);
  }

  maxSeen(roomId: string): number {
    let max = 0;
    for (const d of this.deliveries.get(roomId) ?? []) max = Math.max(max, d.seq);
    return max;
  }

  start(): void {
    this.#supervisor = this.#supervise();
    this.#sender = this.#sendLoop();
  }

  /** Moves this user's socket away from where it is (it reconnects to the next instance). */
  dropSocket(): void {
    this.conn?.drop();
  }

  sending(): Promise<void> {
    return this.#sender;
  }

  async close(): Promise<void> {
    this.conn?.drop();
    await this.#supervisor;
  }

  #onFrame(socket: number, node: string, frame: Frame): void {
    if (frame.type !== 'NEW_MESSAGE') return;
    const list = this.deliveries.get(frame.data.room_id as string);
    if (list !== undefined) list.push({ seq: frame.data.seq as number, socket, node });
  }

  async #connectSomewhere(): Promise<Conn | null> {
    for (let attempt = 0; !this.#load.closing; attempt++) {
      const nodes = this.#load.usableNodes();
      if (nodes.length > 0) {
        const node = nodes[this.#nextNode++ % nodes.length]!;
        const socket = this.sockets;
        try {
          const conn = await Conn.open(node, this.user.token, (frame) => this.#onFrame(socket, node.url, frame), 5_000);
          this.sockets++;
          return conn;
        } catch (error) {
          this.#load.count(`ws connect: ${(error as Error).message}`);
        }
      }
      await sleep(Math.min(1_000, 100 * 2 ** Math.min(attempt, 4)));
    }
    return null;
  }

  async #supervise(): Promise<void> {
    let lostAt: number | null = null;
    while (!this.#load.closing) {
      // Where this client stands, taken before the new socket can receive anything.
      const since = new Map(this.rooms.map((room) => [room, this.maxSeen(room)]));
      const conn = await this.#connectSomewhere();
      if (conn === null) return;
      this.conn = conn;
      try {
        for (const room of this.rooms) await this.#join(conn, room, since.get(room)!);
        this.ready = true;
        if (lostAt !== null) this.resumeTimes.push(Date.now() - lostAt);
        await this.#heartbeat(conn);
      } catch (error) {
        this.#load.count(`ws session: ${(error as Error).message}`);
      }
      this.ready = false;
      this.conn = null;
      conn.drop();
      lostAt = Date.now();
    }
  }

  /** JOIN_ROOM with since_seq, retried on the same socket while the server answers with an error. */
  async #join(conn: Conn, room: string, since: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const reply = await conn.call('JOIN_ROOM', { chat_room_id: room, since_seq: since }, 10_000);
      if (reply.type === 'JOIN_SUCCESS') return;
      this.#load.count(`JOIN_ROOM: ${reply.type} ${reply.data?.code ?? ''}`);
      if (attempt >= 20 || this.#load.closing) throw new Error(`JOIN_ROOM kept failing: ${JSON.stringify(reply.data)}`);
      await sleep(500);
    }
  }

  /** PINGs every second; returns when the socket closes or a PONG takes longer than 5 s. */
  async #heartbeat(conn: Conn): Promise<void> {
    while (conn.isOpen() && !this.#load.closing) {
      const tick = sleep(1_000);
      const closed = conn.closed.then(() => 'closed' as const);
      if ((await Promise.race([tick, closed])) === 'closed') return;
      if (!conn.isOpen()) return;
      try {
        await conn.call('PING', {}, 5_000);
      } catch (error) {
        this.#load.count(`ws heartbeat: ${(error as Error).message}`);
        return;
      }
    }
  }

  /**
   * Two lanes, as a real client has: messages typed into an open socket go
   * over it while a REST call of the same user hangs (a REST answer waits for
   * the read model; a WS ACK does not). One lane alternating both would stall
   * the socket's messages behind every stuck REST call. Each lane sends every
   * second pace, so the user's rate is one message per pace.
   */
  async #sendLoop(): Promise<void> {
    await Promise.all((['ws', 'rest'] as const).map((via) => this.#lane(via)));
  }

  async #lane(via: 'ws' | 'rest'): Promise<void> {
    for (let n = 0; !this.#load.stopping; n++) {
      const room = this.rooms[(n + this.index) % this.rooms.length]!;
      const clientMsgId = `${this.#load.tag}-u${this.index}-${via}${n}`;
      await this.send(room, clientMsgId, via);
      await sleep(this.#load.paceMs * 2);
    }
  }

  /**
   * `ready` read through a call: TypeScript keeps a property's narrowing across
   * an await, so a check after waiting for the socket would look like dead code.
   */
  #readyNow(): boolean {
    return this.ready;
  }

  /**
   * Sends one message until it is acknowledged (or the client gives up).
   * `firstNode`: the first attempt goes over REST to this instance, whatever
   * its state (a client that does not know it is paused).
   */
  async send(roomId: string, clientMsgId: string, via: 'ws' | 'rest', firstNode?: ParleyProcess): Promise<void> {
    const load = this.#load;
    load.attempted.set(key(this.user.id, clientMsgId), { roomId, senderId: this.user.id, clientMsgId });
    const content = `message ${clientMsgId}`;
    const giveUpAt = Date.now() + load.giveUpMs;
    for (let attempt = 1; ; attempt++) {
      let how = via;
      const forced = attempt === 1 ? firstNode : undefined;
      if (forced !== undefined) how = 'rest';
      if (how === 'ws' && !this.ready) {
        // Wait a little for the socket to come back; else this attempt goes over REST.
        await within(3_000, 'socket', () => this.ready).catch(() => undefined);
        if (!this.#readyNow()) how = 'rest';
      }
      try {
        if (how === 'ws') {
          const conn = this.conn!;
          const reply = await conn.call(
            'SEND_MESSAGE',
            { chat_room_id: roomId, content, client_msg_id: clientMsgId },
            load.attemptTimeoutMs,
          );
          if (reply.type === 'ACK') {
            load.record(reply.data!.message as JsonObject | undefined, this.user.id, clientMsgId, conn.node.url, 'ws');
            return;
          }
          load.count(`ws SEND_MESSAGE: ${reply.type} ${reply.data?.code ?? ''}`);
        } else {
          const nodes = load.usableNodes();
          const node = forced ?? nodes[this.#restNode % Math.max(1, nodes.length)];
          if (node === undefined) throw new Error('no instance');
          const response = await fetch(`${node.url}/api/v1/rooms/${roomId}/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${this.user.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ client_msg_id: clientMsgId, content }),
            signal: AbortSignal.timeout(load.attemptTimeoutMs),
          });
          const text = await response.text();
          const body = text === '' ? undefined : JSON.parse(text);
          if (response.status === 201) {
            load.record(body, this.user.id, clientMsgId, node.url, 'rest');
            return;
          }
          load.count(`rest POST: ${response.status} ${body?.error?.code ?? ''}`);
          this.#restNode++;
        }
      } catch (error) {
        const cause = (error as Error & { cause?: { code?: string } }).cause?.code;
        const reason = cause ?? ((error as Error).name === 'TimeoutError' ? 'timeout' : (error as Error).message);
        load.count(`${how} send: ${reason}`);
        if (how === 'rest') this.#restNode++;
      }
      if (Date.now() > giveUpAt) {
        load.gaveUp.push({ roomId, senderId: this.user.id, clientMsgId });
        return;
      }
      await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));
    }
  }
}

export class ChatLoad {
  readonly cluster: Cluster;
  readonly tag = randomUUID().slice(0, 8);
  readonly users: LoadUser[];
  readonly paceMs: number;
  readonly giveUpMs: number;
  readonly attemptTimeoutMs: number;
  readonly acks: Ack[] = [];
  /** Every message a client tried to send (acknowledged or not). */
  readonly attempted = new Map<string, { roomId: string; senderId: string; clientMsgId: string }>();
  /** Messages the client gave up on without an acknowledgement (indeterminate). */
  readonly gaveUp: { roomId: string; senderId: string; clientMsgId: string }[] = [];
  /** Errors and failed attempts seen by clients, by kind. */
  readonly errors = new Map<string, number>();
  /** Wrong acknowledgements (a reply for another message). */
  readonly wrongAcks: string[] = [];
  /** Instances that exited while the load ran: how, and their last words. */
  readonly deaths: string[] = [];
  readonly #watched = new WeakSet<ParleyProcess>();
  /** Instances clients must not pick (e.g. a paused one). */
  readonly avoid = new Set<ParleyProcess>();
  readonly marks: { label: string; at: number }[] = [];
  stopping = false;
  closing = false;
  readonly startedAt = Date.now();

  constructor(cluster: Cluster, options: LoadOptions) {
    this.cluster = cluster;
    this.paceMs = options.paceMs ?? 60;
    this.giveUpMs = options.giveUpMs ?? 180_000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 20_000;
    this.users = options.users.map(({ user, rooms }, i) => new LoadUser(this, user, rooms, i));
    this.#watch();
  }

  /** Records how an instance ends (it should not, but for a deliberate kill). */
  #watch(): void {
    for (const [index, node] of this.cluster.nodes.entries()) {
      if (this.#watched.has(node)) continue;
      this.#watched.add(node);
      let stderr = '';
      node.child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      node.child.once('exit', (code, signal) => {
        if (this.closing) return;
        const last = node.logs
          .slice(-12)
          .map((entry) => JSON.stringify(entry).slice(0, 400))
          .join('\n      ');
        this.deaths.push(
          `instance ${index} (${node.url}) exited: code ${code} signal ${signal} at ${((Date.now() - this.startedAt) / 1000).toFixed(1)}s` +
            `\n    stderr: ${stderr.trim() || '(empty)'}\n    last log lines:\n      ${last}`,
        );
      });
    }
  }

  /** Instances a client may connect or post to now: alive and not avoided. */
  usableNodes(): ParleyProcess[] {
    this.#watch();
    return this.cluster.nodes.filter((node) => alive(node) && !this.avoid.has(node));
  }

  count(kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  mark(label: string): void {
    this.marks.push({ label, at: Date.now() });
  }

  record(
    message: Record<string, unknown> | undefined,
    senderId: string,
    clientMsgId: string,
    node: string,
    via: 'ws' | 'rest',
  ): void {
    if (message === undefined || message.client_msg_id !== clientMsgId || message.sender_id !== senderId) {
      this.wrongAcks.push(`${via} ack for ${clientMsgId} from ${node} carried ${JSON.stringify(message)}`);
      return;
    }
    this.acks.push({
      roomId: message.room_id as string,
      senderId,
      clientMsgId,
      seq: message.seq as number,
      id: message.id as string,
      node,
      via,
      at: Date.now(),
    });
  }

  /** Connects every user (bounded) and starts sending. */
  async start(): Promise<void> {
    for (const user of this.users) user.start();
    await within(60_000, 'every user connected and joined', () => this.users.every((u) => u.ready));
    this.mark('load started');
  }

  /** Waits until `n` more acknowledgements arrived (from now). */
  async progress(n: number, timeoutMs: number, what = `${n} more acknowledgements`): Promise<number> {
    const target = this.acks.length + n;
    return within(
      timeoutMs,
      what,
      () => this.acks.length >= target,
      () => this.summary(),
    );
  }

  /** Stops sending; waits for the messages in flight to be acknowledged (or given up) and every socket to be resumed. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.mark('load stopping');
    await Promise.all(this.users.map((u) => u.sending()));
    await within(
      90_000,
      'every user resumed on a socket',
      () => this.users.every((u) => u.ready),
      () => this.summary(),
    );
    this.mark('load stopped');
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.closing = true;
    await Promise.all(this.users.map((u) => u.close()));
  }

  /** The longest stretch without any acknowledgement (of `roomId`, or of any room), and where it began. */
  longestAckGap(roomId?: string): { ms: number; from: number } {
    const acks = roomId === undefined ? this.acks : this.acks.filter((a) => a.roomId === roomId);
    const times = [this.startedAt, ...acks.map((a) => a.at).sort((a, b) => a - b)];
    let best = { ms: 0, from: this.startedAt };
    for (let i = 1; i < times.length; i++) {
      if (times[i]! - times[i - 1]! > best.ms) best = { ms: times[i]! - times[i - 1]!, from: times[i - 1]! };
    }
    return best;
  }

  /** Error-level log lines of every instance since the load started, by message and error. */
  serverErrors(): string {
    const counts = new Map<string, number>();
    for (const node of this.cluster.nodes) {
      for (const entry of node.logs) {
        if (typeof entry.level !== 'number' || entry.level < 50 || (entry.time as number) < this.startedAt) continue;
        const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
        // A bug, not an outage: where it was thrown, so the note can say.
        const where = /^(TypeError|ReferenceError|RangeError)$/.test(err?.type ?? '')
          ? ` at ${(err?.stack ?? '')
              .split('\n')
              .slice(1, 4)
              .map((line) => line.trim().replace(/^at /, ''))
              .join(' < ')}`
          : '';
        const what = `${String(entry.msg)}${err ? ` (${err.type}: ${String(err.message).slice(0, 80)}${where})` : ''}`;
        counts.set(what, (counts.get(what) ?? 0) + 1);
      }
    }
    return [...counts].map(([what, n]) => `${what} ×${n}`).join('; ');
  }

  /** What clients saw that is not a retryable answer: any 5xx but 503, a WS ERROR other than unavailable/read_model_lagging. */
  nonRetryableErrors(): string[] {
    return [...this.errors.keys()].filter(
      (kind) =>
        (/^rest POST: \d+/.test(kind) && !kind.startsWith('rest POST: 503')) ||
        (kind.startsWith('ws SEND_MESSAGE: ERROR') && !/ERROR (unavailable|read_model_lagging)/.test(kind)),
    );
  }

  /** ms from `at` to the first acknowledgement after it (of `roomId`, or of any room), or null. */
  firstAckAfter(at: number, roomId?: string): number | null {
    const next = this.acks
      .filter((a) => a.at >= at && (roomId === undefined || a.roomId === roomId))
      .map((a) => a.at)
      .sort((a, b) => a - b)[0];
    return next === undefined ? null : next - at;
  }

  summary(): string {
    const rel = (t: number) => `${((t - this.startedAt) / 1000).toFixed(1)}s`;
    const gap = this.longestAckGap();
    const byVia = { ws: 0, rest: 0 };
    for (const ack of this.acks) byVia[ack.via]++;
    const resumes = this.users.flatMap((u) => u.resumeTimes);
    return [
      `acks: ${this.acks.length} (ws ${byVia.ws}, rest ${byVia.rest}); distinct messages attempted: ${this.attempted.size}; given up: ${this.gaveUp.length}`,
      `marks: ${this.marks.map((m) => `${m.label}@${rel(m.at)}`).join(', ')}`,
      `longest stretch without an ack: ${gap.ms} ms from ${rel(gap.from)}; per room: ${[
        ...new Set(this.users.flatMap((u) => u.rooms)),
      ]
        .map((room, i) => {
          const g = this.longestAckGap(room);
          return `room ${i} ${g.ms} ms from ${rel(g.from)}`;
        })
        .join(', ')}`,
      `sockets per user: ${this.users.map((u) => u.sockets).join(',')}; resumes: ${resumes.length}, slowest ${Math.max(0, ...resumes)} ms`,
      `client-side errors: ${[...this.errors].map(([k, v]) => `${k} ×${v}`).join('; ') || 'none'}`,
      `server-side errors logged: ${this.serverErrors() || 'none'}`,
      ...(this.deaths.length > 0 ? [`instances that exited:\n  ${this.deaths.join('\n  ')}`] : []),
    ].join('\n');
  }
}

// ---------------------------------------------------------------- the checks

/** A query on a fresh connection (the cluster's own one does not survive a MariaDB restart). */
export async function dbQuery<T>(cluster: Cluster, sql: string, params: unknown[] = []): Promise<T[]> {
  const connection = await mysql.createConnection({ uri: cluster.env.DATABASE_URL!, connectTimeout: 5_000 });
  try {
    const [rows] = await connection.query(sql, params);
    return rows as T[];
  } finally {
    await connection.end().catch(() => undefined);
  }
}

interface Row {
  id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
}

/**
 * Checks I1–I5 and I7 for `rooms` after the load stopped. Waits (bounded) for
 * the read model and the sockets to catch up first. Returns the violations.
 */
export async function checkInvariants(load: ChatLoad, rooms: string[], reader: TestUser): Promise<string[]> {
  const problems: string[] = [...load.wrongAcks];
  // Instances must survive the faults (the tests only ever end one with SIGKILL).
  for (const death of load.deaths) if (!death.includes('signal SIGKILL')) problems.push(`crash: ${death}`);
  const cluster = load.cluster;

  // I7: every acknowledgement of one (sender, client_msg_id) names the same message.
  const acked = new Map<string, Ack>();
  for (const ack of load.acks) {
    const k = key(ack.senderId, ack.clientMsgId);
    const first = acked.get(k);
    if (first === undefined) acked.set(k, ack);
    else if (first.seq !== ack.seq || first.id !== ack.id) {
      problems.push(`I7 ${ack.clientMsgId}: acked as seq ${first.seq} (${first.id}) and as seq ${ack.seq} (${ack.id})`);
    }
  }
  for (const lost of load.gaveUp) problems.push(`liveness: client gave up on ${lost.clientMsgId} (never acknowledged)`);

  for (const roomId of rooms) {
    const expected = [...acked.values()].filter((a) => a.roomId === roomId);
    // The read model catches up (bounded): at least every acknowledged message.
    let rows: Row[] = [];
    await within(60_000, `read model of room ${roomId} has ${expected.length} messages`, async () => {
      rows = await dbQuery<Row>(
        cluster,
        'select id, seq, sender_id, client_msg_id from messages where room_id = ? order by seq',
        [roomId],
      ).catch(() => []);
      return rows.length >= expected.length;
    }).catch((error: unknown) => problems.push(error instanceof Error ? error.message : String(error)));
    // Let a straggler (an indeterminate retry) land before judging the tail.
    await sleep(500);
    rows = await dbQuery<Row>(cluster, 'select id, seq, sender_id, client_msg_id from messages where room_id = ? order by seq', [
      roomId,
    ]);

    const seqs = rows.map((r) => r.seq);
    const n = rows.length;
    if (seqs.join(',') !== range1(n).join(',')) problems.push(`I3 room ${roomId}: seqs are not 1..${n}: ${compress(seqs)}`);
    const byKey = new Map<string, Row>();
    for (const row of rows) {
      const k = key(row.sender_id, row.client_msg_id);
      if (byKey.has(k))
        problems.push(
          `I2 room ${roomId}: ${row.client_msg_id} of ${row.sender_id} stored twice (seq ${byKey.get(k)!.seq} and ${row.seq})`,
        );
      byKey.set(k, row);
      if (!load.attempted.has(k)) problems.push(`I4 room ${roomId}: row seq ${row.seq} (${row.client_msg_id}) was never sent`);
    }
    for (const ack of expected) {
      const row = byKey.get(key(ack.senderId, ack.clientMsgId));
      if (row === undefined)
        problems.push(`I1 LOST: ${ack.clientMsgId} acked (seq ${ack.seq}, ${ack.via} via ${ack.node}) is not in the read model`);
      else if (row.seq !== ack.seq || row.id !== ack.id) {
        problems.push(`I1 ${ack.clientMsgId}: acked as seq ${ack.seq} (${ack.id}), stored as seq ${row.seq} (${row.id})`);
      }
    }
    const unacked = rows.filter((r) => !acked.has(key(r.sender_id, r.client_msg_id)));
    if (unacked.length > 0) {
      const givenUp = new Set(load.gaveUp.map((g) => key(g.senderId, g.clientMsgId)));
      const phantom = unacked.filter((r) => !givenUp.has(key(r.sender_id, r.client_msg_id)));
      if (phantom.length > 0)
        problems.push(
          `room ${roomId}: stored but never acknowledged although retried to the end: ${phantom.map((r) => r.client_msg_id).join(', ')}`,
        );
    }

    // REST history (any instance) shows the same messages.
    const node = load.usableNodes()[0];
    if (node !== undefined) {
      const history = await fullHistory(node.url, reader, roomId);
      const same = history.length === rows.length && history.every((m, i) => m.seq === rows[i]!.seq && m.id === rows[i]!.id);
      if (!same)
        problems.push(
          `room ${roomId}: REST history (${history.length}: ${compress(history.map((m) => m.seq))}) differs from the table (${rows.length})`,
        );
    }

    // I5: each member's sockets together got 1..n, each exactly once.
    for (const user of load.users.filter((u) => u.rooms.includes(roomId))) {
      await within(
        30_000,
        `user ${user.index} received ${n} messages of room ${roomId}`,
        () => user.deliveries.get(roomId)!.length >= n,
      ).catch(() => undefined);
      if (user.conn !== null) await user.conn.call('PING', {}, 5_000).catch(() => undefined); // everything sent before is here
      const got = user.deliveries.get(roomId)!.map((d) => d.seq);
      const sorted = [...got].sort((a, b) => a - b);
      if (sorted.join(',') !== range1(n).join(',')) {
        const counts = new Map<number, number>();
        for (const seq of got) counts.set(seq, (counts.get(seq) ?? 0) + 1);
        const missing = range1(n).filter((s) => !counts.has(s));
        const twice = [...counts].filter(([, c]) => c > 1).map(([s, c]) => `${s}×${c}`);
        const extra = [...counts.keys()].filter((s) => s > n);
        problems.push(
          `I5 user ${user.index} room ${roomId} (${user.sockets} sockets): missing [${compress(missing)}] duplicated [${twice.join(',')}] beyond N [${extra.join(',')}]` +
            `\n    per socket: ${socketsView(user.deliveries.get(roomId)!)}`,
        );
      }
    }
  }
  return problems;
}

/** `1-5,7,9-12` */
export function compress(values: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    out.push(i === j ? `${values[i]}` : `${values[i]}-${values[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

function socketsView(deliveries: Delivery[]): string {
  const bySocket = new Map<number, Delivery[]>();
  for (const d of deliveries) bySocket.set(d.socket, [...(bySocket.get(d.socket) ?? []), d]);
  return [...bySocket]
    .map(
      ([socket, list]) => `#${socket}@${list[0]!.node.replace('http://127.0.0.1:', ':')} [${compress(list.map((d) => d.seq))}]`,
    )
    .join(' ');
}

// ---------------------------------------------------------------- the events log

export interface LogLine {
  partition: number;
  offset: number;
  key: string;
  type: string | null;
  headers: Record<string, string>;
  data: Record<string, unknown>;
  stale?: true;
}

export const partitionOfRoom = (cluster: Cluster, roomId: string): number =>
  murmur2Partition(`room:${roomId}`, Number(cluster.env.PARLEY_PARTITIONS ?? '12'));

/** The room's events as `parley replay` reads them from Kafka, stale writes included (flagged `stale`). */
export async function roomLog(cluster: Cluster, roomId: string): Promise<LogLine[]> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-replay-')), 'room.jsonl');
  const result = await run(
    process.execPath,
    [
      'src/main.ts',
      'replay',
      '--topic',
      'events',
      '--partition',
      String(partitionOfRoom(cluster, roomId)),
      '--aggregate',
      `room:${roomId}`,
      '--include-stale',
      '--no-progress',
      '--out',
      out,
    ],
    120_000,
    { ...cluster.env, LOG_LEVEL: 'warn' },
  );
  if (result.code !== 0) throw new Error(`parley replay failed (${result.code}): ${result.stderr}`);
  const lines = fs
    .readFileSync(out, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return lines.map((line) => JSON.parse(line) as LogLine);
}

/** The instance that wrote the room's latest accepted event (the processor owning its partition then). */
export async function writerOf(cluster: Cluster, roomId: string): Promise<{ node: number; writer: string }> {
  const events = (await roomLog(cluster, roomId)).filter((e) => e.stale !== true);
  const writer = events.at(-1)?.headers.writer;
  if (writer === undefined) throw new Error(`room ${roomId} has no events`);
  const instanceId = writer.split('/')[0];
  const node = cluster.nodes.findIndex((n) => n.logs.some((l) => l.msg === 'parley started' && l.instanceId === instanceId));
  if (node < 0) throw new Error(`writer ${writer} of room ${roomId} is none of the running instances`);
  return { node, writer };
}

/** One REST post of a message, bounded; status 0 when no answer came (refused, timed out). */
export async function postOnce(
  node: ParleyProcess,
  user: TestUser,
  roomId: string,
  clientMsgId: string,
  timeoutMs = 20_000,
): Promise<{ status: number; body: Record<string, unknown> | undefined; node: string }> {
  try {
    const response = await fetch(`${node.url}/api/v1/rooms/${roomId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_msg_id: clientMsgId, content: `message ${clientMsgId}` }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text), node: node.url };
  } catch (error) {
    return { status: 0, body: { error: String(error) }, node: node.url };
  }
}

// ---------------------------------------------------------------- set-up and tear-down

export interface ChatSetup {
  users: TestUser[];
  /** Room 0: users 0–3; room 1: users 2–5. */
  rooms: string[];
  plan: { user: TestUser; rooms: string[] }[];
  /** A member of every room (for REST history). */
  reader: TestUser;
}

/**
 * A set-up step against a cluster that may still be settling after the
 * previous test's faults (a consumer group rebalancing, a leader moving): a
 * 503 `unavailable` says "retry it", and a client does. Each step is whole —
 * a new user, a new room — so a retry never trips on what an unconfirmed
 * attempt may have left behind.
 */
async function settled<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (attempt >= 10 || !/\b503\b/.test(String(error))) throw error;
      await sleep(1_000);
    }
  }
}

/** Six users (registered over different instances) and two overlapping rooms. */
export async function chatSetup(cluster: Cluster): Promise<ChatSetup> {
  const users: TestUser[] = [];
  for (let i = 0; i < 6; i++) {
    users.push(await settled(() => registerUser(cluster.nodes[i % cluster.nodes.length]!.url, `f${i}`)));
  }
  const room = async (owner: TestUser, members: TestUser[]) => {
    const response = await fetch(`${cluster.nodes[0]!.url}/api/v1/rooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'fault room', member_ids: members.map((m) => m.id) }),
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await response.json()) as { id: string };
    if (response.status !== 201) throw new Error(`create room: ${response.status} ${JSON.stringify(body)}`);
    // The members are no friends of the owner's: invited, they join by accepting.
    await acceptInvitations(cluster.nodes[0]!.url, body.id, members);
    return body.id;
  };
  const rooms = [
    await settled(() => room(users[0]!, users.slice(1, 4))),
    await settled(() => room(users[5]!, users.slice(2, 5))),
  ];
  const plan = users.map((user, i) => ({
    user,
    rooms: i < 2 ? [rooms[0]!] : i < 4 ? [rooms[0]!, rooms[1]!] : [rooms[1]!],
  }));
  return { users, rooms, plan, reader: users[2]! };
}

/**
 * Stops the cluster whatever state the faults left it in: paused instances
 * are continued, instances that do not exit in time are killed, and the
 * cluster's database is dropped even when its own connection died.
 */
export async function stopCluster(cluster: Cluster | undefined): Promise<void> {
  if (cluster === undefined) return;
  for (const node of cluster.nodes) if (alive(node)) node.child.kill('SIGCONT');
  const stopped = cluster.stop().then(
    () => true,
    (error: unknown) => {
      console.warn(`[faults] cluster.stop failed: ${String(error)}`);
      return false;
    },
  );
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref());
  const outcome = await Promise.race([stopped, timer]);
  if (outcome !== true) {
    for (const node of cluster.nodes) if (alive(node)) await node.kill();
    const database = new URL(cluster.env.DATABASE_URL!).pathname.slice(1);
    const connection = await mysql.createConnection({ uri: cluster.env.DATABASE_URL!.replace(/\/[^/]*$/, '') }).catch(() => null);
    await connection?.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
    await connection?.end().catch(() => undefined);
  }
}

/**
 * The room's events log against the clients' acknowledgements and the read
 * model: accepted (non-stale) message_sent seqs are exactly 1..N; every event
 * is flagged stale exactly when it landed away from its expected offset;
 * every acknowledgement names an accepted event (same id, same seq); the
 * read model holds exactly the accepted messages. Returns the violations and
 * a short account (events per writer, stale events).
 */
export async function checkRoomLog(
  load: ChatLoad,
  roomId: string,
): Promise<{ problems: string[]; account: string; log: LogLine[] }> {
  const problems: string[] = [];
  const log = await roomLog(load.cluster, roomId);
  for (const event of log) {
    const expected = event.headers.expected_offset;
    const landedElsewhere = expected !== undefined && Number(expected) !== event.offset;
    if (landedElsewhere !== (event.stale === true)) {
      problems.push(
        `offset ${event.offset} (${event.type}): expected_offset ${expected}, flagged stale: ${event.stale === true}`,
      );
    }
  }
  const sent = log.filter((e) => e.type === 'message_sent');
  const accepted = sent.filter((e) => e.stale !== true);
  const stale = sent.filter((e) => e.stale === true);
  const seqs = accepted.map((e) => Number(e.data.seq));
  if (seqs.join(',') !== range1(seqs.length).join(',')) {
    problems.push(`accepted message_sent seqs of room ${roomId} are not 1..${seqs.length} in log order: ${compress(seqs)}`);
  }
  const byId = new Map(accepted.map((e) => [e.data.message_id as string, e]));
  const byKey = new Map<string, LogLine>();
  for (const e of accepted) {
    const k = key(e.data.sender_id as string, e.data.client_msg_id as string);
    if (byKey.has(k))
      problems.push(
        `client_msg_id ${String(e.data.client_msg_id)} accepted twice (seq ${String(byKey.get(k)!.data.seq)} and ${String(e.data.seq)})`,
      );
    byKey.set(k, e);
  }
  for (const ack of load.acks.filter((a) => a.roomId === roomId)) {
    const event = byId.get(ack.id);
    if (event === undefined) {
      const inStale = stale.some((e) => e.data.message_id === ack.id);
      problems.push(
        `ack of ${ack.clientMsgId} by ${ack.node} (seq ${ack.seq}) names ${inStale ? 'only a STALE event' : 'no event'} in the log`,
      );
    } else if (Number(event.data.seq) !== ack.seq) {
      problems.push(`ack of ${ack.clientMsgId} by ${ack.node} says seq ${ack.seq}; the log says ${String(event.data.seq)}`);
    }
  }
  const rows = await dbQuery<{ id: string; seq: number }>(
    load.cluster,
    'select id, seq from messages where room_id = ? order by seq',
    [roomId],
  );
  const rowView = rows.map((r) => `${r.seq}:${r.id}`).join(',');
  const logView = accepted.map((e) => `${String(e.data.seq)}:${String(e.data.message_id)}`).join(',');
  if (rowView !== logView)
    problems.push(`read model of room ${roomId} (${rows.length} rows) differs from the accepted log (${accepted.length} events)`);

  const writers = new Map<string, { accepted: number; stale: number }>();
  for (const e of log) {
    const w = writers.get(e.headers.writer ?? '?') ?? { accepted: 0, stale: 0 };
    if (e.stale === true) w.stale++;
    else w.accepted++;
    writers.set(e.headers.writer ?? '?', w);
  }
  const reused = stale.filter((e) => seqs.includes(Number(e.data.seq))).length;
  const account =
    `room log: ${log.length} events, ${accepted.length} accepted message_sent, ${stale.length} stale message_sent ` +
    `(${reused} of them reuse an accepted seq), stale events of any type: ${log.filter((e) => e.stale === true).length}\n` +
    `  by writer: ${[...writers].map(([w, n]) => `${w.slice(0, 8)}…/${w.split('/')[1]}: ${n.accepted} accepted, ${n.stale} stale`).join('; ')}`;
  return { problems, account, log };
}
