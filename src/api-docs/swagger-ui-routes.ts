// Swagger UI over the generated document, at `/swagger/index.html` as the
// earlier Go service served it: the files of the `swagger-ui-dist` package,
// served from this process (no CDN), with a page and an initializer of our own
// that point it at `/openapi.json`. The scripts are files, not inline, so the
// page's Content-Security-Policy allows scripts from this origin only, and
// "Try it out" requests can reach this origin only.

import { createRequire } from 'node:module';
import path from 'node:path';
import type Router from '@koa/router';
import type { AppState } from '../http/auth-middleware.ts';
import { cachedFiles } from '../http/cached-files.ts';
import { notFound } from '../http/errors.ts';

export const SWAGGER_UI_PATH = '/swagger/index.html';

/**
 * Scripts and styles from this origin only. Swagger UI sets inline style
 * attributes and draws its icons from data: URLs; it fetches the document and
 * runs "Try it out" against this origin (connect-src).
 */
export const SWAGGER_UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley API — Swagger UI</title>
<link rel="stylesheet" href="./swagger-ui.css">
<link rel="stylesheet" href="./index.css">
<link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="./favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="./swagger-ui-bundle.js"></script>
<script src="./swagger-ui-standalone-preset.js"></script>
<script src="./swagger-initializer.js"></script>
</body>
</html>
`;

// validatorUrl null: the page would otherwise send the document to swagger.io
// for its badge. persistAuthorization keeps a pasted token across reloads.
const INITIALIZER_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
});
`;

/** The package's files the page loads (nothing else of the package is served), by name. */
const PACKAGE_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Every file under /swagger/, for the document's enum. */
export const SWAGGER_UI_ASSETS = ['index.html', 'swagger-initializer.js', ...Object.keys(PACKAGE_ASSETS)];

const packageDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Read on first request, then kept: a server that never shows the page never loads its 2 MB. */
const packageFile = cachedFiles(packageDir);

/** Adds `GET /swagger` (a redirect to the page) and `GET /swagger/:asset` to `router`. */
export function addSwaggerUiRoutes(router: Router<AppState>): void {
  const own: Record<string, { type: string; body: Buffer }> = {
    'index.html': { type: 'text/html; charset=utf-8', body: Buffer.from(INDEX_HTML) },
    'swagger-initializer.js': { type: 'text/javascript; charset=utf-8', body: Buffer.from(INITIALIZER_JS) },
  };

  router.get('/swagger', (ctx) => {
    ctx.redirect(SWAGGER_UI_PATH);
  });

  router.get('/swagger/:asset', async (ctx) => {
    const name = String(ctx.params.asset);
    // Buffers, not strings: app.ts turns string bodies that look like HTML into text/plain.
    const ours = own[name];
    const packaged = PACKAGE_ASSETS[name];
    if (ours === undefined && packaged === undefined) throw notFound('no such file');
    ctx.set('Content-Security-Policy', SWAGGER_UI_CSP);
    // The package's files change only with its version; ours with Parley's.
    ctx.set('Cache-Control', ours === undefined ? 'public, max-age=3600' : 'no-cache');
    ctx.type = ours?.type ?? packaged!;
    ctx.body = ours?.body ?? (await packageFile(name));
  });
}
