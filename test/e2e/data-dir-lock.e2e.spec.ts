// One server per embedded data dir: a second `parley start` on the same
// embedded log and read models refuses to start with a clear message, instead
// of two writers appending to one log. The lock dies with its process, however
// it ends (SIGKILL included). Instances of a distributed deployment share a
// data dir (its keys) freely.

import { afterEach, describe, expect, test } from 'vitest';
import { registerUser } from '../support/client.ts';
import { e2eMode } from '../support/modes.ts';
import { startParley, tempDataDir, type ParleyProcess } from '../support/server.ts';

const running: ParleyProcess[] = [];
afterEach(async () => {
  for (const parley of running.splice(0)) await parley.stop();
});
const start = async (dataDir: string) => {
  const parley = await startParley({ dataDir });
  running.push(parley);
  return parley;
};

describe.runIf(e2eMode === 'embedded')('on the embedded adapters', () => {
  test('a second server on the same data dir refuses to start, saying why; the first keeps serving', async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    const second = startParley({ dataDir });
    await expect(second).rejects.toThrow(
      /exited with 1 before starting[\s\S]*data dir .* is in use by another running Parley server/,
    );
    expect((await registerUser(first.url, 'still')).id).toEqual(expect.any(String));
  });

  test('after the holder is killed (SIGKILL), the next server starts on the same data dir', async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    const user = await registerUser(first.url, 'killed');
    await first.kill();
    const next = await start(dataDir);
    const login = await fetch(`${next.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: user.username, password: user.password }),
    });
    expect(login.status).toBe(200);
  });
});

describe.runIf(e2eMode === 'distributed')('on Kafka + MariaDB + Redis', () => {
  test('two instances share one data dir (its signing keys), and a token from one works on the other', async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    const second = await start(dataDir);
    const user = await registerUser(first.url, 'shared');
    const me = await fetch(`${second.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(me.status).toBe(200);
    // Two instances on one namespace: the second's start waits for every consumer group to rebalance (~20 s here idle).
  }, 90_000);
});
