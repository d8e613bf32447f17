import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PorticoProcess } from '../support/portico-process.js';
import type { Sandbox } from '../support/sandbox.js';
import { loopbackConfig, useTestServers } from '../support/test-servers.js';

// Routes through a real `portico serve`, over HTTP/1.1 and HTTP/2 on TLS: conditions on method,
// header and client address (issue 20, acceptance 3), and tryFiles handing what no file answers
// to a proxy route, request body and all.

const HOST = 'shop.example.test';
const servers = useTestServers();
let box: Sandbox;
let portico: PorticoProcess;
let httpsPort: number;
let rootCa: string;
let upstream: Server;
let session: ClientHttp2Session;

before(async () => {
  box = await servers.ready();
  upstream = createServer((request, res) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => res.end(`upstream ${request.method} ${request.url} [${body}]`));
  });
  servers.cleanUp(() => upstream.close());
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as { port: number }).port;
  await mkdir(join(box.dir, 'public'));
  await writeFile(join(box.dir, 'public', 'index.html'), 'the shop\n');
  portico = await servers.serveConfig([
    ...loopbackConfig(box),
    'sites:',
    '  - name: shop',
    `    hosts: [${HOST}]`,
    '    root: ./public',
    '    tryFiles: ["{path}", "@app"]',
    '    routes:',
    '      - match: { path: /orders/, method: POST, header: { X-Shop-Key: k1 }, client: 127.0.0.1 }',
    '        handle: [{ respond: { status: 201, body: "order taken" } }]',
    '      - match: { path: /orders/, client: 127.0.0.2 }',
    '        handle: [{ respond: { status: 200, body: "never: not this client" } }]',
    '      - match: { path: /orders/ }',
    '        handle: [{ respond: { status: 403, body: "no" } }]',
    '      - name: app',
    `        handle: [{ proxy: { to: ["http://127.0.0.1:${upstreamPort}"] } }]`,
  ]);
  [httpsPort, rootCa] = await Promise.all([portico.port('https'), servers.rootCa()]);
  session = http2Connect(`https://127.0.0.1:${httpsPort}`, { ca: rootCa, servername: HOST });
  servers.cleanUp(() => session.close());
});

after(() => session?.close());

interface Answer {
  readonly status: number;
  readonly body: string;
}

function h1(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest({ host: '127.0.0.1', port: httpsPort, servername: HOST, ca: rootCa, method, path, headers: { host: HOST, ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

function h2(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': method, ':path': path, ':authority': HOST, ...headers });
    let status = 0;
    let text = '';
    stream.on('response', (received) => (status = Number(received[':status'])));
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ status, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

for (const [name, send] of [['HTTP/1.1', h1], ['HTTP/2', h2]] as const) {
  test(`${name}: a route takes a request only when method, header and client address all match`, async () => {
    assert.deepEqual(await send('POST', '/orders/new', { 'x-shop-key': 'k1' }, 'one'), { status: 201, body: 'order taken' });
    assert.deepEqual(await send('POST', '/%6Frders/new', { 'x-shop-key': 'k1' }, 'one'), { status: 201, body: 'order taken' }, 'an encoded spelling of the path');
    assert.equal((await send('POST', '/orders/new', { 'x-shop-key': 'k2' }, 'one')).status, 403, 'the wrong header value');
    assert.equal((await send('GET', '/orders/new', { 'x-shop-key': 'k1' })).status, 403, 'the wrong method');
    assert.equal((await send('POST', '/orders/new', { 'x-shop-key': 'k1', 'x-forwarded-for': '127.0.0.2' }, 'x')).status, 201, 'a claimed address changes nothing: the peer is 127.0.0.1');
  });

  test(`${name}: tryFiles serves a file that exists and hands a missing one to the proxy route`, async () => {
    assert.deepEqual(await send('GET', '/'), { status: 200, body: 'the shop\n' });
    assert.deepEqual(await send('GET', '/products/42?color=red'), { status: 200, body: 'upstream GET /products/42?color=red []' });
    assert.deepEqual(await send('POST', '/cart', { 'content-type': 'text/plain' }, 'a body of some length'), { status: 200, body: 'upstream POST /cart [a body of some length]' }, 'the body reaches the upstream whole');
  });
}
