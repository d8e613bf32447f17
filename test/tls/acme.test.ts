import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { PorticoProcess } from '../support/portico-process.js';
import { fetchRootCa } from '../support/root-ca.js';
import { createSandbox, freePort, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

// A real ACME CA: Debian's Pebble, with pebble-challtestsrv as its DNS so every name resolves to
// 127.0.0.1, validating against Portico's own listeners.
let box: Sandbox;
let pebbleTlsRoot: string;
let directory: string;
let managementPort: number;
let portico: PorticoProcess;
const children: ChildProcess[] = [];
let pebbleLog = '';

function start(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<void> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (command === 'pebble') pebbleLog += chunk.toString();
      if (ready.test(output)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}) before it was ready:\n${output}`)));
  });
}

before(async () => {
  box = await createSandbox();
  // Pebble's own HTTPS certificate, from a CA of the test's.
  const root = await createRootCa(Date.now());
  const leaf = await issueLeaf(root, ['localhost', '127.0.0.1'], 'ec-p256', { notBefore: Date.now() - 60_000, notAfter: Date.now() + 86_400_000 });
  pebbleTlsRoot = join(box.dir, 'pebble-tls-root.pem');
  await writeFile(pebbleTlsRoot, root.certPem);
  await writeFile(join(box.dir, 'pebble.crt'), leaf.certPem);
  await writeFile(join(box.dir, 'pebble.key'), leaf.keyPem);
  const [httpPort, httpsPort, acmePort, dnsPort, challManagement] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  managementPort = await freePort();
  await start('pebble-challtestsrv', ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challManagement}`], {}, /Starting management server/);
  await writeFile(
    join(box.dir, 'pebble.json'),
    JSON.stringify({ pebble: { listenAddress: `127.0.0.1:${acmePort}`, managementListenAddress: `127.0.0.1:${managementPort}`, certificate: join(box.dir, 'pebble.crt'), privateKey: join(box.dir, 'pebble.key'), httpPort, tlsPort: httpsPort, ocspResponderURL: '', externalAccountBindingRequired: false } }),
  );
  await start('pebble', ['-config', join(box.dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' }, /Listening on: 127\.0\.0\.1/);
  directory = `https://127.0.0.1:${acmePort}/dir`;
  // bad.example.test resolves where nothing listens, so no challenge for it can be answered.
  await fetch(`http://127.0.0.1:${challManagement}/add-a`, { method: 'POST', body: JSON.stringify({ host: 'bad.example.test.', addresses: ['127.0.0.9'] }) });
  for (const name of ['shop', 'alpn', 'bad']) {
    await import('node:fs/promises').then((fs) => fs.mkdir(join(box.dir, name)));
    await writeFile(join(box.dir, name, 'index.html'), `this is ${name}\n`);
  }
  const acme = (challenges: string): string => `{ acme: { directory: "${directory}", email: ops@example.test, ca: ./pebble-tls-root.pem, challenges: ${challenges} } }`;
  await writeFile(
    join(box.dir, 'portico.yaml'),
    `http: ${httpPort}\nhttps: ${httpsPort}\nbind: 127.0.0.1\nworkers: 2\nstate: ${box.state}\nsites:\n  - { name: shop, hosts: [shop.example.test], root: ./shop, tls: ${acme('[http-01]')} }\n  - { name: alpn, hosts: [alpn.example.test], root: ./alpn, tls: ${acme('[tls-alpn-01]')} }\n  - { name: bad, hosts: [bad.example.test], root: ./bad, tls: ${acme('[http-01, tls-alpn-01]')} }\n`,
  );
  portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')]);
  await portico.waitFor(/^ready: 3 site\(s\)/m, 60_000);
});

after(async () => {
  await portico?.stop();
  for (const child of children) child.kill('SIGKILL');
  await box?.remove();
});

/** Pebble's root, from its management API: what the certificates it issues chain to. */
function pebbleRoot(): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`https://127.0.0.1:${managementPort}/roots/0`, { ca: pebbleTlsRootPem }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
let pebbleTlsRootPem = '';

test('ACME http-01 against Pebble: the site serves its internal certificate at once, then one that chains to Pebble\'s root', async () => {
  pebbleTlsRootPem = await import('node:fs/promises').then((fs) => fs.readFile(pebbleTlsRoot, 'utf8'));
  await portico.waitFor(/ACME certificate ready for shop\.example\.test/, 60_000);
  const port = await portico.port('https');
  const root = await pebbleRoot();
  for (let i = 0; i < 4; i += 1) {
    const reply = await probe({ port, servername: 'shop.example.test', ca: root });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'this is shop\n');
    assert.doesNotMatch(reply.cert.issuer, /Portico/);
  }
  assert.match(pebbleLog, /authz \S+ set VALID by completed challenge/);
});

test('ACME tls-alpn-01 only: the TLS listener answers acme-tls/1 with the challenge certificate, and the issued certificate is served', async () => {
  pebbleTlsRootPem = await import('node:fs/promises').then((fs) => fs.readFile(pebbleTlsRoot, 'utf8'));
  await portico.waitFor(/ACME certificate ready for alpn\.example\.test/, 60_000);
  const reply = await probe({ port: await portico.port('https'), servername: 'alpn.example.test', ca: await pebbleRoot() });
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'this is alpn\n');
  // The site offers only tls-alpn-01, so Pebble's validation of this name was that one.
  assert.match(pebbleLog, /Identifier:acme\.Identifier\{Type:"dns", Value:"alpn\.example\.test"\}/);
});

test('ACME with a challenge nothing answers: the site keeps serving its internal certificate, and the CA\'s problem is logged with the next try', async () => {
  const [, wait] = await portico.waitFor(/ACME order 1 for bad\.example\.test failed, still serving the internal certificate; next try in (\d+) s: .*refused the order for bad\.example\.test: /, 60_000);
  assert.ok(Number(wait) >= 4, `retried after ${wait} s: too fast against a CA`);
  const reply = await probe({ port: await portico.port('https'), servername: 'bad.example.test', ca: (await fetchRootCa(box.state)).pem });
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'this is bad\n');
});
