import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

// The wall clock jumps by days under a running Portico (a VM resumed, NTP stepping a clock
// that was far off). Debian's libfaketime moves the wall clock of the primary and its workers
// at run time; timers run on the monotonic clock, which it leaves alone (DONT_FAKE_MONOTONIC).
// Each jump must lead to exactly one new certificate: no storm of reissues, no stall.
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const servers = useTestServers('each');

test('the wall clock jumping 8 days forward, then back, renews once each time and keeps serving', { skip: existsSync(LIBFAKETIME) ? false : `no libfaketime at ${LIBFAKETIME} (Debian: libfaketime)` }, async () => {
  const offset = join(servers.box.dir, 'clock-offset');
  await writeFile(offset, '+0');
  const portico = servers.serve(anyPortArgs(servers.box, ['--workers', '1', '--http', 'off']), {
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME_TIMESTAMP_FILE: offset,
    FAKETIME_NO_CACHE: '1',
    DONT_FAKE_MONOTONIC: '1',
  });
  const port = await portico.port('https');
  await portico.waitUntilServing();
  const issued = (): number => portico.matches(/issuing a ec-p256 certificate/g).length;
  // The test's own clock is not moved, so it reads the certificates without judging their dates.
  const served = async (): Promise<string> => (await probe({ port, servername: 'localhost' })).cert.fingerprint256;
  const first = await served();
  assert.equal(issued(), 1);

  // Eight days on: the seven-day certificate has expired. The next handshake waits for one new
  // certificate and gets it.
  await writeFile(offset, '+8d');
  const afterForward = await served();
  assert.notEqual(afterForward, first, 'a new certificate after the jump forward');
  for (let i = 0; i < 5; i++) assert.equal(await served(), afterForward);
  assert.equal(issued(), 2, 'one issuance for the jump, not a storm');

  // Back to the true time: the new certificate is not valid yet, so once more exactly one.
  await writeFile(offset, '+0');
  const afterBack = await served();
  assert.notEqual(afterBack, afterForward, 'a new certificate after the jump back');
  for (let i = 0; i < 5; i++) assert.equal(await served(), afterBack);
  assert.equal(issued(), 3, 'one issuance for the jump back');
  assert.match(portico.stderr, /is not valid until .* \(did the clock move back\?\); holding handshakes until it is renewed/);
  assert.doesNotMatch(portico.stderr, /renewal failed/);
});
