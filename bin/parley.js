#!/usr/bin/env node
// `parley <command>` (and `npm start`): the operator CLI. Plain JavaScript, so
// that an older Node reaches the version check below instead of dying on the
// TypeScript sources with "Unknown file extension .ts".
import fs from 'node:fs';

const required = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < required) {
  process.stderr.write(
    `parley needs Node.js ${required} or newer (it runs its TypeScript sources directly); this is Node ${process.versions.node}.\n` +
      `  With nvm:   nvm install ${required} && nvm use ${required}\n` +
      `  Without:    . scripts/use-node24.sh   (installs Node ${required} from the npm registry into ~/.cache/parley)\n` +
      `  Then run the same command again.\n`,
  );
  process.exit(1);
}

// A .env in the working directory, when there is one; the environment wins
// over it (as with node --env-file). See .env.sample.
if (fs.existsSync('.env')) process.loadEnvFile('.env');

await import('../src/main.ts');
