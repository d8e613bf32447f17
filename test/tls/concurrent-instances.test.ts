import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainsTo, fetchRootCa } from '../support/root-ca.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

const servers = useTestServers();

test('three instances started at once on one state directory generate once and serve the same certificate', async () => {
  const { box } = servers;
  const running = [1, 2, 3].map(() => servers.serve(anyPortArgs(box, ['--workers', '1', '--key-type', 'rsa-4096'])));
  await Promise.all(running.map((portico) => portico.waitUntilServing()));

  const served = await Promise.all(running.map(async (portico) => probe({ port: await portico.port('https'), servername: 'localhost' })));
  assert.equal(new Set(served.map((result) => result.cert.fingerprint256)).size, 1, 'every instance serves the same certificate');
  assert.ok(chainsTo(served[0]!.cert, (await fetchRootCa(box.state)).cert));

  const output = running.map((portico) => portico.output).join('\n');
  assert.equal(output.match(/creating the internal root CA/g)?.length, 1, `one root CA was created:\n${output}`);
  assert.equal(output.match(/issuing a rsa-4096 certificate/g)?.length, 1, `one leaf was issued:\n${output}`);
});
