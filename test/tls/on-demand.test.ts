import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startPebble, type Pebble } from '../support/pebble.js';
import { PorticoProcess } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

// On-demand TLS against a real ACME CA (Pebble): a site for any name (hosts: ["*"]) whose ask
// endpoint, a small node:http server, allows names starting with ok- or burst-.
let box: Sandbox;
let pebble: Pebble;
let portico: PorticoProcess;
let askServer: Server;
const asked: string[] = [];
const RATE = 5;
/** When the first test's order could have been placed at the earliest: it counts against the burst's minute while that lasts. */
let firstOrderNotBefore: number | undefined;

before(async () => {
  box = await createSandbox();
  pebble = await startPebble(box.dir);
  askServer = createServer((request, response) => {
    const domain = new URL(request.url ?? '/', 'http://ask').searchParams.get('domain') ?? '';
    asked.push(domain);
    response.writeHead(/^(ok|burst)-/.test(domain) ? 200 : 403).end();
  });
  await new Promise<void>((resolve) => askServer.listen(0, '127.0.0.1', resolve));
  const askPort = (askServer.address() as { port: number }).port;
  for (const name of ['main', 'customers']) {
    await mkdir(join(box.dir, name));
    await writeFile(join(box.dir, name, 'index.html'), `this is ${name}\n`);
  }
  await writeFile(
    join(box.dir, 'portico.yaml'),
    [
      `http: ${pebble.httpPort}`,
      `https: ${pebble.httpsPort}`,
      'bind: 127.0.0.1',
      'workers: 2',
      `state: ${box.state}`,
      'sites:',
      '  - { name: main, hosts: [main.example.test], root: ./main, default: true }',
      `  - name: customers`,
      '    hosts: ["*"]',
      '    root: ./customers',
      `    tls: { onDemand: { ask: "http://127.0.0.1:${askPort}/allowed", ratePerMinute: ${RATE}, concurrency: ${RATE} }, acme: { directory: "${pebble.directory}", email: ops@example.test, ca: ${pebble.tlsRootFile}, challenges: [http-01] } }`,
      '',
    ].join('\n'),
  );
  portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')]);
  await portico.waitFor(/^ready: 2 site\(s\)/m, 60_000);
});

after(async () => {
  await portico?.stop();
  pebble?.stop();
  askServer?.close();
  await box?.remove();
});

test('on-demand TLS: an approved name gets a certificate from the ACME CA during its first handshake; the client waits, then verifies it', async () => {
  const orders = pebble.orders();
  firstOrderNotBefore = Date.now();
  const reply = await probe({ port: pebble.httpsPort, servername: 'ok-first.customer.test', ca: await pebble.root() });
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'this is customers\n');
  assert.deepEqual(reply.cert.subjectAltName, 'DNS:ok-first.customer.test');
  assert.equal(pebble.orders() - orders, 1);
  assert.ok(asked.includes('ok-first.customer.test'));
  // The second handshake is served from memory: no new order.
  assert.equal((await probe({ port: pebble.httpsPort, servername: 'ok-first.customer.test', ca: await pebble.root() })).cert.fingerprint256, reply.cert.fingerprint256);
  assert.equal(pebble.orders() - orders, 1);
});

test('on-demand TLS: a name the ask endpoint refuses gets a TLS alert (unrecognized_name), nothing is ordered, and the refusal is logged', async () => {
  const orders = pebble.orders();
  await assert.rejects(probe({ port: pebble.httpsPort, servername: 'evil.customer.test', ca: await pebble.root() }), /alert unrecognized name|unrecognized_name|SSL alert number 112/i);
  assert.equal(pebble.orders(), orders);
  assert.ok(asked.includes('evil.customer.test'));
  await portico.waitFor(/WARN .*on-demand TLS: no certificate for evil\.customer\.test \(site customers\): http:\/\/127\.0\.0\.1:\d+\/allowed answered 403 for it/);
  // The server serves on: the site's own names, and other clients.
  assert.equal((await probe({ port: pebble.httpsPort, servername: 'main.example.test' })).status, 200);
});

test(`on-demand TLS: 50 approved random names in a burst order no more than the configured rate (${RATE} a minute); the others get an alert`, async () => {
  const orders = pebble.orders();
  const root = await pebble.root();
  const names = Array.from({ length: 50 }, () => `burst-${randomBytes(6).toString('hex')}.customer.test`);
  const results = await Promise.allSettled(names.map((servername) => probe({ port: pebble.httpsPort, servername, ca: root })));
  const served = results.filter((result) => result.status === 'fulfilled').length;
  const ordered = pebble.orders() - orders;
  // The first test's order counts against the same minute, unless a slow machine let that minute
  // pass before the burst was decided: then the whole rate was the burst's.
  const budget = firstOrderNotBefore !== undefined && Date.now() - firstOrderNotBefore < 60_000 ? RATE - 1 : RATE;
  assert.ok(ordered >= 1 && ordered <= budget, `${ordered} orders for a burst of 50 names; between 1 and ${budget} expected`);
  assert.equal(served, ordered, 'every name that was served was ordered, and no more');
  for (const result of results) if (result.status === 'rejected') assert.match(String(result.reason), /alert unrecognized name|unrecognized_name|SSL alert number 112/i);
  await portico.waitFor(/on-demand TLS: no certificate for burst-\S+ \(site customers\): \d+ certificates were ordered in the last minute \(tls\.onDemand\.ratePerMinute\)|orders are in progress already/);
});
