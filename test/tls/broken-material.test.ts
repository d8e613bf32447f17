import assert from 'node:assert/strict';
import { cp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
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
  otherGeneration = { key: await readFile(join(second, 'certificates', leafFolder, 'key.pem'), 'utf8'), cert: await readFile(join(second, 'certificates', leafFolder, 'cert.pem'), 'utf8') };
  assert.notEqual(otherGeneration.cert, await readFile(join(leaf, 'cert.pem'), 'utf8'));
});

after(async () => {
  await box.remove();
});

async function startDamaged(name: string, damage: (leaf: string) => Promise<void>): Promise<{ portico: PorticoProcess; leaf: string; original: string }> {
  const state = join(box.dir, name);
  await cp(pristine, state, { recursive: true });
  const leaf = join(state, 'certificates', leafFolder);
  const original = await readFile(join(leaf, 'cert.pem'), 'utf8');
  await damage(leaf);
  const portico = PorticoProcess.serve(anyPortArgs({ ...box, state }, ['--workers', '1']));
  try {
    await portico.waitUntilServing();
    const root = await fetchRootCa(state);
    const served = await probe({ port: await portico.port('https'), servername: 'localhost', ca: root.pem });
    assert.equal(served.status, 200);
    assert.ok(chainsTo(served.cert, root.cert));
  } finally {
    await portico.stop();
  }
  return { portico, leaf, original };
}

async function asideFiles(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name.includes('.aside-')).sort();
}

test('a truncated private key is moved aside with a warning naming it, and a valid certificate is served', async () => {
  const { portico, leaf } = await startDamaged('truncated-key', async (folder) => {
    const key = join(folder, 'key.pem');
    await truncate(key, Math.floor((await readFile(key)).length / 2));
  });
  assert.match(portico.stderr, /WARN .*moved \S+key\.pem aside to \S+key\.pem\.aside-\S+: it is not a PEM private key/);
  assert.deepEqual((await asideFiles(leaf)).map((n) => n.split('.aside-')[0]), ['cert.pem', 'key.pem']);
});

test('a garbage certificate file is moved aside with a warning naming it, and a valid certificate is served', async () => {
  const { portico, leaf } = await startDamaged('garbage-cert', (folder) => writeFile(join(folder, 'cert.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n'));
  assert.match(portico.stderr, /WARN .*moved \S+cert\.pem aside to \S+cert\.pem\.aside-\S+: it is not a PEM certificate/);
  assert.equal((await asideFiles(leaf)).length, 2);
});

test('a key and a certificate from two different generations are moved aside, and a valid certificate is served', async () => {
  const { portico, leaf } = await startDamaged('two-generations', (folder) => writeFile(join(folder, 'key.pem'), otherGeneration.key));
  assert.match(portico.stderr, /WARN .*moved \S+cert\.pem aside .*does not match/);
  assert.match(portico.stderr, /WARN .*moved \S+key\.pem aside .*does not match/);
  assert.equal((await asideFiles(leaf)).length, 2);
});

test('an unreadable root CA is moved aside and rebuilt, and the leaf it signed is reissued', async () => {
  const { portico } = await startDamaged('garbage-root', async (folder) => {
    await writeFile(join(folder, '..', '..', 'ca', 'root.crt'), '');
  });
  assert.match(portico.stderr, /moved \S+root\.crt aside/);
  assert.match(portico.stderr, /creating the internal root CA/);
});
