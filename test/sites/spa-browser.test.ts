import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { httpRequest } from '../support/http-request.js';
import { PorticoProcess } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

// A single-page app as a build tool leaves it (hashed assets, 404.html, about.html, routes that
// exist only in the app's JavaScript), opened in Debian's Chromium through Portico.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ASSET = '/assets/index-3f9a2c.js';
let box: Sandbox;
let portico: PorticoProcess;
let browser: Browser;
let base: string;

before(async () => {
  box = await createSandbox();
  const dist = join(box.dir, 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'index.html'), `<!doctype html><html><head><meta charset="utf-8"><title>App</title><script type="module" src="${ASSET}"></script></head><body><main id="app">loading</main></body></html>\n`);
  // The app's router: it renders whatever route the address bar holds.
  await writeFile(join(dist, 'assets', 'index-3f9a2c.js'), "document.getElementById('app').textContent = 'app route ' + location.pathname;\n");
  await writeFile(join(dist, 'about.html'), '<!doctype html><title>About</title><h1>About this app</h1>\n');
  await writeFile(join(dist, '404.html'), '<!doctype html><title>Not found</title><h1>This page is not here</h1>\n');
  await writeFile(
    join(box.dir, 'portico.yaml'),
    `http: 0\nhttps: off\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\nsites:\n  - name: app\n    hosts: [localhost]\n    root: ./dist\n    default: true\n    tryFiles: ["{path}", "{path}.html", "/index.html"]\n    errors: { 404: /404.html }\n    headers:\n      - { path: "/assets/*", set: { Cache-Control: "public, max-age=31536000, immutable" } }\n`,
  );
  portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')]);
  await portico.waitFor(/^ready: /m);
  base = `http://127.0.0.1:${await portico.port('http')}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
});

after(async () => {
  await browser?.close();
  await portico?.stop();
  await box?.remove();
});

/** Opens a path in a new tab; resolves with its status and what `read` finds in the page. */
async function open(path: string, read: (page: Page) => Promise<string | null>): Promise<{ status: number | undefined; text: string | null }> {
  const page = await browser.newPage();
  try {
    const response = await page.goto(`${base}${path}`);
    return { status: response?.status(), text: await read(page) };
  } finally {
    await page.close();
  }
}

test('SPA: a deep route renders the app, whose own script writes the route into the page', async () => {
  const opened = await open('/projects/42/settings', async (page) => {
    await page.waitForFunction(() => document.getElementById('app')?.textContent?.startsWith('app route'));
    return page.textContent('#app');
  });
  assert.deepEqual(opened, { status: 200, text: 'app route /projects/42/settings' });
});

test('SPA: /about renders about.html (clean URLs)', async () => {
  assert.deepEqual(await open('/about', (page) => page.textContent('h1')), { status: 200, text: 'About this app' });
});

test('SPA: a missing asset gets the site\'s 404.html with status 404, not the app', async () => {
  assert.deepEqual(await open('/assets/index-000000.js', (page) => page.textContent('h1')), { status: 404, text: 'This page is not here' });
});

test('SPA: the hashed asset is cached as immutable and index.html is revalidated', async () => {
  const asset = await httpRequest(Number(new URL(base).port), ASSET);
  assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  const index = await httpRequest(Number(new URL(base).port), '/');
  assert.equal(index.headers['cache-control'], 'no-cache');
  const route = await httpRequest(Number(new URL(base).port), '/projects/42');
  assert.equal(route.headers['cache-control'], 'no-cache');
  assert.equal(route.headers.etag, index.headers.etag, 'the fallback is index.html, with its own validators');
});
