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
const dataDir = process.env.PARLEY_DATA_DIR ?? './data';
if (fs.existsSync(dataDir)) fs.chmodSync(dataDir, 0o700);

cli(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
