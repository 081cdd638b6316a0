// Throwaway schema folders for tests that need a schema history the real
// `schemas/` does not have (an added field, a bad change).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** `files` maps `<event_type>/v<n>.avsc` to the schema (or raw text) to write there. */
export function makeSchemaDir(files: Record<string, object | string>): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'parley-schemas-'));
  addSchemaFiles(dir, files);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
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
