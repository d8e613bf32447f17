import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect as connectHttp2 } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { http2Get } from '../support/http2-request.js';
import { PORTICO_BIN, PorticoProcess } from '../support/portico-process.js';
import { fetchRootCa } from '../support/root-ca.js';
import { anyPortArgs, createSandbox, INDEX_HTML, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

const run = promisify(execFile);
let box: Sandbox;
let portico: PorticoProcess;
let httpPort: number;
let httpsPort: number;
let rootPem: string;

before(async () => {
  box = await createSandbox();
  portico = PorticoProcess.serve(anyPortArgs(box, ['--workers', '2']));
  httpPort = await portico.port('http');
  httpsPort = await portico.port('https');
  await portico.waitUntilServing();
  rootPem = (await fetchRootCa(box.state)).pem;
});

after(async () => {
  await portico.stop();
  await box.remove();
});

test('a handshake without SNI (https://127.0.0.1/) completes and verifies against the IP address', async () => {
  const result = await probe({ port: httpsPort, ca: rootPem });
  assert.equal(result.status, 200);
  assert.equal(result.body, INDEX_HTML);
});

test('curl --cacert <(portico ca root) https://localhost:PORT/ works as the README says', async () => {
  const script = `curl --silent --show-error --fail --resolve localhost:${httpsPort}:127.0.0.1 --cacert <("${process.execPath}" "${PORTICO_BIN}" ca root --state "${box.state}") https://localhost:${httpsPort}/`;
  const { stdout } = await run('bash', ['-c', script]);
  assert.equal(stdout, INDEX_HTML);
});

test('openssl s_client without SNI completes a verified handshake', async () => {
  const caFile = join(box.dir, 'root-for-openssl.pem');
  await writeFile(caFile, rootPem);
  const { stdout } = await run('bash', ['-c', `openssl s_client -connect 127.0.0.1:${httpsPort} -noservername -CAfile "${caFile}" -verify_return_error -brief </dev/null 2>&1`]);
  assert.match(stdout, /Verification: OK/);
  assert.match(stdout, /Protocol version: TLSv1\.3/);
});

test('curl --http2 negotiates HTTP/2 over TLS and verifies the certificate', async () => {
  const caFile = join(box.dir, 'root.pem');
  await writeFile(caFile, rootPem);
  const { stdout } = await run('curl', ['--silent', '--show-error', '--http2', '--cacert', caFile, '--head', `https://127.0.0.1:${httpsPort}/`]);
  assert.match(stdout, /^HTTP\/2 200/);
});

test("node's HTTP/2 client gets the file over h2", async () => {
  const session = connectHttp2(`https://localhost:${httpsPort}`, { ca: rootPem, host: '127.0.0.1' });
  try {
    const { status, body } = await http2Get(session, '/');
    assert.equal(status, 200);
    assert.equal(body, INDEX_HTML);
    assert.equal(session.alpnProtocol, 'h2');
  } finally {
    session.close();
  }
});

test('a client that offers no ALPN is served HTTP/1.1', async () => {
  const result = await probe({ port: httpsPort, servername: 'localhost', ca: rootPem });
  assert.equal(result.alpn, false);
  assert.equal(result.status, 200);
});

test('plain HTTP serves the same files at once', async () => {
  const response = await fetch(`http://127.0.0.1:${httpPort}/`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), INDEX_HTML);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
});

test('a garbage ClientHello gets a failed handshake, and the server keeps serving', async () => {
  const { connect } = await import('node:net');
  await new Promise<void>((resolve) => {
    const socket = connect(httpsPort, '127.0.0.1', () => socket.end('\x16\x03\x01\x00\x05hello-this-is-not-tls\r\n\r\n'));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.resume();
  });
  assert.equal((await probe({ port: httpsPort, ca: rootPem })).status, 200);
});

test('HTTP/2 cache hits (answered on the stream itself) match the full path: body, headers, 304 and HEAD', async () => {
  const session = connectHttp2(`https://localhost:${httpsPort}`, { ca: rootPem, host: '127.0.0.1' });
  try {
    const request = (headers: Record<string, string>): Promise<{ headers: Record<string, unknown>; body: string }> =>
      new Promise((resolve, reject) => {
        const stream = session.request({ ':path': '/', ...headers });
        let body = '';
        let responseHeaders: Record<string, unknown> = {};
        stream.on('response', (h) => {
          responseHeaders = h;
        });
        stream.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        stream.on('end', () => resolve({ headers: responseHeaders, body }));
        stream.on('error', reject);
      });
    const first = await request({});
    const second = await request({});
    for (const name of [':status', 'etag', 'content-type', 'content-length', 'last-modified', 'cache-control', 'x-content-type-options']) {
      assert.equal(second.headers[name], first.headers[name], name);
    }
    assert.equal(second.body, INDEX_HTML);
    const notModified = await request({ 'if-none-match': String(first.headers.etag) });
    assert.equal(notModified.headers[':status'], 304);
    assert.equal(notModified.body, '');
    const head = await request({ ':method': 'HEAD' });
    assert.equal(head.headers[':status'], 200);
    assert.equal(head.headers['content-length'], first.headers['content-length']);
    assert.equal(head.body, '');
    // A stream the client resets at once does not disturb the worker.
    session.request({ ':path': '/' }).close(8);
    assert.equal((await request({})).body, INDEX_HTML);
  } finally {
    session.close();
  }
  assert.doesNotMatch(portico.stderr, /uncaught|exited with/);
});
