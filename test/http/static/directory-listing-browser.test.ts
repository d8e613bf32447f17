import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { useTestServers } from '../../support/test-servers.js';

// Debian's Chromium (installed by .ci/run), driven by playwright-core. Set
// PORTICO_SCREENSHOT_DIR=docs to refresh docs/directory-listing*.png.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const servers = useTestServers();
let browser: Browser;
let base: string;

before(async () => {
  const { site } = await servers.ready();
  await mkdir(join(site, 'docs', 'guides'), { recursive: true });
  await mkdir(join(site, 'images'));
  await mkdir(join(site, 'release notes 2026'));
  await writeFile(join(site, 'docs', 'getting-started.md'), '# Getting started\n'.repeat(40));
  await writeFile(join(site, 'docs', 'configuration.md'), '# Configuration\n'.repeat(300));
  await writeFile(join(site, 'docs', 'guides', 'tls.md'), '# TLS\n');
  await writeFile(join(site, 'images', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(join(site, 'app.js'), 'console.log(1);\n'.repeat(2_000));
  await writeFile(join(site, 'data-2026-11.csv'), 'a,b\n'.repeat(50_000));
  await writeFile(join(site, 'Résumé <draft> "final".pdf'), 'pdf');
  await writeFile(join(site, '100% done.txt'), 'done');
  // No index.html at the top, so the root is listed.
  await rm(join(site, 'index.html'));
  const portico = servers.serve([site, '--browse', '--bind', '127.0.0.1', '--http', '0', '--https', 'off', '--workers', '1']);
  base = `http://127.0.0.1:${await portico.port('http')}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.PORTICO_SCREENSHOT_DIR ?? servers.box.dir;
  await page.screenshot({ path: join(dir, name), fullPage: true });
}

test('a person opens the listing in Chromium, clicks into a folder, and sorts by size', async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  await page.goto(`${base}/`);
  assert.equal(await page.title(), 'Index of /');
  const names = await page.locator('td.name a').allTextContents();
  assert.deepEqual(names.slice(0, 3), ['docs/', 'images/', 'release notes 2026/'], 'folders first');
  assert.ok(names.includes('Résumé <draft> "final".pdf'), 'a name with <, " and non-ASCII is shown as it is');
  assert.ok(names.includes('100% done.txt'));
  await screenshot(page, 'directory-listing.png');

  await page.click('text=docs/');
  await page.waitForURL(`${base}/docs/`);
  assert.equal(await page.title(), 'Index of /docs/');
  assert.deepEqual(await page.locator('nav.crumbs a').allTextContents(), ['/', 'docs']);

  await page.click('th.size a');
  await page.waitForURL(/\?sort=size&order=asc$/);
  const sorted = await page.locator('tr.file td.name a').allTextContents();
  assert.deepEqual(sorted, ['getting-started.md', 'configuration.md']);

  await page.goto(`${base}/`);
  await page.click('text=100% done.txt');
  await page.waitForURL(`${base}/100%25%20done.txt`);
  assert.equal(await page.locator('body').textContent(), 'done');
  await page.close();
});

test('the listing is readable on a phone: no sideways scrolling, dates hidden', async () => {
  const page = await browser.newPage({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 2 });
  await page.goto(`${base}/`);
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  assert.ok(scrollWidth <= innerWidth, `page is ${scrollWidth}px wide in a ${innerWidth}px viewport`);
  assert.equal(await page.locator('th.modified').isVisible(), false);
  await screenshot(page, 'directory-listing-phone.png');
  await page.close();
});

test('Accept: application/json gets the same listing as JSON', async () => {
  const response = await fetch(`${base}/`, { headers: { accept: 'application/json' } });
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(response.headers.get('vary'), 'Accept');
  const entries = (await response.json()) as Array<{ name: string; type: string; url: string }>;
  assert.deepEqual(entries.slice(0, 3).map((e) => e.type), ['directory', 'directory', 'directory']);
  const odd = entries.find((e) => e.name.startsWith('Résumé'));
  assert.equal(odd?.url, `/${encodeURIComponent('Résumé <draft> "final".pdf')}`);
});
