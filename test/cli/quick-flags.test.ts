import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { httpRequest } from '../support/http-request.js';
import { PorticoProcess } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

// Flag mode's shortcuts for the common site rules: --spa, --cors, --header.
let box: Sandbox;
let portico: PorticoProcess;
let port: number;

before(async () => {
  box = await createSandbox();
  await mkdir(join(box.site, 'assets'));
  await writeFile(join(box.site, 'assets', 'app.js'), 'js\n');
  portico = PorticoProcess.serve([box.site, '--bind', '127.0.0.1', '--http', '0', '--https', 'off', '--workers', '1', '--spa', '--cors', 'https://app.example.test', '--header', 'X-Frame-Options: DENY', '--header', 'Referrer-Policy: no-referrer']);
  port = await portico.port('http');
});

after(async () => {
  await portico?.stop();
  await box?.remove();
});

test('--spa: a route that is no file gets index.html; a missing asset stays 404', async () => {
  const route = await httpRequest(port, '/projects/42');
  assert.equal(route.status, 200);
  assert.match(route.body.toString(), /It works/);
  assert.equal((await httpRequest(port, '/assets/missing.js')).status, 404);
  assert.equal((await httpRequest(port, '/assets/app.js')).body.toString(), 'js\n');
});

test('--header adds to every response; --cors grants the origin given and no other', async () => {
  const allowed = await httpRequest(port, '/', { headers: { origin: 'https://app.example.test' } });
  assert.equal(allowed.headers['x-frame-options'], 'DENY');
  assert.equal(allowed.headers['referrer-policy'], 'no-referrer');
  assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.test');
  const other = await httpRequest(port, '/missing.txt', { headers: { origin: 'https://evil.example.test' } });
  assert.equal(other.status, 404);
  assert.equal(other.headers['x-frame-options'], 'DENY');
  assert.equal(other.headers['access-control-allow-origin'], undefined);
});

test('a malformed --header is refused with the flag named', async () => {
  const run = PorticoProcess.serve([box.site, '--header', 'X-Bad', '--http', '0', '--https', 'off']);
  const { code } = await run.waitForExit();
  assert.equal(code, 1);
  assert.match(run.stderr, /--header "X-Bad" is not 'Name: value'/);
});
