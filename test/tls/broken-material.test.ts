import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { splitPair } from '../../src/tls/storage/pair-storage.js';
import { PorticoProcess } from '../support/portico-process.js';
import { chainsTo, fetchRootCa } from '../support/root-ca.js';
import { anyPortArgs, createSandbox, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

// One state directory is made once, then copied, damaged and started from in each test.
let box: Sandbox;
let pristine: string;
let leafFolder: string;
let otherGeneration: { key: string; cert: string };

async function runUntilReady(state: string): Promise<void> {
  const portico = PorticoProcess.serve(anyPortArgs({ ...box, state }, ['--workers', '1']));
  await portico.waitUntilServing();
  assert.equal((await portico.stop()).code, 0);
}

before(async () => {
  box = await createSandbox();
  pristine = join(box.dir, 'pristine');
  await runUntilReady(pristine);
  leafFolder = (await readdir(join(pristine, 'certificates')))[0]!;
  const leaf = join(pristine, 'certificates', leafFolder);
  // A second generation: the same root, a newly issued leaf.
  const second = join(box.dir, 'second');
  await cp(pristine, second, { recursive: true });
  await rm(join(second, 'certificates'), { recursive: true });
  await runUntilReady(second);
  const other = splitPair(await readFile(join(second, 'certificates', leafFolder, 'bundle.pem'), 'utf8'));
  otherGeneration = { key: other.keyPem, cert: other.certPem };
  assert.notEqual(otherGeneration.cert, splitPair(await readFile(join(leaf, 'bundle.pem'), 'utf8')).certPem);
});

after(async () => {
  await box.remove();
});

/** Replaces the leaf's bundle with what `change` makes of its key and certificate. */
function rewriteBundle(change: (pair: { keyPem: string; certPem: string }) => string): (leaf: string) => Promise<void> {
  return async (leaf) => writeFile(join(leaf, 'bundle.pem'), change(splitPair(await readFile(join(leaf, 'bundle.pem'), 'utf8'))));
}

async function startDamaged(name: string, damage: (leaf: string) => Promise<void>): Promise<{ portico: PorticoProcess; leaf: string; served: string }> {
  const state = join(box.dir, name);
  await cp(pristine, state, { recursive: true });
  const leaf = join(state, 'certificates', leafFolder);
  await damage(leaf);
  const portico = PorticoProcess.serve(anyPortArgs({ ...box, state }, ['--workers', '1']));
  try {
    await portico.waitUntilServing();
    const root = await fetchRootCa(state);
    const served = await probe({ port: await portico.port('https'), servername: 'localhost', ca: root.pem });
    assert.equal(served.status, 200);
    assert.ok(chainsTo(served.cert, root.cert));
    return { portico, leaf, served: served.cert.fingerprint256 };
  } finally {
    await portico.stop();
  }
}

async function asideFiles(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name.includes('.aside-')).sort();
}

test('a truncated private key is moved aside with its certificate (one bundle), with a warning naming it, and a valid certificate is served', async () => {
  const { portico, leaf } = await startDamaged('truncated-key', rewriteBundle(({ keyPem, certPem }) => `${keyPem.slice(0, keyPem.length / 2)}\n${certPem}`));
  assert.match(portico.stderr, /WARN .*moved \S+bundle\.pem aside to \S+bundle\.pem\.aside-\S+: it is not a PEM private key/);
  assert.deepEqual((await asideFiles(leaf)).map((n) => n.split('.aside-')[0]), ['bundle.pem']);
});

test('a garbage certificate is moved aside with a warning naming it, and a valid certificate is served', async () => {
  const { portico, leaf } = await startDamaged('garbage-cert', rewriteBundle(({ keyPem }) => `${keyPem}-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n`));
  assert.match(portico.stderr, /WARN .*moved \S+bundle\.pem aside to \S+bundle\.pem\.aside-\S+: it is not a PEM certificate/);
  assert.equal((await asideFiles(leaf)).length, 1);
});

test('a key and a certificate from two different generations are moved aside, and a valid certificate is served', async () => {
  const { portico, leaf } = await startDamaged('two-generations', rewriteBundle(({ certPem }) => `${otherGeneration.key}${certPem}`));
  assert.match(portico.stderr, /WARN .*moved \S+bundle\.pem aside .*does not match/);
  assert.equal((await asideFiles(leaf)).length, 1);
});

test('an unreadable root CA is moved aside and rebuilt, and the leaf it signed is reissued', async () => {
  const { portico } = await startDamaged('garbage-root', async (folder) => {
    await writeFile(join(folder, '..', '..', 'ca', 'root.pem'), '');
  });
  assert.match(portico.stderr, /moved \S+root\.pem aside/);
  assert.match(portico.stderr, /creating the internal root CA/);
});

test('a state folder from before bundles (key and certificate as two files each) is still read, and its certificate is served', async () => {
  let legacy = '';
  const { portico, served } = await startDamaged('legacy-layout', async (leaf) => {
    for (const [folder, certName, keyName, bundle] of [[leaf, 'cert.pem', 'key.pem', 'bundle.pem'], [join(leaf, '..', '..', 'ca'), 'root.crt', 'root.key', 'root.pem']] as const) {
      const pair = splitPair(await readFile(join(folder, bundle), 'utf8'));
      await writeFile(join(folder, certName), pair.certPem);
      await writeFile(join(folder, keyName), pair.keyPem, { mode: 0o600 });
      await rm(join(folder, bundle));
      if (bundle === 'bundle.pem') legacy = pair.certPem;
    }
  });
  assert.equal(served, new X509Certificate(legacy).fingerprint256, 'the certificate of the two files, not a new one');
  assert.doesNotMatch(portico.stderr, /issuing|creating the internal root CA|aside/);
});
