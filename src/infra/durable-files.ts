// Files in the data dir that are written once and never replaced: secrets (the
// JWT signing key, the local upload key) and uploaded files. Each is created
// atomically by whichever process or request gets there first. The file is written to a private temp file, fsynced, then
// hard-linked to its final name: link(2) fails with EEXIST when another process
// got there first (rename(2) would silently replace its key), and the loser then
// reads the winner's file. So processes starting at once all end with one key.

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Creates `file` (mode 0600) with `contents` unless it already exists; its
 * directory is created 0700 if needed. True when this call created it. A
 * reader never sees the file half written.
 */
export async function createFileOnce(file: string, contents: string | Uint8Array): Promise<boolean> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temp, 'wx', 0o600);
  let created = false;
  try {
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.link(temp, file);
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } finally {
    await fs.rm(temp, { force: true });
  }
  if (created) await syncDir(dir);
  return created;
}

/** Bytes of a random symmetric key. */
export const SECRET_BYTES = 32;

/**
 * A random 256-bit key kept as hex in `file`, created on first use. A file
 * that is not such a key stops the start: a silently regenerated key would
 * invalidate everything signed with the old one.
 */
export async function loadOrCreateSecret(file: string): Promise<Buffer> {
  let text = await readIfExists(file);
  if (text === undefined) {
    await createFileOnce(file, `${crypto.randomBytes(SECRET_BYTES).toString('hex')}\n`);
    text = await fs.readFile(file, 'utf8');
  }
  text = text.trim();
  if (!new RegExp(`^[0-9a-f]{${SECRET_BYTES * 2}}$`).test(text)) {
    throw new Error(`${file}: not a ${SECRET_BYTES}-byte hex key`);
  }
  const { mode } = await fs.stat(file);
  if ((mode & 0o077) !== 0) await fs.chmod(file, 0o600).catch(() => undefined);
  return Buffer.from(text, 'hex');
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Makes a new directory entry durable (best effort: not every platform can open a directory). */
async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some file systems refuse; the file itself was fsynced.
  } finally {
    await handle?.close();
  }
}
