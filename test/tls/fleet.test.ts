import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { startPebble, type Pebble } from '../support/pebble.js';
import { PorticoProcess, runPortico } from '../support/portico-process.js';
import { eventually } from '../support/eventually.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

// A fleet: one redis-server, three Portico instances with the same config on 127.0.0.1, .2 and
// .3 (same ports, their own state folders: all they share is Redis), 2 workers each. Pebble
// validates against 127.0.0.1 only, so whichever instance orders, instance 1 must answer the
// challenge from the shared store.
let box: Sandbox;
let redis: RedisServer;
let pebble: Pebble;
const running: PorticoProcess[] = [];

before(async () => {
  box = await createSandbox();
  [redis, pebble] = await Promise.all([startRedis(), startPebble(box.dir)]);
  await mkdir(join(box.dir, 'fleet-site'));
  await writeFile(join(box.dir, 'fleet-site', 'index.html'), 'one fleet\n');
});

/** Every instance a test started is stopped when it ends, pass or fail (a stopped one is continued first), so the next finds the ports free. */
async function stopInstances(): Promise<void> {
  for (const portico of running.splice(0)) {
    if (portico.child.exitCode === null && portico.child.signalCode === null) portico.child.kill('SIGCONT');
    await portico.stop();
  }
}
afterEach(stopInstances);

after(async () => {
  await stopInstances();
  pebble?.stop();
  await redis?.stop();
  await box?.remove();
});

/**
 * Lock leases. The exactly-once tests use a lease a stalled machine cannot outlast (a holder that
 * stops for longer than its lease loses the lock, and a second order follows): 2 s of stall broke
 * them with 3 s. Only the take-over tests, which wait for a lease to run out, use a short one.
 */
const LEASE = '60s';
const TAKEOVER_LEASE = '3s';

/** The config file of instance n (1 to 3) of a fleet run: identical but for the address it binds and its own state folder. */
async function configFile(run: string, n: number, host: string, challenge = 'http-01', lease = LEASE): Promise<string> {
  const file = join(box.dir, `${run}-${n}.yaml`);
  await writeFile(
    file,
    [
      `http: ${pebble.httpPort}`,
      `https: ${pebble.httpsPort}`,
      `bind: 127.0.0.${n}`,
      'workers: 2',
      `state: ${join(box.dir, `${run}-state-${n}`)}`,
      `storage: { redis: { url: "${redis.url}", prefix: ${run}, lease: ${lease} } }`,
      'sites:',
      `  - { name: fleet, hosts: [${host}], root: ./fleet-site, tls: { acme: { directory: "${pebble.directory}", email: ops@example.test, ca: ${pebble.tlsRootFile}, challenges: [${challenge}] } } }`,
      '',
    ].join('\n'),
  );
  return file;
}

function start(file: string, fault?: string): PorticoProcess {
  const portico = PorticoProcess.serve(['--config', file], fault ? { PORTICO_TEST_FAULT: fault } : {});
  running.push(portico);
  return portico;
}

/**
 * The leaf instance n serves for `host`, verified against Pebble's root. A primary says a
 * certificate is ready as it sends it to its workers, so a worker may still serve the internal
 * one for a moment: tried again for up to 5 s.
 */
async function servedBy(n: number, host: string): Promise<string> {
  const ca = await pebble.root();
  return eventually(
    async () => {
      const reply = await probe({ host: `127.0.0.${n}`, port: pebble.httpsPort, servername: host, ca });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'one fleet\n');
      return reply.cert.fingerprint256;
    },
    { what: `instance ${n} serves ${host}`, timeoutMs: 5_000 },
  );
}

test('fleet: three instances started at once order the certificate exactly once, and all three serve it; cert renew on one renews it for all', async () => {
  const host = 'fleet1.example.test';
  const ordersBefore = pebble.orders();
  const files = await Promise.all([1, 2, 3].map((n) => configFile('run1', n, host)));
  const instances = files.map((file) => start(file));
  // The machine stalls for 4 s while the order is under way (every instance stopped, as a loaded
  // host or a VM pause does): the holder keeps its lock, nobody orders a second time.
  await Promise.any(instances.map((portico) => portico.waitFor(/waiting for the lock run1:locks:\S+: held by pid \d+ /, 60_000)));
  for (const portico of instances) portico.child.kill('SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  for (const portico of instances) portico.child.kill('SIGCONT');
  await Promise.all(instances.map((portico) => portico.waitFor(/ACME certificate ready for fleet1\.example\.test/, 90_000)));
  assert.equal(pebble.orders() - ordersBefore, 1, 'Pebble created exactly one order');
  const served = await Promise.all([1, 2, 3].map((n) => servedBy(n, host)));
  assert.equal(new Set(served).size, 1, `one certificate for the whole fleet: ${served.join(' ')}`);

  // Renewal, through the same lock, from any one instance's config: every instance serves the new one.
  const renewed = await runPortico(['cert', 'renew', '--site', 'fleet', '--config', files[1]!]);
  assert.equal(renewed.code, 0, renewed.stderr);
  const [, fingerprint] = /renewed fleet1\.example\.test \(site fleet\): sha256 (\S+),/.exec(renewed.stdout) ?? [];
  assert.ok(fingerprint && fingerprint !== served[0], renewed.stdout);
  assert.equal(pebble.orders() - ordersBefore, 2);
  for (const portico of instances) await portico.waitFor(new RegExp(`publishing certificate \\S+ \\(sha256 ${fingerprint}\\)`), 10_000);
  // The primary logs before its message reaches its workers: served a moment later.
  await eventually(async () => (await Promise.all([1, 2, 3].map((n) => servedBy(n, host)))).every((served) => served === fingerprint), { what: 'every instance serves the renewed certificate', timeoutMs: 5_000 });
  await Promise.all(instances.map((portico) => portico.stop()));
});

test('fleet: the instance holding the lock is killed (SIGKILL) while its order is pending; another takes over when the lease runs out and completes; one certificate is served by all', async () => {
  const host = 'fleet2.example.test';
  const files = await Promise.all([1, 2, 3].map((n) => configFile('run2', n, host, 'http-01', TAKEOVER_LEASE)));
  const holder = start(files[1]!, 'slow-acme-challenge');
  await holder.waitFor(/\(test fault\) waiting up to 20 s \(SIGUSR2 ends the wait\) before answering the challenge for fleet2\.example\.test/, 60_000);
  const others = [start(files[0]!), start(files[2]!)];
  for (const portico of others) await portico.waitFor(new RegExp(`waiting for the lock run2:locks:\\S+: held by pid ${holder.pid} `), 30_000);
  holder.child.kill('SIGKILL');
  await holder.waitForExit();
  await Promise.all(others.map((portico) => portico.waitFor(/ACME certificate ready for fleet2\.example\.test/, 60_000)));
  const served = await Promise.all([1, 3].map((n) => servedBy(n, host)));
  assert.equal(new Set(served).size, 1, `one certificate: ${served.join(' ')}`);
  await Promise.all(others.map((portico) => portico.stop()));
});

test('fleet: a holder that stalls past its lease (SIGSTOP, then SIGCONT) cannot overwrite the certificate the next holder stored (fencing)', async () => {
  const host = 'fleet3.example.test';
  const files = await Promise.all([1, 2, 3].map((n) => configFile('run3', n, host, 'http-01', TAKEOVER_LEASE)));
  // The holder must be instance 2 and must finish its order alone: for that order only, Pebble
  // validates against 127.0.0.2; the takeover's order is validated against 127.0.0.1 again.
  await pebble.resolve(host, '127.0.0.2');
  const stalled = start(files[1]!, 'stop-after-acme-order');
  await stalled.waitFor(/\(test fault\) issued for fleet3\.example\.test; stopping this process before storing it/, 60_000);
  await pebble.resolve(host, '127.0.0.1');
  const others = [start(files[0]!), start(files[2]!)];
  await Promise.all(others.map((portico) => portico.waitFor(/ACME certificate ready for fleet3\.example\.test/, 60_000)));
  const [newer] = await Promise.all([1, 3].map((n) => servedBy(n, host)));
  // The stalled holder wakes with its own certificate in hand: the store refuses it.
  stalled.child.kill('SIGCONT');
  await stalled.waitFor(/ACME order 1 for fleet3\.example\.test failed, .*lost the lock run3:locks:\S+ to another instance \(its lease ran out\) before storing; nothing was written/, 30_000);
  // Its next try finds the newer certificate in the store and serves that one.
  await stalled.waitFor(/ACME certificate ready for fleet3\.example\.test/, 30_000);
  assert.deepEqual(await Promise.all([1, 2, 3].map((n) => servedBy(n, host))), [newer, newer, newer]);
  await Promise.all([stalled, ...others].map((portico) => portico.stop()));
});

test('fleet: tls-alpn-01 only: the instance the CA validates against answers with the challenge certificate another instance\'s order put in the store', async () => {
  const host = 'fleet4.example.test';
  const files = await Promise.all([1, 2].map((n) => configFile('run4', n, host, 'tls-alpn-01')));
  // Instance 2 orders (its answer waits), instance 1 waits for the lock, then instance 2 goes on; Pebble then
  // validates against 127.0.0.1, which has no answer of its own: only the store has it.
  const orderer = start(files[1]!, 'slow-acme-challenge');
  await orderer.waitFor(/\(test fault\) waiting up to 20 s \(SIGUSR2 ends the wait\) before answering the challenge for fleet4\.example\.test/, 60_000);
  const validated = start(files[0]!);
  await validated.waitFor(/waiting for the lock run4:locks:/, 30_000);
  orderer.child.kill('SIGUSR2');
  await Promise.all([orderer, validated].map((portico) => portico.waitFor(/ACME certificate ready for fleet4\.example\.test/, 60_000)));
  assert.match(pebble.log(), /Identifier:acme\.Identifier\{Type:"dns", Value:"fleet4\.example\.test"\}/);
  const served = await Promise.all([1, 2].map((n) => servedBy(n, host)));
  assert.equal(new Set(served).size, 1);
  await Promise.all([orderer, validated].map((portico) => portico.stop()));
});
