import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startPebble } from '../support/pebble.js';
import { PorticoProcess } from '../support/portico-process.js';
import { eventually } from '../support/eventually.js';
import { createSandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

// ACME renewal with an injected clock: Debian's libfaketime moves the wall clock of Portico's
// primary and workers (not Pebble's, not the test's) past two thirds of the certificate's
// lifetime; timers keep the monotonic clock (DONT_FAKE_MONOTONIC).
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

test('ACME renewal: past two thirds of its lifetime the certificate is ordered again, once, and the new one is served', { skip: existsSync(LIBFAKETIME) ? false : `no libfaketime at ${LIBFAKETIME} (Debian: libfaketime)` }, async () => {
  const box = await createSandbox();
  const pebble = await startPebble(box.dir);
  let portico: PorticoProcess | undefined;
  try {
    await mkdir(join(box.dir, 'renew'));
    await writeFile(join(box.dir, 'renew', 'index.html'), 'renewed\n');
    const config = join(box.dir, 'portico.yaml');
    await writeFile(config, `http: ${pebble.httpPort}\nhttps: ${pebble.httpsPort}\nbind: 127.0.0.1\nworkers: 2\nstate: ${box.state}\nsites:\n  - { name: renew, hosts: [renew.example.test], root: ./renew, tls: { acme: { directory: "${pebble.directory}", email: ops@example.test, ca: ${pebble.tlsRootFile}, challenges: [http-01] } } }\n`);
    const offset = join(box.dir, 'clock-offset');
    await writeFile(offset, '+0');
    portico = PorticoProcess.serve(['--config', config], { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: offset, FAKETIME_NO_CACHE: '1', DONT_FAKE_MONOTONIC: '1' });
    await portico.waitFor(/ACME certificate ready for renew\.example\.test/, 60_000);
    const root = await pebble.root();
    const served = async (): Promise<string | undefined> => (await probe({ port: pebble.httpsPort, servername: 'renew.example.test', ca: root }).catch(() => undefined))?.cert.fingerprint256;
    await eventually(async () => (await served()) !== undefined, { what: 'the ACME certificate served', timeoutMs: 5_000 });
    const first = (await probe({ port: pebble.httpsPort, servername: 'renew.example.test', ca: root })).cert;
    const orders = pebble.orders();

    // Two thirds of the way through its lifetime, plus a minute.
    const notBefore = Date.parse(first.validFrom);
    const due = notBefore + ((Date.parse(first.validTo) - notBefore) * 2) / 3;
    await writeFile(offset, `+${Math.ceil((due - Date.now()) / 1000) + 60}`);

    await portico.waitFor(/ordering a certificate for renew\.example\.test[\s\S]*ordering a certificate for renew\.example\.test/, 30_000);
    // Pebble's new certificate starts at Pebble's time, so to Portico's clock it is due at once:
    // it says so and waits an hour instead of ordering again and again.
    await portico.waitFor(/WARN .*the certificate just obtained for renew\.example\.test is already due for renewal .*is this machine's clock right\?\); the next renewal is in 60 min/, 30_000);
    assert.equal(pebble.orders() - orders, 1, 'one order for the renewal');
    await eventually(async () => { const now = await served(); return now !== undefined && now !== first.fingerprint256; }, { what: 'the renewed certificate is served', timeoutMs: 5_000 });
    assert.equal(pebble.orders() - orders, 1, 'still one');
  } finally {
    await portico?.stop();
    pebble.stop();
    await box.remove();
  }
});
