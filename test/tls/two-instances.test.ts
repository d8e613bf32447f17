import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PorticoProcess } from '../support/portico-process.js';
import { chainsTo, fetchRootCa } from '../support/root-ca.js';
import { createSandbox, type Sandbox, serveArgs } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

let box: Sandbox;
const running: PorticoProcess[] = [];

before(async () => {
  box = await createSandbox();
});

after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await box.remove();
});

test('two instances started at once on one state directory generate once and serve the same certificate', async () => {
  const a = await serveArgs(box, ['--workers', '1', '--key-type', 'rsa-4096']);
  const b = await serveArgs(box, ['--workers', '1', '--key-type', 'rsa-4096']);
  running.push(PorticoProcess.serve(a.args), PorticoProcess.serve(b.args));
  await Promise.all(running.map((p) => p.waitUntilServing()));

  const [fromA, fromB] = await Promise.all([probe({ port: a.httpsPort, servername: 'localhost' }), probe({ port: b.httpsPort, servername: 'localhost' })]);
  assert.equal(fromA.cert.fingerprint256, fromB.cert.fingerprint256);
  assert.ok(chainsTo(fromA.cert, (await fetchRootCa(box.state)).cert));

  const output = running.map((p) => p.output).join('\n');
  assert.equal(output.match(/creating the internal root CA/g)?.length, 1, `one root CA was created:\n${output}`);
  assert.equal(output.match(/issuing a rsa-4096 certificate/g)?.length, 1, `one leaf was issued:\n${output}`);
});
