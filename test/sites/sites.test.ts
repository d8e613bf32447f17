import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { httpRequest } from '../support/http-request.js';
import { http2Send } from '../support/http2-request.js';
import { PorticoProcess } from '../support/portico-process.js';
import { fetchRootCa } from '../support/root-ca.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';
import { THREE_SITES, writeSites } from '../support/sites.js';

// Three sites on one port pair, from a config file, each with its own certificate from the
// internal CA, checked with clients that verify the chain and the name.
let box: Sandbox;
let portico: PorticoProcess;
let httpPort: number;
let httpsPort: number;
let rootPem: string;

before(async () => {
  box = await createSandbox();
  await writeSites(box.dir);
  await writeFile(join(box.dir, 'portico.yaml'), THREE_SITES(box.state));
  portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')]);
  await portico.waitFor(/^ready: 3 site\(s\), 3 certificate\(s\)$/m, 60_000);
  httpPort = await portico.port('http');
  httpsPort = await portico.port('https');
  rootPem = (await fetchRootCa(box.state)).pem;
});

after(async () => {
  await portico?.stop();
  await box?.remove();
});

for (const [name, host] of [
  ['docs', 'docs.example.test'],
  ['shop', 'shop.example.test'],
  ['blog', 'blog.example.test'],
  ['docs', 'api.docs.example.test'],
] as const) {
  test(`HTTPS by SNI ${host}: a verifying client gets ${name}'s own certificate and content`, async () => {
    const reply = await probe({ port: httpsPort, servername: host, ca: rootPem });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, `this is ${name}\n`);
    assert.ok(reply.cert.checkHost(host), `${host} is not covered by ${reply.cert.subjectAltName}`);
  });

  test(`plain HTTP with Host ${host} gets ${name}`, async () => {
    const reply = await httpRequest(httpPort, '/', { headers: { host } });
    assert.equal(reply.body.toString(), `this is ${name}\n`);
  });
}

test('each site has a certificate of its own, and none names another site', async () => {
  const certs = await Promise.all(['docs.example.test', 'shop.example.test', 'blog.example.test'].map(async (host) => (await probe({ port: httpsPort, servername: host, ca: rootPem })).cert));
  assert.equal(new Set(certs.map((cert) => cert.fingerprint256)).size, 3);
  assert.equal(certs[1]!.subjectAltName, 'DNS:shop.example.test');
  assert.equal(certs[0]!.subjectAltName, 'DNS:docs.example.test, DNS:*.docs.example.test');
});

test('openssl s_client -servername gets each site its certificate; without SNI, the default site', async () => {
  const subject = async (servername: string | undefined): Promise<string> => {
    const args = ['s_client', '-connect', `127.0.0.1:${httpsPort}`, ...(servername ? ['-servername', servername] : ['-noservername'])];
    const pem = await new Promise<string>((resolve, reject) => {
      const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.on('error', reject);
      child.on('close', () => resolve(out));
      child.stdin.end();
    });
    const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
    assert.ok(match, `openssl printed no certificate:\n${pem}`);
    return new X509Certificate(match[0]).subjectAltName ?? '';
  };
  assert.equal(await subject('shop.example.test'), 'DNS:shop.example.test');
  assert.equal(await subject('blog.example.test'), 'DNS:blog.example.test');
  assert.equal(await subject(undefined), 'DNS:docs.example.test, DNS:*.docs.example.test');
});

test('a handshake without SNI gets the default site (HTTPS by address)', async () => {
  const reply = await probe({ port: httpsPort, hostHeader: 'docs.example.test' });
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'this is docs\n');
  assert.equal(reply.cert.subjectAltName, 'DNS:docs.example.test, DNS:*.docs.example.test');
});

test('an unknown Host on plain HTTP gets the default site', async () => {
  const reply = await httpRequest(httpPort, '/', { headers: { host: 'unknown.example.test' } });
  assert.equal(reply.body.toString(), 'this is docs\n');
});

test('SNI shop + Host blog over HTTP/1.1 gets 421 Misdirected Request, never blog under shop\'s certificate', async () => {
  const reply = await probe({ port: httpsPort, servername: 'shop.example.test', hostHeader: 'blog.example.test', ca: rootPem });
  assert.equal(reply.status, 421);
  assert.doesNotMatch(reply.body, /this is blog/);
  // An unknown Host under shop's certificate would be the default site's content: 421 too.
  assert.equal((await probe({ port: httpsPort, servername: 'shop.example.test', hostHeader: 'nowhere.example.test', ca: rootPem })).status, 421);
});

test('SNI shop + :authority blog over HTTP/2 gets 421; :authority shop on the same connection gets shop', async () => {
  const session = connect(`https://127.0.0.1:${httpsPort}`, { servername: 'shop.example.test', ca: rootPem, checkServerIdentity: () => undefined });
  try {
    const get = (authority: string): Promise<{ status: number; body: string }> => http2Send(session, { ':path': '/', ':authority': authority });
    const misdirected = await get('blog.example.test');
    assert.equal(misdirected.status, 421);
    assert.doesNotMatch(misdirected.body, /this is blog/);
    assert.deepEqual(await get('shop.example.test'), { status: 200, body: 'this is shop\n' });
  } finally {
    session.close();
  }
});

test('a virtual directory serves its own folder under its prefix, on its site only', async () => {
  const docs = await httpRequest(httpPort, '/downloads/manual.txt', { headers: { host: 'docs.example.test' } });
  assert.equal(docs.status, 200);
  assert.equal(docs.body.toString(), 'the manual\n');
  assert.equal((await httpRequest(httpPort, '/down%6Coads/manual.txt', { headers: { host: 'docs.example.test' } })).body.toString(), 'the manual\n');
  assert.equal((await httpRequest(httpPort, '/downloads/manual.txt', { headers: { host: 'shop.example.test' } })).status, 404);
  assert.equal((await httpRequest(httpPort, '/downloadsx/manual.txt', { headers: { host: 'docs.example.test' } })).status, 404);
  const folder = await httpRequest(httpPort, '/downloads', { headers: { host: 'docs.example.test' } });
  assert.equal(folder.status, 301);
  assert.equal(folder.headers.location, '/downloads/');
});
