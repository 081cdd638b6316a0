// `parley openapi [--out <file>]`: the OpenAPI document the server serves at
// /openapi.json, written out (the Go service's `make swagger`), for tools that
// want a file: client generators, API gateways, a reviewer's diff.

import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildOpenApiDocument } from '../api-docs/openapi.ts';
import type { Config } from '../config.ts';

export const openapiUsage = `usage: parley openapi [--out <file>]
  writes the OpenAPI 3.1 document (as served at /openapi.json) to <file>, or stdout`;

export async function openapiCommand(args: string[], config: Config): Promise<void> {
  const { values } = parseArgs({ args, strict: true, options: { out: { type: 'string' } } });
  const text = `${JSON.stringify(buildOpenApiDocument(config), null, 2)}\n`;
  if (values.out === undefined) process.stdout.write(text);
  else await fs.writeFile(values.out, text);
}
