import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchRootCa } from '../support/root-ca.js';
import { anyPortArgs, serveArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

const servers = useTestServers('each');

test('a worker killed with SIGKILL is replaced, and the replacement serves HTTPS at once', async () => {
  // One worker, so every connection after the kill reaches the replacement; a short hold
  // timeout makes a replacement without a certificate fail fast instead of passing late.
  const { args, httpsPort } = await serveArgs(servers.box, ['--workers', '1', '--hold-timeout', '5s']);
  const portico = servers.serve(args);
  await portico.waitUntilServing();
  const [firstPid] = portico.workerPids();
  process.kill(firstPid!, 'SIGKILL');
  await portico.waitFor(/worker 0 \(pid \d+\) exited with signal SIGKILL; restarting/);
  await portico.waitFor(/worker 0 started \(pid \d+\)[\s\S]*worker 0 started \(pid \d+\)/);
  const secondPid = portico.workerPids()[1]!;
  assert.notEqual(secondPid, firstPid);

  const root = await fetchRootCa(servers.box.state);
  const result = await probe({ port: httpsPort, servername: 'localhost', ca: root.pem, retryRefusedUntil: Date.now() + 10_000 });
  assert.equal(result.status, 200);
});

test('rapid-fail protection stops restarting a worker that keeps dying, and the others keep serving', async () => {
  // Test-only fault switch (docs/design.md): the worker in slot 1 exits soon after it listens.
  // Fixed ports: with port 0, a listener whose only holder crashed before the other worker
  // listened would be given a new port by the cluster, not the one announced.
  const { args, httpPort, httpsPort } = await serveArgs(servers.box, ['--workers', '2']);
  const portico = servers.serve(args, { PORTICO_TEST_FAULT: 'crash-worker-slot:1' });
  await portico.waitUntilServing();
  await portico.waitFor(/RAPID-FAIL PROTECTION: worker 1 failed 5 times/);
  assert.equal(portico.matches(/worker 1 started/g).length, 5, 'slot 1 was started five times, then left stopped');
  assert.match(portico.stderr, /1 of 2 worker\(s\) still serving/);

  const root = await fetchRootCa(servers.box.state);
  assert.equal((await probe({ port: httpsPort, servername: 'localhost', ca: root.pem })).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${httpPort}/`)).status, 200);
  assert.equal(portico.child.exitCode, null, 'the primary keeps running');
});

test('SIGTERM stops accepting and exits 0', async () => {
  const portico = servers.serve(anyPortArgs(servers.box, ['--workers', '2']));
  await portico.waitUntilServing();
  const { code } = await portico.stop('SIGTERM');
  assert.equal(code, 0);
  assert.match(portico.stderr, /shutting down \(SIGTERM\)/);
});

test('a second Ctrl-C stops at once, without waiting for a download in flight', async () => {
  const { writeFile, open } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { request } = await import('node:http');
  const large = await open(join(servers.box.site, 'large.bin'), 'w');
  await large.truncate(256 * 1024 * 1024);
  await large.close();
  await writeFile(join(servers.box.site, 'small.txt'), 'x');
  const portico = servers.serve(anyPortArgs(servers.box, ['--workers', '1']));
  const port = await portico.port('http');
  // A client that starts a large download and stops reading keeps the worker draining.
  const stalled = await new Promise<import('node:http').ClientRequest>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/large.bin', agent: false }, (res) => res.once('data', () => (res.pause(), resolve(req))));
    req.on('error', reject);
    req.end();
  });
  portico.child.kill('SIGINT');
  // The same interrupt delivered twice at once (npm start forwards Ctrl-C to its child) is one.
  portico.child.kill('SIGINT');
  await portico.waitFor(/waiting up to \d+ ms for 1 request\(s\) in flight/);
  await portico.waitFor(/still draining 1 worker\(s\); Ctrl-C again stops at once/);
  assert.equal(portico.child.exitCode, null, 'a doubled delivery did not force the stop');
  portico.child.kill('SIGINT');
  const deadline = new Promise<'still running'>((resolve) => setTimeout(resolve, 5_000, 'still running').unref());
  const result = await Promise.race([portico.waitForExit(), deadline]);
  stalled.destroy();
  assert.notEqual(result, 'still running', 'the second Ctrl-C does not wait out the 10 s grace period');
  if (result === 'still running') return;
  assert.equal(result.code, 130);
  assert.match(portico.stderr, /SIGINT again: stopping now/);
});
