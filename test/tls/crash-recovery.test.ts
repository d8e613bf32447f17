import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PorticoProcess } from '../support/portico-process.js';
import { fetchRootCa } from '../support/root-ca.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

const servers = useTestServers('each');
const start = (args: string[], env: NodeJS.ProcessEnv = {}): PorticoProcess => servers.serve(args, env);

/** After a crash, a restart serves a certificate a verifying client accepts. */
async function assertRestartServesValidCertificate(extra: string[] = []): Promise<PorticoProcess> {
  const restarted = start(anyPortArgs(servers.box, ['--workers', '1', ...extra]));
  await restarted.waitUntilServing();
  const root = await fetchRootCa(servers.box.state);
  const result = await probe({ port: await restarted.port('https'), servername: 'localhost', ca: root.pem });
  assert.equal(result.status, 200);
  return restarted;
}

test('a primary killed with SIGKILL while generating a key is followed by a start that serves a valid certificate', async () => {
  const first = start(anyPortArgs(servers.box, ['--workers', '1', '--key-type', 'rsa-4096']));
  await first.waitFor(/issuing a rsa-4096 certificate/);
  first.child.kill('SIGKILL');
  await first.stop();

  // The same certificate, so the same lock: the dead primary's lock.
  const restarted = await assertRestartServesValidCertificate(['--key-type', 'rsa-4096']);
  // The dead primary's lock was taken over at once (its pid is gone), not waited out.
  assert.match(restarted.stderr, /took over stale lock .*\.lock/);
});

