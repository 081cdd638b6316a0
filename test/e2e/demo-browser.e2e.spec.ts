// The demo web client at `/`, driven in a real headless Chromium (Debian's
// `chromium`, through puppeteer-core): two people in two browser profiles
// register, one creates a room and invites the other, who joins from the
// invitation; they see each other online, see each other typing, chat live,
// see read receipts, and one sends a picture the other sees load. A
// screenshot of the end is kept (PARLEY_ARTIFACTS_DIR, default
// .artifacts/ in the repository) for a human to look at.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { infraAvailable } from '../support/infra.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import { tinyPng } from '../support/uploads.ts';

// The callbacks of waitForFunction and $eval run in the page. tsconfig has no
// DOM library (the product is server code): what they touch is declared here.
interface PageNode {
  textContent: string | null;
  complete?: boolean;
  naturalWidth?: number;
  src?: string;
}
declare const document: {
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): Iterable<PageNode>;
};

const chromium = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
const available = await infraAvailable('Chromium', chromium, 'demo page in a browser', () =>
  fs.promises.access(chromium, fs.constants.X_OK),
);
const artifactsDir = process.env.PARLEY_ARTIFACTS_DIR ?? path.resolve(import.meta.dirname, '../../.artifacts');

let server: ParleyProcess | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!available) return;
  server = await startParley({ env: { PARLEY_REGISTER_MAX_PER_IP: '1000' } });
  browser = await puppeteer.launch({
    executablePath: chromium,
    // Root in CI: Chromium's sandbox needs a user namespace it may not get.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
    headless: true,
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A person in a browser profile of their own, registered through the page. */
async function person(name: string): Promise<Page> {
  const context = await browser!.createBrowserContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  (page as Page & { problems: string[] }).problems = problems;
  await page.goto(`${server!.url}/`);
  await page.type('#register-form input[name="username"]', name);
  await page.type('#register-form input[name="email"]', `${name}@example.com`);
  await page.type('#register-form input[name="password"]', 'correct horse battery');
  await page.click('#register-form button');
  await page.waitForSelector('#signed-in:not([hidden])');
  await page.waitForSelector('#status[data-state="online"]');
  return page;
}

const textOf = (page: Page, selector: string) => page.$eval(selector, (node) => node.textContent ?? '');

test.runIf(available)(
  'two people chat in the demo page: invitation, presence, typing, live messages, read receipts, a picture',
  async () => {
    const suffix = Math.random().toString(36).slice(2, 7);
    const alice = await person(`alice_${suffix}`);
    const bob = await person(`bob_${suffix}`);

    // Alice creates a room with Bob; he is no friend of hers, so he is invited.
    await alice.type('#new-room-form input[name="name"]', 'Demo room');
    await alice.type('#new-room-form input[name="members"]', `bob_${suffix}`);
    await alice.click('#new-room-form button');
    await alice.waitForFunction(() => document.querySelector('#room-title')?.textContent === 'Demo room');

    // Bob joins from the invitation the socket told his page about.
    // Locators wait, and click again when the page redrew the list meanwhile.
    await bob.locator('#invitations-section:not([hidden]) #invitations button').click();
    await bob.locator('#rooms li button').click();
    await bob.waitForFunction(() => document.querySelector('#room-title')?.textContent === 'Demo room');

    // Presence: each sees the other online in the room.
    await alice.waitForFunction(() =>
      [...document.querySelectorAll('#members li.online')].some((li) => li.textContent?.startsWith('bob_')),
    );
    await bob.waitForFunction(() =>
      [...document.querySelectorAll('#members li.online')].some((li) => li.textContent?.startsWith('alice_')),
    );

    // Typing, then the message, live.
    await alice.type('#composer input[name="content"]', 'Hello Bob');
    await bob.waitForFunction(() => /alice_\w+ is typing/.test(document.querySelector('#typing')?.textContent ?? ''));
    await alice.click('#composer button[type="submit"]');
    await bob.waitForFunction(() =>
      [...document.querySelectorAll('#messages .content')].some((node) => node.textContent === 'Hello Bob'),
    );
    expect(await textOf(bob, '#typing')).toBe('');

    // Bob has read it: Alice's page says so under the message.
    await alice.waitForFunction(() =>
      (document.querySelector('#messages li .seen')?.textContent ?? '').startsWith('seen by bob_'),
    );

    // Bob sends a picture; it shows in Alice's page, loaded from the server.
    const picture = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-demo-')), 'dot.png');
    fs.writeFileSync(picture, tinyPng);
    const fileInput = await bob.$('#composer input[name="file"]');
    await fileInput!.uploadFile(picture);
    await bob.type('#composer input[name="content"]', 'a dot');
    await bob.click('#composer button[type="submit"]');
    await alice.waitForFunction(() => {
      const image = document.querySelector('#messages img');
      return image !== null && image.complete === true && (image.naturalWidth ?? 0) > 0;
    });
    expect(await alice.$eval('#messages img', (image) => (image as PageNode).src)).toContain('/uploads/');

    fs.mkdirSync(artifactsDir, { recursive: true });
    const screenshot = path.join(artifactsDir, 'demo-page.png');
    await alice.screenshot({ path: screenshot, fullPage: true });
    console.info(`[demo] screenshot of the demo page: ${screenshot}`);
    expect(fs.statSync(screenshot).size).toBeGreaterThan(1000);

    for (const page of [alice, bob]) expect((page as Page & { problems: string[] }).problems).toEqual([]);
  },
  120_000,
);
