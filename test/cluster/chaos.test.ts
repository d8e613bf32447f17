import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { test } from 'node:test';
import { fetchRootCa } from '../support/root-ca.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

// A chaos loop: a random worker is SIGKILLed every 2 s for 30 s while eight clients keep
// requesting. Only requests in flight on a killed worker may fail; the others are served by the
// rest, the killed workers come back, and nothing in the state folder is touched. Four workers,
// so rapid-fail protection (5 failures in 5 minutes per slot) leaves most slots running.
const servers = useTestServers('each');
const DURATION_MS = 30_000;
const KILL_EVERY_MS = 2_000;
const CLIENTS = 8;

function get(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, headers: { host: 'x', connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
    req.setTimeout(5_000, () => req.destroy());
    req.end();
  });
}

async function listState(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((name) => !name.startsWith('locks')).sort();
}

test('killing a random worker every 2 s for 30 s under load fails only what was in flight on it', async (t) => {
  const portico = servers.serve(anyPortArgs(servers.box, ['--workers', '4']));
  const port = await portico.port('http');
  await portico.waitUntilServing();
  const stateBefore = await listState(servers.box.state);
  const root = await fetchRootCa(servers.box.state);
  const fingerprint = (await probe({ port: await portico.port('https'), servername: 'localhost', ca: root.pem })).cert.fingerprint256;

  const deadline = Date.now() + DURATION_MS;
  let served = 0;
  let failed = 0;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (Date.now() < deadline) {
      if (await get(port)) served += 1;
      else failed += 1;
    }
  });
  let kills = 0;
  const killed = new Set<number>();
  while (Date.now() + KILL_EVERY_MS < deadline) {
    await new Promise((resolve) => setTimeout(resolve, KILL_EVERY_MS));
    const live = portico.workerPids().filter((pid) => !killed.has(pid));
    const victim = live[Math.floor(Math.random() * live.length)];
    if (victim === undefined) continue;
    killed.add(victim);
    process.kill(victim, 'SIGKILL');
    kills += 1;
  }
  await Promise.all(clients);
  t.diagnostic(`${kills} workers killed; ${served} requests served, ${failed} failed`);

  assert.ok(kills >= 12, `${kills} workers killed`);
  assert.ok(served > 1_000, `${served} requests served`);
  assert.ok(failed <= kills * CLIENTS, `${failed} failed requests for ${kills} kills of ${CLIENTS} clients' in-flight requests`);
  assert.equal(portico.child.exitCode, null, 'the primary keeps running');
  assert.equal(await get(port), true, 'served afterwards');
  assert.deepEqual(await listState(servers.box.state), stateBefore, 'nothing written, set aside or torn in the state folder');
  const after = await probe({ port: await portico.port('https'), servername: 'localhost', ca: root.pem });
  assert.equal(after.cert.fingerprint256, fingerprint, 'the same certificate, verified against the root');
  assert.doesNotMatch(portico.stderr, /aside/);
});
