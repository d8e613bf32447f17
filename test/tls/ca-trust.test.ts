import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { PorticoProcess, runPortico } from '../support/portico-process.js';
import { anyPortArgs, createSandbox, type Sandbox } from '../support/sandbox.js';

// `portico ca trust` as a new user meets it: Chromium on Linux reads its own NSS database, not
// the system store, so the root has to go there. A throwaway HOME stands in for the user's.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let box: Sandbox;
let portico: PorticoProcess;
let home: string;
let url: string;

before(async () => {
  box = await createSandbox();
  home = join(box.dir, 'home');
  await mkdir(home);
  portico = PorticoProcess.serve(anyPortArgs(box, ['--workers', '1', '--http', 'off']));
  await portico.waitFor(/^ready: /m);
  url = `https://localhost:${await portico.port('https')}/`;
});

after(async () => {
  await portico?.stop();
  await box?.remove();
});

/** Opens the site in Chromium with the throwaway HOME: its status, or the browser's error. */
async function open(): Promise<string> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, env: { ...process.env, HOME: home }, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await browser.newPage();
    const response = await page.goto(url).catch((error: Error) => error);
    return response instanceof Error ? (/net::\w+/.exec(response.message)?.[0] ?? response.message) : String(response?.status());
  } finally {
    await browser.close();
  }
}

const nicknames = async (): Promise<string> => (await promisify(execFile)('certutil', ['-L', '-d', `sql:${join(home, '.pki', 'nssdb')}`])).stdout;

test('ca trust --only nss: Chromium opens the site with no certificate warning; ca untrust removes exactly that', async () => {
  assert.equal(await open(), 'net::ERR_CERT_AUTHORITY_INVALID', 'before: the internal CA is not trusted');
  const trust = await runPortico(['ca', 'trust', '--state', box.state, '--only', 'nss'], { HOME: home });
  assert.equal(trust.code, 0, trust.stderr);
  assert.match(trust.stdout, /trusted in the NSS database .*\.pki\/nssdb/);
  assert.equal(await open(), '200');
  assert.match(await nicknames(), /Portico Local CA [0-9a-f]{12}/);

  const untrust = await runPortico(['ca', 'untrust', '--state', box.state], { HOME: home });
  assert.equal(untrust.code, 0, untrust.stderr);
  assert.doesNotMatch(await nicknames(), /Portico Local CA/);
  assert.equal(await open(), 'net::ERR_CERT_AUTHORITY_INVALID', 'after: trusted no more');
});

test('ca trust refuses an --only it does not know, and untrust with nothing recorded changes nothing', async () => {
  const bad = await runPortico(['ca', 'trust', '--state', box.state, '--only', 'firefox'], { HOME: home });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--only "firefox": use nss \(Chromium and Firefox\) or system/);
  const nothing = await runPortico(['ca', 'untrust', '--state', box.state], { HOME: home });
  assert.equal(nothing.code, 0);
  assert.match(nothing.stdout, /nothing to remove/);
});

test('ca trust: the system store too (a throwaway folder here, by PORTICO_SYSTEM_TRUST_DIR), and untrust takes out both', async () => {
  const { readdir, readFile } = await import('node:fs/promises');
  const store = join(box.dir, 'ca-certificates');
  await mkdir(store);
  const env = { HOME: home, PORTICO_SYSTEM_TRUST_DIR: store };
  const trust = await runPortico(['ca', 'trust', '--state', box.state], env);
  assert.equal(trust.code, 0, trust.stderr);
  const [file] = await readdir(store);
  assert.match(file ?? '', /^portico-[0-9a-f]{12}\.crt$/);
  const root = await runPortico(['ca', 'root', '--state', box.state]);
  assert.equal(await readFile(join(store, file!), 'utf8'), root.stdout);
  assert.equal(await open(), '200');
  assert.equal((await runPortico(['ca', 'untrust', '--state', box.state], env)).code, 0);
  assert.deepEqual(await readdir(store), []);
  assert.doesNotMatch(await nicknames(), /Portico Local CA/);
});
