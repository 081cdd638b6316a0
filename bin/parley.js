#!/usr/bin/env node
// `npx parley <command>`: the operator CLI (start, migrate, …). Needs Node 24,
// which runs the TypeScript sources directly (type stripping).
import { cli } from '../src/main.ts';

cli(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
