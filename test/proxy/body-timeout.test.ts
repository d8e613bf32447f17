import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { constants, connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { PorticoProcess } from '../support/portico-process.js';
import { freePort, type Sandbox } from '../support/sandbox.js';
import { loopbackConfig, useTestServers } from '../support/test-servers.js';
import { startUpstream } from '../support/upstream-process.js';

// A client that starts a proxied upload and then sends nothing more (a Content-Length it never
// fills, a chunked body without its last chunk) is answered 408 after limits.bodyTimeout, over
// HTTP/1.1 (and its connection closed) and HTTP/2; the upstream is not blamed, and a client whose
// body is slow but never idle that long is served. Found by the outside review: such a body held
// its connection and the upstream's for minutes.
const HOST = 'app.example.test';
const servers = useTestServers();
let box: Sandbox;
let portico: PorticoProcess;
let upstream: ChildProcess;
let httpPort: number;
let httpsPort: number;
let rootCa: string;

before(async () => {
  box = await servers.ready();
  const port = await freePort();
  upstream = await startUpstream(port, 'A');
  servers.cleanUp(() => upstream.kill('SIGKILL'));
  await mkdir(join(box.dir, 'public'));
  portico = await servers.serveConfig([
    ...loopbackConfig(box),
    'limits: { bodyTimeout: 2s }',
    ...['sites:', '  - name: app', `    hosts: [${HOST}]`, '    root: ./public', '    proxy:'],
    `      - { path: /api/, to: [http://127.0.0.1:${port}] }`,
  ]);
  [httpPort, httpsPort, rootCa] = await Promise.all([portico.port('http'), portico.port('https'), servers.rootCa()]);
});

/** An HTTP/1.1 upload that sends `start` and then nothing: what it received before the connection closed (or `hung` after a minute). */
function stalledUpload(start: string): Promise<string> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const socket = connect(httpPort, '127.0.0.1', () => socket.write(start));
    const hung = setTimeout(() => {
      socket.destroy();
      resolve(`hung: ${Buffer.concat(received).toString('latin1')}`);
    }, 60_000);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', () => {
      clearTimeout(hung);
      resolve(Buffer.concat(received).toString('latin1'));
    });
    socket.on('error', () => undefined);
  });
}

const head = (framing: string): string => `POST /api/upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/octet-stream\r\n${framing}\r\n`;

test('over HTTP/1.1, an upload that stops sending is answered 408 and its connection closed', async () => {
  for (const start of [`${head('Content-Length: 100000\r\n')}${'x'.repeat(1000)}`, `${head('Transfer-Encoding: chunked\r\n')}5\r\nhello\r\n`]) {
    const answer = await stalledUpload(start);
    assert.match(answer, /^HTTP\/1\.1 408 /, `${start.split('\r\n')[3]}: got ${answer.slice(0, 80)}`);
    assert.match(answer, /\r\nconnection: close\r\n/i);
  }
  await portico.waitFor(/proxy \/api\/: POST \/api\/upload: the client sent nothing of its request body for 2 s \(408\); upstream .* is not marked down/, 10_000);
});

test('over HTTP/2, an upload that stops sending is answered 408 and its stream closed', async () => {
  const session = http2Connect(`https://127.0.0.1:${httpsPort}`, { ca: rootCa, servername: HOST });
  session.on('error', () => undefined);
  try {
    const [status, closed] = await new Promise<[string, string]>((resolve) => {
      const stream = session.request({ ':method': 'POST', ':path': '/api/upload', ':authority': HOST, 'content-length': '100000' });
      let status = 'none';
      // The idle timeout would close it after 120 s: a minute without a close is an open stream.
      const hung = setTimeout(() => resolve([status, 'still open after 60 s']), 60_000);
      stream.on('response', (headers) => (status = String(headers[':status'])));
      // The 408 is the whole answer; the server then asks the client to stop sending (RST_STREAM
      // NO_ERROR, RFC 9113 §8.1), or the client could go on filling a body nobody reads.
      stream.on('close', () => {
        clearTimeout(hung);
        resolve([status, `closed, code ${stream.rstCode}`]);
      });
      stream.on('error', () => undefined);
      stream.resume();
      stream.write(Buffer.alloc(1000, 0x61));
    });
    assert.deepEqual([status, closed], ['408', `closed, code ${constants.NGHTTP2_NO_ERROR}`]);
  } finally {
    session.destroy();
  }
});

test('a body that is slow but never idle for the timeout is sent whole, and the upstream stays up', async () => {
  const answer = await new Promise<string>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: httpPort, method: 'POST', path: '/api/upload', headers: { host: HOST, 'content-length': '4000' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', reject);
    // Ten pieces, a tenth of the timeout apart: 4 s in all, twice the timeout.
    let sent = 0;
    const tick = setInterval(() => {
      req.write('y'.repeat(400));
      sent += 1;
      if (sent === 10) {
        clearInterval(tick);
        req.end();
      }
    }, 400);
  });
  assert.match(answer, /^200 /, answer);
  assert.doesNotMatch(portico.output, /is down/, 'no client here blamed the upstream');
});
