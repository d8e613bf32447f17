import assert from 'node:assert/strict';
import { leafId } from '../../src/tls/storage/storage-keys.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

const servers = useTestServers();

test('a handshake held past --hold-timeout gets a TLS alert and a log line; plain HTTP serves meanwhile', async () => {
  // This test process holds the state directory's lock (a live pid, a fresh file), so Portico
  // waits for key material exactly as it would behind another instance generating a key.
  const { box } = servers;
  await mkdir(join(box.state, 'locks'), { recursive: true });
  // The lock of the default certificate (one lock per certificate), held by this live process.
  await writeFile(join(box.state, 'locks', `${leafId(['localhost', '127.0.0.1', '::1'], 'ec-p256')}.lock`), JSON.stringify({ pid: process.pid, hostname: hostname(), token: 'test', acquiredAt: new Date().toISOString() }));
  const portico = servers.serve(anyPortArgs(box, ['--workers', '1', '--hold-timeout', '1s']));
  await portico.waitFor(/waiting for .*localhost-ec-p256-\w+\.lock: held by pid/);
  const httpPort = await portico.port('http');
  const httpsPort = await portico.port('https');

  assert.equal((await fetch(`http://127.0.0.1:${httpPort}/`)).status, 200, 'plain HTTP does not wait for the certificate');
  await assert.rejects(probe({ port: httpsPort, servername: 'localhost' }), /alert internal error/);
  await portico.waitFor(/no certificate within 1000 ms: sent TLS alert internal_error/);
  assert.equal(portico.child.exitCode, null, 'the server keeps running');
});
