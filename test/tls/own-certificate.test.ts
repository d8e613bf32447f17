import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PemPair } from '../../src/tls/keys.js';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { PorticoProcess, runPortico } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

// The user's own certificate: from flags or a config file, a full chain, RSA or EC, an encrypted
// key, read again on reload. A CA of the test's own stands in for a commercial one.
let box: Sandbox;
let root: PemPair;

const validity = (): { notBefore: number; notAfter: number } => ({ notBefore: Date.now() - 60_000, notAfter: Date.now() + 86_400_000 });

before(async () => {
  box = await createSandbox();
  root = await createRootCa(Date.now());
});

after(() => box?.remove());

/** Writes a leaf and its key; the certificate file holds the full chain (leaf, then the CA). */
async function writePair(name: string, hosts: string[], keyType: 'ec-p256' | 'rsa-2048' = 'ec-p256', passphrase?: string): Promise<{ cert: string; key: string; fingerprint: string }> {
  const leaf = await issueLeaf(root, hosts, keyType, validity());
  const cert = join(box.dir, `${name}.crt`);
  const key = join(box.dir, `${name}.key`);
  await writeFile(cert, leaf.certPem + root.certPem);
  const keyPem = passphrase === undefined ? leaf.keyPem : (createPrivateKey(leaf.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string);
  await writeFile(key, keyPem);
  const { X509Certificate } = await import('node:crypto');
  return { cert, key, fingerprint: new X509Certificate(leaf.certPem).fingerprint256 };
}

test('--cert and --key serve your own certificate (a full chain, RSA), for the names it covers, verified by a client that trusts its CA', async () => {
  const pair = await writePair('flags', ['www.example.test'], 'rsa-2048');
  const portico = PorticoProcess.serve([box.site, '--bind', '127.0.0.1', '--http', 'off', '--https', '0', '--workers', '1', '--state', box.state, '--cert', pair.cert, '--key', pair.key]);
  try {
    await portico.waitFor(/^ready: /m);
    const reply = await probe({ port: await portico.port('https'), servername: 'www.example.test', ca: root.certPem });
    assert.equal(reply.status, 200);
    assert.equal(reply.cert.fingerprint256, pair.fingerprint);
    assert.match(portico.stdout, /certificate ready for www\.example\.test \(rsa-2048, .*\); from .*flags\.crt/);
  } finally {
    await portico.stop();
  }
});

test('--cert without --key is refused, naming what is missing', async () => {
  const { code, stderr } = await runPortico(['serve', box.site, '--cert', join(box.dir, 'flags.crt')]);
  assert.equal(code, 1);
  assert.match(stderr, /--cert needs --key too: give the certificate and its private key/);
});

test('an encrypted key needs passphraseFile; with it the site is served, and without it the config says what to add', async () => {
  const pair = await writePair('locked', ['locked.example.test'], 'ec-p256', 'open sesame');
  await writeFile(join(box.dir, 'passphrase.txt'), 'open sesame\n');
  const site = (extra: string): string => `http: off\nhttps: 0\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\nsites:\n  - name: locked\n    hosts: [locked.example.test]\n    root: ./site\n    tls: { cert: ./locked.crt, key: ./locked.key${extra} }\n`;
  await writeFile(join(box.dir, 'without.yaml'), site(''));
  const refused = await runPortico(['check', '--config', join(box.dir, 'without.yaml')]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /sites\[0\]\.tls\.key: .*locked\.key is encrypted; add passphraseFile: FILE with its passphrase/);
  await writeFile(join(box.dir, 'with.yaml'), site(', passphraseFile: ./passphrase.txt'));
  const portico = PorticoProcess.serve(['--config', join(box.dir, 'with.yaml')]);
  try {
    await portico.waitFor(/^ready: /m);
    const reply = await probe({ port: await portico.port('https'), servername: 'locked.example.test', ca: root.certPem });
    assert.equal(reply.status, 200);
    assert.equal(reply.cert.fingerprint256, pair.fingerprint);
  } finally {
    await portico.stop();
  }
});

test('own certificate files are read again on reload: a replaced pair is served, a broken one is refused and the old one kept', async () => {
  const first = await writePair('own', ['own.example.test']);
  const config = join(box.dir, 'own.yaml');
  await writeFile(config, `http: off\nhttps: 0\nbind: 127.0.0.1\nworkers: 2\nstate: ${box.state}\nsites:\n  - { name: own, hosts: [own.example.test], root: ./site, tls: { cert: ./own.crt, key: ./own.key } }\n`);
  const portico = PorticoProcess.serve(['--config', config]);
  try {
    await portico.waitFor(/^ready: /m);
    const port = await portico.port('https');
    const served = async (): Promise<string> => (await probe({ port, servername: 'own.example.test', ca: root.certPem })).cert.fingerprint256;
    assert.equal(await served(), first.fingerprint);

    const second = await writePair('own', ['own.example.test']);
    assert.equal((await runPortico(['reload', '--config', config])).code, 0);
    await portico.waitFor(/reloaded: own/);
    for (let i = 0; i < 4; i += 1) assert.equal(await served(), second.fingerprint, 'every worker serves the replaced certificate');

    // A key that is not the certificate's: `portico reload` refuses it before signalling; SIGHUP, in the primary.
    await writePair('stray', ['own.example.test']);
    await writeFile(join(box.dir, 'own.key'), await import('node:fs/promises').then((fs) => fs.readFile(join(box.dir, 'stray.key'), 'utf8')));
    const refused = await runPortico(['reload', '--config', config]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /own\.key is not the private key of .*own\.crt/);
    process.kill(portico.pid, 'SIGHUP');
    await portico.waitFor(/reload refused \(1 problem\(s\) above\)/);
    assert.equal(await served(), second.fingerprint);
  } finally {
    await portico.stop();
  }
});
