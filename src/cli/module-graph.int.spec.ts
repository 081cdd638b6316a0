// What a `parley` process loads before it knows its command: the CLI's whole
// static module graph, which every server carries. Tools for one command
// belong behind a dynamic import in that command — `parley seed`'s generator
// (faker and its English data: +26 MB RSS, +16 MB heap) was loaded into every
// server until it was moved there.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const cliEntry = new URL('./main.ts', import.meta.url).href;

/** The URLs of every module importing the CLI's entry loads, from a fresh Node process. */
async function modulesLoadedByCli(): Promise<string[]> {
  const probe = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({
      resolve(specifier, context, nextResolve) {
        const resolved = nextResolve(specifier, context);
        loaded.push(resolved.url);
        return resolved;
      },
    });
    await import(${JSON.stringify(cliEntry)});
    process.stdout.write(JSON.stringify(loaded));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '--eval', probe], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as string[];
}

test("the CLI's static module graph holds the server but no command's own tooling", async () => {
  const loaded = await modulesLoadedByCli();
  // The probe sees packages and the server's own modules (else the absence below proves nothing).
  expect(loaded.some((url) => url.includes('/node_modules/koa/'))).toBe(true);
  expect(loaded.some((url) => url.endsWith('/src/compose.ts'))).toBe(true);
  expect(loaded.filter((url) => url.includes('/@faker-js/'))).toEqual([]);
  expect(loaded.filter((url) => url.endsWith('/src/cli/seed-plan.ts'))).toEqual([]);
}, 60_000);
