import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { offersGroup } from '../../src/tls/key-exchange-groups.js';
import { PorticoProcess, runPortico } from '../support/portico-process.js';
import { fetchRootCa } from '../support/root-ca.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

// Post-quantum key exchange: the hybrid X25519MLKEM768 (what Chrome and Firefox prefer) is
// Portico's first choice where the runtime's OpenSSL offers it (3.5: Node 24), and tlsGroups pins
// another list. The group is read with Node's own client (getEphemeralKeyInfo).
const MLKEM = offersGroup('X25519MLKEM768');
const NO_MLKEM = `this runtime's OpenSSL (${process.versions.openssl}) has no X25519MLKEM768 (it needs 3.5: Node 24)`;

let box: Sandbox;
let root: string;

before(async () => {
  box = await createSandbox();
});

after(() => box?.remove());

/** Starts Portico with these top-level config lines and returns the group a default Node client negotiated. */
async function negotiated(extra: string): Promise<string | undefined> {
  const config = join(box.dir, `groups-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(config, `http: off\nhttps: 0\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\n${extra}sites:\n  - { name: site, hosts: [localhost], root: ${box.site} }\n`);
  const portico = PorticoProcess.serve(['--config', config]);
  try {
    await portico.waitFor(/^ready: /m);
    const port = await portico.port('https');
    root ??= (await fetchRootCa(box.state)).pem;
    return await new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: root }, () => {
        resolve((socket.getEphemeralKeyInfo() as { name?: string } | null)?.name);
        socket.end();
      });
      socket.on('error', reject);
    });
  } finally {
    await portico.stop();
  }
}

test('post-quantum: by default a client that offers X25519MLKEM768 gets it', { skip: MLKEM ? false : NO_MLKEM }, async () => {
  assert.equal(await negotiated(''), 'X25519MLKEM768');
});

test('tlsGroups pins the groups: with [P-256] a client that prefers others gets P-256', async () => {
  assert.equal(await negotiated('tlsGroups: [P-256]\n'), 'prime256v1');
});

test('tlsGroups: a group the runtime does not offer is one clear config error', async () => {
  const config = join(box.dir, 'bad-groups.yaml');
  await writeFile(config, `https: 0\nhttp: off\ntlsGroups: [X25519, NoSuchGroup]\nsites:\n  - { name: site, hosts: [localhost], root: ${box.site} }\n`);
  const { code, stderr } = await runPortico(['check', '--config', config]);
  assert.equal(code, 1);
  assert.match(stderr, /^portico: \S+bad-groups\.yaml:3:21 tlsGroups\[1\]: "NoSuchGroup" is not a key exchange group this runtime's OpenSSL \(\S+\) offers/m);
});
