import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainsTo, fetchRootCa } from '../support/root-ca.js';
import { INDEX_HTML, serveArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe, type ProbeResult } from '../support/tls-probe.js';

// The founding scenario (KB Q184288): clients connect while the key is still being generated,
// on a multi-core machine, and nothing may break.
const servers = useTestServers();

test('handshakes that arrive before an RSA-4096 key exists are held, then complete with one certificate', async () => {
  const { box } = servers;
  const { args, httpsPort } = await serveArgs(box, ['--workers', '2', '--key-type', 'rsa-4096']);
  const portico = servers.serve(args);
  const startedAt = Date.now();
  const client = (i: number): Promise<ProbeResult> =>
    probe({ port: httpsPort, servername: i % 2 === 0 ? 'localhost' : undefined, retryRefusedUntil: startedAt + 30_000 });

  // 100 clients start with the process, before its listener exists; they retry refused
  // connections, so they connect as soon as the listener is up — while the key is generated.
  const early = Array.from({ length: 100 }, (_, i) => client(i));
  await portico.waitFor(/certificate ready/, 60_000);
  const readySeenAt = Date.now();
  const late = Array.from({ length: 20 }, (_, i) => client(i));
  const results = await Promise.all([...early, ...late]);

  assert.equal(results.length, 120);
  for (const result of results) {
    assert.equal(result.status, 200);
    assert.equal(result.body, INDEX_HTML);
  }
  const fingerprints = new Set(results.map((r) => r.cert.fingerprint256));
  assert.equal(fingerprints.size, 1, 'every client saw the same certificate');

  const root = await fetchRootCa(box.state);
  const leaf = results[0]!.cert;
  assert.ok(chainsTo(leaf, root.cert), 'the certificate chains to `portico ca root`');
  assert.equal(leaf.publicKey.asymmetricKeyDetails?.modulusLength, 4096);

  // Held for real: connected over TCP before the certificate existed, secured after.
  const held = results.filter((r) => r.tcpConnectedAt < readySeenAt - 50 && r.secureAt >= r.tcpConnectedAt);
  assert.ok(held.length > 0, 'some handshakes connected before the certificate was ready');
  const released = portico.matches(/released (\d+) held handshake/g).reduce((sum, m) => sum + Number(m[1]), 0);
  assert.ok(released > 0, `workers report releasing held handshakes:\n${portico.stderr}`);

  // A verifying client (trusting only the root CA) also succeeds, with and without SNI.
  assert.equal((await probe({ port: httpsPort, servername: 'localhost', ca: root.pem })).status, 200);
  assert.equal((await probe({ port: httpsPort, ca: root.pem })).status, 200);

  assert.equal(portico.workerPids().length, 2, 'no worker was restarted');
  assert.doesNotMatch(portico.stderr, /exited with|ERROR/);
});
