// sqlite-dialect.ts's read-model files on real SQLite: a transaction's statement
// journal stays in memory, where SQLite would spill it to a temporary file once
// it outgrows 64 KiB and write every page a statement changes there (what a
// projector batch paid on every message, bench/README fix 26); a connection
// readied for a rebuild puts temporary data back on disk, where its index
// builds' sorts belong.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';

const fixture = fileURLToPath(new URL('./testing/statement-journal.fixture.ts', import.meta.url));

describe('a read-model file keeps its statement journal in memory', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Temporary files the fixture's process held open mid-transaction. */
  const temporaryFilesHeld = (kind: 'read-model' | 'bulk-load' | 'plain'): number => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-stmt-journal-'));
    const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-sqlite-tmp-'));
    dirs.push(dir, tmpdir);
    const child = spawnSync(process.execPath, [fixture, dir, kind], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, SQLITE_TMPDIR: tmpdir },
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    return Number(child.stdout.trim());
  };

  test('a plain connection spills the journal to a temporary file (the probe sees it)', () => {
    expect(temporaryFilesHeld('plain')).toBeGreaterThan(0);
  });

  test('a read-model connection opens no temporary file for it', () => {
    expect(temporaryFilesHeld('read-model')).toBe(0);
  });

  test('a connection readied for a rebuild keeps temporary data on disk again', () => {
    expect(temporaryFilesHeld('bulk-load')).toBeGreaterThan(0);
  });
});
