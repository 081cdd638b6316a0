// A namespace is invisible to the code above the port: the whole log contract
// holds through it, and two namespaces on one log never see each other.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { logContract } from './log.contract.ts';
import { namespacedLog } from './namespaced-log.ts';
import { openSqliteLog } from './sqlite-log.ts';

function sqliteLog() {
  const dir = mkdtempSync(join(tmpdir(), 'parley-ns-'));
  const log = openSqliteLog({ path: join(dir, 'log.db'), retryBackoffMs: 10, onError: () => undefined });
  return { log, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

logContract('namespaced sqlite', () => {
  const { log, remove } = sqliteLog();
  return {
    log: namespacedLog(log, 'tenant-a'),
    cleanup: async () => {
      await log.close();
      remove();
    },
  };
});

describe('namespaced log', () => {
  test('two namespaces on one log keep their records apart and see plain topic names', async () => {
    const { log, remove } = sqliteLog();
    try {
      const a = namespacedLog(log, 'a');
      const b = namespacedLog(log, 'b');
      for (const ns of [a, b]) await ns.ensureTopics([{ name: 'events', partitions: 1, retentionMs: null }]);
      await a.append('events', [{ key: 'k', value: Buffer.from('for a'), partition: 0 }]);
      expect(await b.endOffset('events', 0)).toBe(0);
      const [record] = await a.read('events', 0, 0, 10);
      expect(record?.topic).toBe('events');
      expect(record?.value.toString()).toBe('for a');
      expect(await log.endOffset('a.events', 0)).toBe(1);
    } finally {
      await log.close();
      remove();
    }
  });
});
