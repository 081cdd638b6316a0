// What an operator sees of a running Parley: the human start line, and
// /metrics as Prometheus scrapes it — request latencies by route template
// (never a raw path), command latencies by type, open sockets, deliveries,
// projection lag for every partition, consumer lag, the event loop — the
// shipped Grafana dashboard querying only what is there, and the token that
// guards the scrape when it is set. Runs in both modes (embedded, and Kafka +
// MariaDB + Redis).

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRoom, eventually } from '../support/chat.ts';
import { registerUser, request, WsClient, type TestUser } from '../support/client.ts';
import {
  familyOf,
  metricNamesIn,
  parseExposition,
  readDashboard,
  samplesOf,
  valueOf,
  type Exposition,
} from '../support/metrics.ts';
import { e2eMode } from '../support/modes.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import type { Message, Room } from '../support/wire.ts';

async function scrape(parley: ParleyProcess, token?: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`${parley.url}/metrics`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

async function metrics(parley: ParleyProcess): Promise<Exposition> {
  const { status, text } = await scrape(parley);
  expect(status).toBe(200);
  return parseExposition(text);
}

/** Partitions per topic in this mode (test/support/modes.ts gives the distributed mode four). */
const partitions = e2eMode === 'distributed' ? 4 : 12;

describe('an operator watching Parley', () => {
  let parley: ParleyProcess;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;

  beforeAll(async () => {
    parley = await startParley();
    alice = await registerUser(parley.url, 'alice');
    bob = await registerUser(parley.url, 'bob');
    roomId = await createRoom(parley.url, alice, [bob], 'metrics');
  });
  afterAll(() => parley.stop());

  test('reads one human line on stderr: where it listens, on which adapters, where its data is', () => {
    const adapters = e2eMode === 'distributed' ? 'on Kafka + MySQL + Redis' : 'embedded';
    expect(parley.stderr()).toContain(`listening on http://127.0.0.1:${parley.port}, ${adapters}, data in `);
    expect(parley.stderr()).toContain(parley.dataDir);
    // The JSON log keeps its own line.
    expect(parley.logs.some((entry) => entry.msg === 'parley started' && entry.port === parley.port)).toBe(true);
  });

  test('scrapes Prometheus text from GET /metrics, with the event-loop delay and process metrics', async () => {
    const { status, type, text } = await scrape(parley);
    expect(status).toBe(200);
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const exposition = parseExposition(text);
    expect(exposition.families.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
    expect(samplesOf(exposition, 'nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
    expect(valueOf(exposition, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  test('REST requests count under their route template and status class; no id ever becomes a label', async () => {
    const route = { method: 'GET', route: '/api/v1/rooms/:id', status_class: '2xx' };
    const before = await metrics(parley);
    for (let i = 0; i < 3; i++) {
      const room = await request<Room>(parley.url, 'GET', `/api/v1/rooms/${roomId}`, { token: alice.token });
      expect(room.status).toBe(200);
    }
    const missing = await request(parley.url, 'GET', `/no/such/${roomId}`);
    expect(missing.status).toBe(404);
    const refused = await request(parley.url, 'GET', `/api/v1/rooms/${roomId}`);
    expect(refused.status).toBe(401);

    const { text } = await scrape(parley);
    const after = parseExposition(text);
    const count = 'parley_http_request_duration_seconds_count';
    expect(valueOf(after, count, route) - valueOf(before, count, route)).toBe(3);
    expect(
      valueOf(after, count, { ...route, status_class: '4xx' }) - valueOf(before, count, { ...route, status_class: '4xx' }),
    ).toBe(1);
    expect(valueOf(after, count, { method: 'GET', route: 'unmatched', status_class: '4xx' })).toBeGreaterThanOrEqual(1);
    // The bucket of +Inf holds every request the count does.
    expect(valueOf(after, 'parley_http_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBe(
      valueOf(after, count, route),
    );
    expect(text).not.toContain(roomId);
    expect(text).not.toContain(alice.id);
  });

  test('command latencies by type: accepted (events in the log) and readable (read-your-writes)', async () => {
    const before = await metrics(parley);
    const posted = await request<Message>(parley.url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
      token: bob.token,
      body: { content: 'measured', client_msg_id: 'metrics-1' },
    });
    expect(posted.status).toBe(201);
    const after = await metrics(parley);
    const rose = (name: string, labels: Record<string, string>) =>
      valueOf(after, `${name}_count`, labels) - valueOf(before, `${name}_count`, labels);
    expect(rose('parley_command_accept_duration_seconds', { command: 'send_message', outcome: 'accepted' })).toBe(1);
    expect(rose('parley_command_readable_duration_seconds', { command: 'send_message', outcome: 'caught_up' })).toBe(1);
    // The room's creation before: its own type.
    expect(valueOf(after, 'parley_command_accept_duration_seconds_count', { command: 'create_room', outcome: 'accepted' })).toBe(
      1,
    );
    // A command the room refuses (the sender is no member) counts as rejected.
    const stranger = await registerUser(parley.url, 'carol');
    const refused = await request(parley.url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
      token: stranger.token,
      body: { content: 'let me in', client_msg_id: 'metrics-2' },
    });
    expect(refused.status).toBe(404);
    const rejected = { command: 'send_message', outcome: 'rejected' };
    expect(valueOf(await metrics(parley), 'parley_command_accept_duration_seconds_count', rejected)).toBe(1);
  });

  test('the sockets gauge shows an open socket until it closes; frames sent count as deliveries', async () => {
    const authenticated = { state: 'authenticated' };
    const before = await metrics(parley);
    expect(valueOf(before, 'parley_ws_sockets', authenticated)).toBe(0);
    const bobWs = await WsClient.connect(parley.wsUrl, bob.token);
    const aliceWs = await WsClient.connect(parley.wsUrl, alice.token);
    expect(valueOf(await metrics(parley), 'parley_ws_sockets', authenticated)).toBe(2);

    const ack = await aliceWs.call('SEND_MESSAGE', {
      chat_room_id: roomId,
      content: 'over the socket',
      client_msg_id: 'metrics-ws',
    });
    expect(ack.type).toBe('ACK');
    await bobWs.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.content === 'over the socket');
    const after = await metrics(parley);
    // At least: each AUTH_SUCCESS, the ACK, and the NEW_MESSAGE to both members.
    expect(valueOf(after, 'parley_ws_deliveries_total') - valueOf(before, 'parley_ws_deliveries_total')).toBeGreaterThanOrEqual(
      5,
    );
    expect(valueOf(after, 'parley_command_accept_duration_seconds_count', { command: 'send_message', outcome: 'accepted' })).toBe(
      2,
    );
    expect(valueOf(after, 'parley_ws_slow_socket_drops_total')).toBe(0);
    expect(valueOf(after, 'parley_ws_shed_connections_total')).toBe(0);

    await aliceWs.close();
    await bobWs.close();
    await eventually(
      async () => valueOf(await metrics(parley), 'parley_ws_sockets', authenticated) === 0,
      'the closed sockets leave the gauge',
    );
  });

  test('projection lag is reported for every partition of each projection, and settles at 0', async () => {
    const exposition = await metrics(parley);
    for (const projection of ['chat', 'last_seen']) {
      const rows = samplesOf(exposition, 'parley_projection_lag_events', { projection });
      expect(rows.map((row) => Number(row.labels.partition)).sort((a, b) => a - b)).toEqual(
        Array.from({ length: partitions }, (_, i) => i),
      );
    }
    await eventually(
      async () => samplesOf(await metrics(parley), 'parley_projection_lag_events').every((row) => row.value === 0),
      'every projection caught up',
    );
  });

  test("consumer lag is reported for the partitions this process's consumers read, and settles at 0", async () => {
    const consumers = async () =>
      new Set(
        samplesOf(await metrics(parley), 'parley_consumer_lag_records').map((row) => `${row.labels.group} ${row.labels.topic}`),
      );
    // The chat projector and the gateway's stream of events have both handled
    // records: a consumer is reported once it has handled its first batch,
    // which on Kafka may come a moment after the requests that made them. (The
    // processor's consumer of commands has nothing to handle here: a process
    // that owns every partition decides its commands in-process.)
    const expected = ['parley.projection.chat parley.events', 'none parley.events'];
    await eventually(async () => {
      const reported = await consumers();
      return expected.every((consumer) => reported.has(consumer));
    }, 'the two consumers reported').catch(() => undefined);
    expect([...(await consumers())]).toEqual(expect.arrayContaining(expected));
    await eventually(
      async () => samplesOf(await metrics(parley), 'parley_consumer_lag_records').every((row) => row.value === 0),
      'every consumer caught up',
    );
  });

  test("the write path's batching: the log's writes and their records, consumers' batches and theirs", async () => {
    const before = await metrics(parley);
    const chat = { group: 'parley.projection.chat', topic: 'parley.events' };
    const rose = (after: Exposition, name: string, labels?: Record<string, string>) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    const posted = await request<Message>(parley.url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
      token: alice.token,
      body: { content: 'counted', client_msg_id: 'metrics-writes' },
    });
    expect(posted.status).toBe(201);
    // The answer is read-your-writes: the chat projector has applied the message.
    const after = await metrics(parley);
    expect(rose(after, 'parley_log_writes_total')).toBeGreaterThanOrEqual(1);
    // At least the message's event.
    expect(rose(after, 'parley_log_records_written_total')).toBeGreaterThanOrEqual(1);
    expect(rose(after, 'parley_consumer_batches_total', chat)).toBeGreaterThanOrEqual(1);
    expect(rose(after, 'parley_consumer_records_total', chat)).toBeGreaterThanOrEqual(1);
    // A batch holds at least one record, so records never trail batches.
    for (const row of samplesOf(after, 'parley_consumer_batches_total')) {
      expect(valueOf(after, 'parley_consumer_records_total', row.labels)).toBeGreaterThanOrEqual(row.value);
    }
    for (const name of ['parley_log_writes_total', 'parley_log_records_written_total', 'parley_consumer_batches_total']) {
      expect(after.families.get(name)).toBe('counter');
    }
  });

  test('every query of the shipped Grafana dashboard names a metric this server exports', async () => {
    const { families } = await metrics(parley);
    const exprs = readDashboard().panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) {
      for (const name of metricNamesIn(expr)) expect(familyOf(name, families), `${name} in ${expr}`).toBeDefined();
    }
  });
});

describe('with PARLEY_METRICS_TOKEN set', () => {
  const token = 'a-scraper-secret-0123456789';
  let parley: ParleyProcess;
  beforeAll(async () => {
    parley = await startParley({ env: { PARLEY_METRICS_TOKEN: token } });
  });
  afterAll(() => parley.stop());

  test('only a scrape with that bearer token gets the metrics; others get 401 JSON', async () => {
    for (const attempt of [undefined, 'wrong-token-0123456789', `${token}x`]) {
      const refused = await scrape(parley, attempt);
      expect(refused.status, String(attempt)).toBe(401);
      expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'unauthorized' } });
      expect(refused.text).not.toContain('parley_');
    }
    const allowed = await scrape(parley, token);
    expect(allowed.status).toBe(200);
    expect(parseExposition(allowed.text).families.has('parley_http_request_duration_seconds')).toBe(true);
  });
});

describe('with PARLEY_METRICS=off', () => {
  let parley: ParleyProcess;
  beforeAll(async () => {
    parley = await startParley({ env: { PARLEY_METRICS: 'off' } });
  });
  afterAll(() => parley.stop());

  test('there is no /metrics route (404), and the service answers as usual', async () => {
    const { status, text } = await scrape(parley);
    expect(status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'not_found' } });
    expect((await request(parley.url, 'GET', '/healthz')).status).toBe(200);
  });
});
