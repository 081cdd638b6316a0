// The demo page's routes: `/` is the page, with a CSP that lets it load files
// of this origin only; every file the page names is served with its type, and
// nothing else under /demo/. (The page at work: test/e2e/demo-browser.e2e.spec.ts.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './testing/harness.ts';
import { DEMO_ASSETS, DEMO_CSP, demoRoutes } from './demo-routes.ts';

describe('the demo page routes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ routers: [demoRoutes()] });
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves the page at / and every file it loads, each with its type and the CSP', async () => {
    const page = await fetch(`${server.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(DEMO_CSP);
    const html = await page.text();
    const loaded = [...html.matchAll(/(?:src|href)="(\/demo\/[^"]+)"/g)].map(([, ref]) => ref!);
    expect(loaded.sort()).toEqual(['/demo/app.js', '/demo/style.css']);
    for (const ref of loaded) {
      const file = await fetch(`${server.base}${ref}`);
      expect(file.status, ref).toBe(200);
      expect(file.headers.get('content-type'), ref).toBe(DEMO_ASSETS[ref.slice('/demo/'.length)]);
      expect((await file.text()).length, ref).toBeGreaterThan(100);
    }
    expect(DEMO_CSP).toContain("script-src 'self'");
    expect(html).not.toMatch(/<script>/); // no inline script: the CSP would refuse it
  });

  it('answers 404 for anything else under /demo/', async () => {
    for (const name of ['nope.js', '..%2Fpackage.json', 'app.js.map']) {
      const response = await fetch(`${server.base}/demo/${name}`);
      expect(response.status, name).toBe(404);
    }
  });
});
