// Static files a route serves, read from `dir` on first request and then kept
// in memory: they change only with a release, and a server that never serves
// them never loads them. A failed read is tried again on the next request.

import fsp from 'node:fs/promises';
import path from 'node:path';

/** Reads `name` (a plain file name, checked by the caller against its own list) under `dir`, once. */
export function cachedFiles(dir: string): (name: string) => Promise<Buffer> {
  const loaded = new Map<string, Promise<Buffer>>();
  return (name) => {
    let file = loaded.get(name);
    if (file === undefined) {
      file = fsp.readFile(path.join(dir, name));
      file.catch(() => loaded.delete(name));
      loaded.set(name, file);
    }
    return file;
  };
}
