import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchRootCa } from '../support/root-ca.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

const servers = useTestServers();

test('a short-lived leaf is renewed and swapped into every worker without a failed handshake', async () => {
  const portico = servers.serve(anyPortArgs(servers.box, ['--workers', '2', '--cert-lifetime', '6s']));
  const httpsPort = await portico.port('https');
  await portico.waitUntilServing();
  const root = await fetchRootCa(servers.box.state);

  // Four clients handshake back to back until each has seen the renewed certificate a few
  // times (bounded: at most 60 s and 2,000 handshakes each). Every handshake must succeed.
  const deadline = Date.now() + 60_000;
  const loop = async (): Promise<Set<string>> => {
    const seen: string[] = [];
    for (let i = 0; i < 2_000 && Date.now() < deadline; i++) {
      const result = await probe({ port: httpsPort, servername: i % 2 ? 'localhost' : undefined, ca: root.pem });
      assert.equal(result.status, 200);
      seen.push(result.cert.serialNumber);
      const renewedSeen = seen.filter((serial) => serial !== seen[0]).length;
      if (renewedSeen >= 5) break;
    }
    return new Set(seen);
  };
  const serialsPerClient = await Promise.all([loop(), loop(), loop(), loop()]);
  for (const serials of serialsPerClient) assert.ok(serials.size >= 2, 'each client saw the certificate change');
  assert.match(portico.stderr, /publishing certificate [\s\S]*publishing certificate/);
  assert.doesNotMatch(portico.stderr, /ERROR|refused certificate/);
  // Stopped now: it shares the state folder with the next test, whose Portico would take its renewals as a fleet member's.
  await portico.stop();
});

test('a leaf that expired while no timer renewed it is never served: the next handshake waits for a new one', async () => {
  // Test-only fault switch (docs/design.md): no renewal timer, so only the check on use remains.
  const portico = servers.serve(anyPortArgs(servers.box, ['--workers', '1', '--cert-lifetime', '3s']), { PORTICO_TEST_FAULT: 'no-scheduled-renewal' });
  const httpsPort = await portico.port('https');
  await portico.waitUntilServing();
  const root = await fetchRootCa(servers.box.state);
  const first = await probe({ port: httpsPort, servername: 'localhost', ca: root.pem });

  // Handshake back to back (bounded) until the certificate changes; each must verify, so an
  // expired certificate served even once fails the test.
  const deadline = Date.now() + 30_000;
  let latest = first;
  for (let i = 0; i < 5_000 && Date.now() < deadline && latest.cert.serialNumber === first.cert.serialNumber; i++) {
    latest = await probe({ port: httpsPort, servername: 'localhost', ca: root.pem });
    assert.equal(latest.status, 200);
  }
  assert.notEqual(latest.cert.serialNumber, first.cert.serialNumber);
  assert.match(portico.stderr, /expire[sd] at .*holding handshakes until it is renewed/);
  assert.match(portico.stderr, /renewing the certificate now: worker 0 found certificate .* expired/);
});
