// The process entry: `node src/main.ts <command>` (npm start, bin/parley.js).
// The commands are cli/'s; the wiring is compose.ts's.

import fs from 'node:fs';
import { cli } from './cli/main.ts';

// Everything Parley writes — the embedded log and read models (message text,
// the data keys, password hashes), the signing key, mail, uploads — is for
// this process's user alone: new files are 0600 and directories 0700, whoever
// creates them. A data dir made by an older version (0755) is closed too; the
// files inside it are then out of others' reach with it.
process.umask(0o077);
closeDataDir(process.env.PARLEY_DATA_DIR ?? './data');

/**
 * Only a dir open to group or others is changed. One the service may not
 * chmod (a volume owned by another user, shared on purpose) is the operator's
 * decision: a warning, not a crash.
 */
function closeDataDir(dir: string): void {
  if (!fs.existsSync(dir) || (fs.statSync(dir).mode & 0o077) === 0) return;
  try {
    fs.chmodSync(dir, 0o700);
  } catch (error) {
    process.stderr.write(
      `warning: could not make ${dir} private (0700): ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
}

cli(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
