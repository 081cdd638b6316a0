// The API's documentation as a developer opens it on a running server:
// Swagger UI at /swagger/index.html, served from the server itself (no CDN,
// nothing from another origin), over /openapi.json — a valid OpenAPI document
// that describes the upload protocol too.

import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startParley, type ParleyProcess } from '../support/server.ts';

let server: ParleyProcess;

beforeAll(async () => {
  server = await startParley();
});

afterAll(async () => {
  await server.stop();
});

test('/swagger redirects to the Swagger UI page', async () => {
  const response = await fetch(`${server.url}/swagger`, { redirect: 'manual' });
  expect(response.status).toBe(302);
  expect(response.headers.get('location')).toBe('/swagger/index.html');
});

test('the Swagger UI page loads only files of this server, each with its type, and points at /openapi.json', async () => {
  const page = await fetch(`${server.url}/swagger/index.html`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).not.toContain("'unsafe-eval'");
  const html = await page.text();
  expect(html).toContain('<div id="swagger-ui">');
  expect(html).not.toMatch(/https?:\/\//);
  expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script: every script is a file
  const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, ref]) => ref!);
  expect(references.every((ref) => ref.startsWith('./'))).toBe(true);

  const expectedTypes: Record<string, RegExp> = {
    '.js': /^text\/javascript/,
    '.css': /^text\/css/,
    '.png': /^image\/png$/,
  };
  for (const ref of references) {
    const asset = await fetch(new URL(ref, `${server.url}/swagger/index.html`));
    expect(asset.status, ref).toBe(200);
    const type = expectedTypes[ref.slice(ref.lastIndexOf('.'))];
    expect(asset.headers.get('content-type'), ref).toMatch(type!);
    expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(0);
  }
  expect(references).toEqual(
    expect.arrayContaining([
      './swagger-ui.css',
      './swagger-ui-bundle.js',
      './swagger-ui-standalone-preset.js',
      './swagger-initializer.js',
    ]),
  );

  const initializer = await (await fetch(`${server.url}/swagger/swagger-initializer.js`)).text();
  expect(initializer).toContain("url: '/openapi.json'");
  expect(initializer).toContain('validatorUrl: null'); // the document is never sent to swagger.io
  expect(initializer).not.toMatch(/https?:\/\//);
});

test('nothing else of the package is served', async () => {
  for (const file of [
    'package.json',
    'index.html.map',
    'swagger-ui-bundle.js.map',
    '..%2Fpackage.json',
    'oauth2-redirect.html',
  ]) {
    expect((await fetch(`${server.url}/swagger/${file}`)).status, file).toBe(404);
  }
});

test('/openapi.json is a valid OpenAPI document that describes the upload protocol', async () => {
  const response = await fetch(`${server.url}/openapi.json`);
  expect(response.status).toBe(200);
  const document = (await response.json()) as {
    paths: Record<string, Record<string, { description?: string; requestBody?: { content: Record<string, unknown> } }>>;
  };
  const result = await new Validator().validate(document);
  expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
  expect(result.valid).toBe(true);

  const sign = document.paths['/api/v1/uploads/sign']?.post;
  expect(sign?.description).toMatch(/upload_url/);
  expect(sign?.description).toMatch(/avatar_url/);
  const upload = document.paths['/api/v1/uploads/local/{upload_id}']?.post;
  expect(Object.keys(upload?.requestBody?.content ?? {})).toContain('image/png');
  expect(document.paths['/api/v1/uploads/{id}']?.get).toBeDefined();
  expect(document.paths['/api/v1/uploads/notify']?.post).toBeDefined();
  expect(document.paths['/uploads/{user_id}/{purpose}/{file}']?.get).toBeDefined();
});
