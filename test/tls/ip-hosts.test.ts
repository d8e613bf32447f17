import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchRootCa } from '../support/root-ca.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

const servers = useTestServers('each');

test('an IPv4-mapped IPv6 --host (::ffff:127.0.0.1) gets a certificate that names it, and it validates', async () => {
  // The encoder used to write a 15-byte iPAddress for it, and start-up failed on read-back.
  const portico = servers.serve(anyPortArgs(servers.box, ['--workers', '1', '--host', 'localhost', '--host', '::ffff:127.0.0.1']));
  await portico.waitUntilServing();
  const root = await fetchRootCa(servers.box.state);
  const result = await probe({ port: await portico.port('https'), servername: 'localhost', ca: root.pem });
  assert.equal(result.status, 200);
  assert.ok(result.cert.checkIP('::ffff:127.0.0.1'), `${result.cert.subjectAltName} names ::ffff:127.0.0.1`);
});
