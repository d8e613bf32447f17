import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PorticoProcess } from '../support/portico-process.js';
import { fetchRootCa } from '../support/root-ca.js';
import { createSandbox, type Sandbox, serveArgs } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

let box: Sandbox;
let portico: PorticoProcess;

before(async () => {
  box = await createSandbox();
});

after(async () => {
  await portico?.stop();
  await box.remove();
});

test('a short-lived leaf is renewed and swapped into every worker without a failed handshake', async () => {
  const { args, httpsPort } = await serveArgs(box, ['--workers', '2', '--cert-lifetime', '6s']);
  portico = PorticoProcess.serve(args);
  await portico.waitUntilServing();
  const root = await fetchRootCa(box.state);

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
});
