import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { signLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { publicKeyId } from '../../src/tls/key-manager.js';
import { eventually } from '../support/eventually.js';
import { PorticoProcess, runPortico } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

// The key manager against a CA made with openssl (standing in for a commercial one): request,
// sign with `openssl x509 -req`, install while serving.
const openssl = (...args: string[]): Promise<{ stdout: string }> => promisify(execFile)('openssl', args);
const HOSTS = ['shop.example.test', 'www.shop.example.test'];
let box: Sandbox;
let portico: PorticoProcess;
let httpsPort: number;
let caCert: string;
let caKey: string;

before(async () => {
  box = await createSandbox();
  caCert = join(box.dir, 'ca.crt');
  caKey = join(box.dir, 'ca.key');
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caCert, '-subj', '/CN=Test Commercial CA', '-days', '30');
  portico = PorticoProcess.serve([box.site, '--bind', '127.0.0.1', '--http', 'off', '--https', '0', '--workers', '2', '--state', box.state, ...HOSTS.flatMap((host) => ['--host', host])]);
  await portico.waitFor(/^ready: /m);
  httpsPort = await portico.port('https');
});

after(async () => {
  await portico?.stop();
  await box?.remove();
});

/** `portico cert request` for these hosts; returns the CSR file and the pending key. */
async function request(name: string, hosts = HOSTS): Promise<{ csr: string; key: string }> {
  const made = await runPortico(['cert', 'request', ...hosts.flatMap((host) => ['--host', host]), '--state', box.state]);
  assert.equal(made.code, 0, made.stderr);
  const csr = join(box.dir, `${name}.csr`);
  await writeFile(csr, made.stdout);
  const publicPem = (await openssl('req', '-in', csr, '-pubkey', '-noout')).stdout;
  const key = await readFile(join(box.state, 'pending', publicKeyId(createPublicKey(publicPem)), 'key.pem'), 'utf8');
  return { csr, key };
}

async function install(chain: string, name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(box.dir, `${name}.pem`);
  await writeFile(file, chain);
  return runPortico(['cert', 'install', file, '--state', box.state]);
}

test('cert request → openssl x509 -req → cert install while serving: the signed certificate is served within 5 s', async () => {
  const { csr } = await request('good');
  assert.match((await openssl('req', '-in', csr, '-verify', '-noout', '-text')).stdout, /DNS:shop\.example\.test, DNS:www\.shop\.example\.test/);
  const leafFile = join(box.dir, 'good-leaf.pem');
  await openssl('x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '10', '-copy_extensions', 'copyall', '-out', leafFile);
  const leafPem = await readFile(leafFile, 'utf8');
  const installed = await install(leafPem + (await readFile(caCert, 'utf8')), 'good-chain');
  assert.equal(installed.code, 0, installed.stderr);
  const wanted = new X509Certificate(leafPem).fingerprint256;
  const ca = await readFile(caCert, 'utf8');
  await eventually(async () => (await probe({ port: httpsPort, servername: 'www.shop.example.test', ca })).cert.fingerprint256 === wanted, { what: 'the installed certificate served', timeoutMs: 5_000 });
  // Every worker: a few more handshakes, all with the installed certificate, verified against the CA.
  for (let i = 0; i < 4; i += 1) assert.equal((await probe({ port: httpsPort, servername: 'shop.example.test', ca })).cert.fingerprint256, wanted);

  const list = await runPortico(['cert', 'list', '--json', '--state', box.state]);
  const rows = JSON.parse(list.stdout) as { names: string[]; fingerprint256: string; source: string }[];
  assert.ok(rows.some((row) => row.fingerprint256 === wanted && row.source === 'installed' && row.names.includes('www.shop.example.test')));
});

test('cert install refuses, with the reason, a certificate for another key, an expired one, one missing a host, and a chain that does not verify', async () => {
  // Another key: a request openssl made, not Portico.
  const strayCsr = join(box.dir, 'stray.csr');
  await openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(box.dir, 'stray.key'), '-out', strayCsr, '-subj', '/CN=shop.example.test');
  const strayLeaf = join(box.dir, 'stray.pem');
  await openssl('x509', '-req', '-in', strayCsr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '10', '-out', strayLeaf);
  const stray = await install(await readFile(strayLeaf, 'utf8'), 'stray-chain');
  assert.equal(stray.code, 1);
  assert.match(stray.stderr, /cannot install this certificate: no pending key matches it \(wrong key\)/);

  const root = { certPem: await readFile(caCert, 'utf8'), keyPem: await readFile(caKey, 'utf8') };
  const past = { notBefore: Date.now() - 10 * 86_400_000, notAfter: Date.now() - 86_400_000 };
  const expiredRequest = await request('expired');
  const expired = await install(signLeaf(root, HOSTS, createPrivateKey(expiredRequest.key), past), 'expired-chain');
  assert.equal(expired.code, 1);
  assert.match(expired.stderr, /cannot install this certificate: it expired on /);

  const now = { notBefore: Date.now() - 60_000, notAfter: Date.now() + 86_400_000 };
  const partialRequest = await request('partial');
  const partial = await install(signLeaf(root, ['shop.example.test'], createPrivateKey(partialRequest.key), now), 'partial-chain');
  assert.equal(partial.code, 1);
  assert.match(partial.stderr, /cannot install this certificate: it does not cover www\.shop\.example\.test, which the request named/);

  const otherCa = join(box.dir, 'other-ca.crt');
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(box.dir, 'other-ca.key'), '-out', otherCa, '-subj', '/CN=Another CA', '-days', '30');
  const brokenRequest = await request('broken');
  const broken = await install(signLeaf(root, HOSTS, createPrivateKey(brokenRequest.key), now) + (await readFile(otherCa, 'utf8')), 'broken-chain');
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /cannot install this certificate: the chain does not verify: certificate 2 did not sign certificate 1/);
});

test('cert list --config shows the certificates of internal and files sites (installed ones: the test above) with issuer, expiry, key type, fingerprint and the sites using it', async () => {
  const dir = join(box.dir, 'listing');
  const state = join(dir, 'state');
  await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'site'), { recursive: true }));
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'own.key'), '-out', join(dir, 'own.crt'), '-subj', '/CN=own.example.test', '-addext', 'subjectAltName=DNS:own.example.test', '-days', '5');
  const config = join(dir, 'portico.yaml');
  await writeFile(config, `http: off\nhttps: 0\nbind: 127.0.0.1\nworkers: 1\nstate: ${state}\nsites:\n  - { name: made, hosts: [made.example.test], root: ./site }\n  - { name: own, hosts: [own.example.test], root: ./site, tls: { cert: ./own.crt, key: ./own.key } }\n`);
  const serving = PorticoProcess.serve(['--config', config]);
  try {
    await serving.waitFor(/^ready: 2 site\(s\)/m);
  } finally {
    await serving.stop();
  }
  const list = await runPortico(['cert', 'list', '--json', '--config', config]);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { names: string[]; issuer: string; notAfter: string; keyType: string; fingerprint256: string; source: string; sites: string[] }[];
  const own = new X509Certificate(await readFile(join(dir, 'own.crt')));
  assert.deepEqual(rows.find((row) => row.source === 'files'), { names: ['own.example.test'], issuer: 'CN=own.example.test', notAfter: new Date(own.validTo).toISOString(), keyType: 'rsa-2048', fingerprint256: own.fingerprint256, source: 'files', sites: ['own'] });
  const made = rows.find((row) => row.source === 'internal');
  assert.deepEqual(made?.names, ['made.example.test']);
  assert.deepEqual(made?.sites, ['made']);
  assert.match(made?.issuer ?? '', /Portico/);
  assert.equal(made?.keyType, 'ec-p256');
  const text = await runPortico(['cert', 'list', '--config', config]);
  assert.match(text.stdout, /^made\.example\.test {2}until \S+ {2}ec-p256 {2}internal {2}sites: made {2}issuer: .*Portico.* {2}sha256 [0-9A-F:]{95}$/m);
});
