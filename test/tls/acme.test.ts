import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startPebble, type Pebble } from '../support/pebble.js';
import { PorticoProcess } from '../support/portico-process.js';
import { fetchRootCa } from '../support/root-ca.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

// A real ACME CA (test/support/pebble.ts), validating against Portico's own listeners.
let box: Sandbox;
let pebble: Pebble;
let portico: PorticoProcess;

before(async () => {
  box = await createSandbox();
  pebble = await startPebble(box.dir);
  // bad.example.test resolves where nothing listens, so no challenge for it can be answered.
  await pebble.resolve('bad.example.test', '127.0.0.9');
  for (const name of ['shop', 'alpn', 'bad']) {
    await mkdir(join(box.dir, name));
    await writeFile(join(box.dir, name, 'index.html'), `this is ${name}\n`);
  }
  const acme = (challenges: string): string => `{ acme: { directory: "${pebble.directory}", email: ops@example.test, ca: ${pebble.tlsRootFile}, challenges: ${challenges} } }`;
  await writeFile(
    join(box.dir, 'portico.yaml'),
    `http: ${pebble.httpPort}\nhttps: ${pebble.httpsPort}\nbind: 127.0.0.1\nworkers: 2\nstate: ${box.state}\nsites:\n  - { name: shop, hosts: [shop.example.test], root: ./shop, tls: ${acme('[http-01]')} }\n  - { name: alpn, hosts: [alpn.example.test], root: ./alpn, tls: ${acme('[tls-alpn-01]')} }\n  - { name: bad, hosts: [bad.example.test], root: ./bad, tls: ${acme('[http-01, tls-alpn-01]')} }\n`,
  );
  portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')]);
  await portico.waitFor(/^ready: 3 site\(s\)/m, 60_000);
});

after(async () => {
  await portico?.stop();
  pebble?.stop();
  await box?.remove();
});

test('ACME http-01 against Pebble: the site serves its internal certificate at once, then one that chains to Pebble\'s root', async () => {
  await portico.waitFor(/ACME certificate ready for shop\.example\.test/, 60_000);
  const port = await portico.port('https');
  const root = await pebble.root();
  for (let i = 0; i < 4; i += 1) {
    const reply = await probe({ port, servername: 'shop.example.test', ca: root });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'this is shop\n');
    assert.doesNotMatch(reply.cert.issuer, /Portico/);
  }
  assert.match(pebble.log(), /authz \S+ set VALID by completed challenge/);
});

test('ACME tls-alpn-01 only: the TLS listener answers acme-tls/1 with the challenge certificate, and the issued certificate is served', async () => {
  await portico.waitFor(/ACME certificate ready for alpn\.example\.test/, 60_000);
  const reply = await probe({ port: await portico.port('https'), servername: 'alpn.example.test', ca: await pebble.root() });
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'this is alpn\n');
  // The site offers only tls-alpn-01, so Pebble's validation of this name was that one.
  assert.match(pebble.log(), /Identifier:acme\.Identifier\{Type:"dns", Value:"alpn\.example\.test"\}/);
});

test('ACME with a challenge nothing answers: the site keeps serving its internal certificate, and the CA\'s problem is logged with the next try', async () => {
  const [, wait] = await portico.waitFor(/ACME order 1 for bad\.example\.test failed, still serving the internal certificate; next try in (\d+) s: .*refused the order for bad\.example\.test: /, 60_000);
  assert.ok(Number(wait) >= 4, `retried after ${wait} s: too fast against a CA`);
  const reply = await probe({ port: await portico.port('https'), servername: 'bad.example.test', ca: (await fetchRootCa(box.state)).pem });
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'this is bad\n');
});
