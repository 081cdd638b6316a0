// The process entry: `node src/main.ts <command>` (npm start, bin/parley.js).
// The commands are cli/'s; the wiring is compose.ts's.

import { cli } from './cli/main.ts';

cli(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
