// Throwaway schema folders for tests that need a schema history the real
// `schemas/` does not have (an added field, a bad change).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

/** `files` maps `<event_type>/v<n>.avsc` to the schema (or raw text) to write there. */
export function makeSchemaDir(files: Record<string, object | string>): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'parley-schemas-'));
  addSchemaFiles(dir, files);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * For a spec file: a function that makes a throwaway schema folder (as
 * makeSchemaDir) which is removed after each test.
 */
export function schemaDirsRemovedAfterEach(): (files: Record<string, object | string>) => string {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  return (files) => {
    const { dir, remove } = makeSchemaDir(files);
    cleanups.push(remove);
    return dir;
  };
}

export function addSchemaFiles(dir: string, files: Record<string, object | string>): void {
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
}

/** A record schema in the test namespace, fields given as Avro field objects. */
export function record(name: string, fields: object[]): Record<string, unknown> {
  return { type: 'record', name, namespace: 'parley.test', fields };
}
