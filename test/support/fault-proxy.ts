// A TCP proxy in front of one server (Kafka, MariaDB, Redis) that breaks the
// network on command, for the network-fault suite and the nemesis soak
// (test/faults/network-faults.e2e.spec.ts, bench/nemesis.ts). Only the proxy
// is broken, never the shared server behind it.
//
// The faults, each as a client would see it:
//   setLatency(ms)  every chunk, both ways, arrives `ms` later (order kept);
//   resetAll()      every open connection is reset (RST) on both sides;
//   blackhole(on)   packets vanish: connections stay open (new ones are
//                   accepted too) but nothing gets through either way until
//                   it is turned off. Bytes are held, not dropped: TCP
//                   retransmits what a short partition swallowed, so an
//                   application never sees a hole in a stream — it either
//                   gets the bytes late or gives up on the connection;
//   halfOpen()      the server forgets every open connection (as after its
//                   host rebooted) while the client's side stays open: what
//                   the client sends goes nowhere and nothing ever comes
//                   back, for good. New connections work;
//   refuse(on)      new connections are reset at once (the port is closed).
// heal() ends latency, blackhole and refusal (half-open connections stay dead,
// as they do on a real network, until their client gives up on them).

import net from 'node:net';

export interface FaultProxyStats {
  accepted: number;
  open: number;
  refused: number;
  reset: number;
  halfOpened: number;
  bytesToServer: number;
  bytesToClient: number;
}

export interface FaultProxy {
  /** The port clients connect to (127.0.0.1). */
  port: number;
  upstream: { host: string; port: number };
  setLatency(ms: number): void;
  resetAll(): void;
  blackhole(on: boolean): void;
  halfOpen(): void;
  refuse(on: boolean): void;
  heal(): void;
  close(): Promise<void>;
  readonly stats: FaultProxyStats;
}

/** One direction of one proxied connection: forwards chunks with the current latency, or holds them. */
interface LaneSettings {
  readonly latencyMs: number;
  readonly holding: boolean;
  count(bytes: number): void;
}

class Lane {
  readonly #to: net.Socket;
  readonly #proxy: LaneSettings;
  readonly #held: Buffer[] = [];
  #lastDue = 0;
  dead = false;

  constructor(to: net.Socket, proxy: LaneSettings) {
    this.#to = to;
    this.#proxy = proxy;
  }

  push(chunk: Buffer): void {
    if (this.dead) return;
    if (this.#proxy.holding) this.#held.push(chunk);
    else this.#forward(chunk);
  }

  /** Forwards what a blackhole held, in order. */
  release(): void {
    for (const chunk of this.#held.splice(0)) this.#forward(chunk);
  }

  #forward(chunk: Buffer): void {
    const latency = this.#proxy.latencyMs;
    if (latency <= 0 && this.#lastDue <= Date.now()) {
      this.#write(chunk);
      return;
    }
    // Never before an earlier chunk: a latency lowered mid-stream must not reorder it.
    const due = Math.max(Date.now() + latency, this.#lastDue);
    this.#lastDue = due;
    setTimeout(() => this.#write(chunk), due - Date.now());
  }

  #write(chunk: Buffer): void {
    if (this.dead || this.#to.destroyed) return;
    this.#proxy.count(chunk.length);
    this.#to.write(chunk);
  }
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
  up: Lane;
  down: Lane;
}

export async function startFaultProxy(options: { upstream: { host: string; port: number }; port?: number }): Promise<FaultProxy> {
  const { upstream } = options;
  const pairs = new Set<Pair>();
  const stats: FaultProxyStats = {
    accepted: 0,
    open: 0,
    refused: 0,
    reset: 0,
    halfOpened: 0,
    bytesToServer: 0,
    bytesToClient: 0,
  };
  const state = { latencyMs: 0, holding: false, refusing: false };
  const side = (count: (bytes: number) => void) => ({
    get latencyMs() {
      return state.latencyMs;
    },
    get holding() {
      return state.holding;
    },
    count,
  });
  const upSide = side((bytes) => (stats.bytesToServer += bytes));
  const downSide = side((bytes) => (stats.bytesToClient += bytes));

  const server = net.createServer({ noDelay: true }, (client) => {
    if (state.refusing) {
      stats.refused++;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    stats.accepted++;
    stats.open++;
    const toServer = net.connect({ host: upstream.host, port: upstream.port, noDelay: true });
    const pair: Pair = { client, server: toServer, up: new Lane(toServer, upSide), down: new Lane(client, downSide) };
    pairs.add(pair);
    const end = (socket: net.Socket, error?: NodeJS.ErrnoException) => {
      // A reset on one side is passed on as a reset, a clean close as a close.
      if (socket.destroyed) return;
      if (error?.code === 'ECONNRESET') socket.resetAndDestroy();
      else socket.end();
    };
    client.on('data', (chunk: Buffer) => pair.up.push(chunk));
    toServer.on('data', (chunk: Buffer) => pair.down.push(chunk));
    client.on('error', (error) => end(toServer, error));
    toServer.on('error', (error) => {
      // A half-open pair's server side is gone on purpose; the client must not hear of it.
      if (!pair.down.dead) end(client, error);
    });
    client.on('end', () => end(toServer));
    toServer.on('end', () => {
      if (!pair.down.dead) end(client);
    });
    client.on('close', () => {
      if (pairs.delete(pair)) stats.open--;
      toServer.destroy();
    });
    toServer.on('close', () => {
      if (!pair.down.dead) client.destroy();
    });
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const releaseAll = () => {
    for (const pair of pairs) {
      pair.up.release();
      pair.down.release();
    }
  };

  return {
    port,
    upstream,
    stats,
    setLatency(ms) {
      state.latencyMs = ms;
    },
    resetAll() {
      for (const pair of [...pairs]) {
        stats.reset++;
        pair.up.dead = pair.down.dead = true;
        pair.client.resetAndDestroy();
        pair.server.resetAndDestroy();
      }
    },
    blackhole(on) {
      state.holding = on;
      if (!on) releaseAll();
    },
    halfOpen() {
      for (const pair of pairs) {
        if (pair.down.dead) continue;
        stats.halfOpened++;
        pair.up.dead = pair.down.dead = true;
        // The server forgets it; the client's socket stays open and hears nothing.
        pair.server.destroy();
      }
    },
    refuse(on) {
      state.refusing = on;
    },
    heal() {
      state.latencyMs = 0;
      state.refusing = false;
      state.holding = false;
      releaseAll();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.server.destroy();
      }
      await closed;
    },
  };
}
