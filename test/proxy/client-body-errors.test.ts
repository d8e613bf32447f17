import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { type ClientHttp2Session, connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ERROR_CODE, FLAG, FRAME, frame, getRequestBlock, PREFACE, readFrames, rstStream } from '../support/http2-frames.js';
import type { PorticoProcess } from '../support/portico-process.js';
import { eventually } from '../support/eventually.js';
import { freePort, type Sandbox } from '../support/sandbox.js';
import { loopbackConfig, useTestServers } from '../support/test-servers.js';
import { startUpstream } from '../support/upstream-process.js';

// A client whose request body goes wrong (a malformed chunked body, an upload it abandons, an
// HTTP/2 stream it resets mid-body) costs its own exchange only: passive health counts the
// upstream's failures, never a client's, so the next client of a healthy upstream is served.
// One upstream behind the route (the default downFor, 5 s): were it marked down, every other
// client would get `502 no upstream is up`. A second route's upstream dies mid-upload: that one
// is the upstream's failure, and still counts.
const HOST = 'app.example.test';
const servers = useTestServers();
let box: Sandbox;
let portico: PorticoProcess;
const upstreams: ChildProcess[] = [];
let portA: number;
let portB: number;
let httpPort: number;
let httpsPort: number;
let rootCa: string;

before(async () => {
  box = await servers.ready();
  servers.cleanUp(() => upstreams.forEach((child) => child.kill('SIGKILL')));
  [portA, portB] = [await freePort(), await freePort()];
  upstreams.push(...(await Promise.all([startUpstream(portA, 'A'), startUpstream(portB, 'B')])));
  await mkdir(join(box.dir, 'public'));
  portico = await servers.serveConfig([
    ...loopbackConfig(box),
    ...['sites:', '  - name: app', `    hosts: [${HOST}]`, '    root: ./public', '    proxy:'],
    `      - { path: /api/, to: [http://127.0.0.1:${portA}] }`,
    `      - { path: /lc/, to: [http://127.0.0.1:${portB}] }`,
  ]);
  [httpPort, httpsPort, rootCa] = await Promise.all([portico.port('http'), portico.port('https'), servers.rootCa()]);
});

/** A normal client: GET /api/whoami over HTTP/1.1 from its own address. */
function whoami(localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: httpPort, path: '/api/whoami', headers: { host: HOST }, localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A normal client over HTTP/2: GET /api/whoami on its own session. */
async function whoamiOverHttp2(): Promise<string> {
  const session = http2Connect(`https://127.0.0.1:${httpsPort}`, { ca: rootCa, servername: HOST });
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ':path': '/api/whoami', ':authority': HOST });
      let status = 0;
      let body = '';
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      stream.on('end', () => resolve(`${status} ${body}`));
      stream.on('error', reject);
    });
  } finally {
    session.close();
  }
}

/**
 * An HTTP/1.1 upload to the proxied route that goes wrong after its start has been read: `start`
 * is sent, then (once another client has been answered, so the worker has had the start) the
 * request is spoilt. Resolves with what the bad client received before the connection closed.
 */
function badUpload(start: string, spoil: (socket: import('node:net').Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    const socket = connect(httpPort, '127.0.0.1', () => {
      socket.write(start, () => void whoami('127.0.0.5').then(() => spoil(socket), reject));
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(received).toString('latin1')));
    socket.on('error', () => undefined);
  });
}

const uploadHead = (framing: string, path = '/api/upload'): string => `POST ${path} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/octet-stream\r\n${framing}\r\n`;

const CLIENT_BODY_FAILED = /the client's request body failed/g;

/** Waits for the worker's log of `count` client body failures: what it logged before them has arrived too. */
async function clientBodyLines(count: number): Promise<void> {
  await eventually(() => assert.ok(portico.matches(CLIENT_BODY_FAILED).length >= count, `${portico.matches(CLIENT_BODY_FAILED).length} logged:\n${portico.output}`), { what: `${count} client body failures logged`, timeoutMs: 10_000 });
}

test('over HTTP/1.1, malformed chunked bodies and abandoned uploads leave the upstream up for the next client', async () => {
  const seen = portico.matches(CLIENT_BODY_FAILED).length;
  const answers = [
    // A chunk size that is not hex, after a good chunk: Node's parser errors the request.
    await badUpload(`${uploadHead('Transfer-Encoding: chunked\r\n')}5\r\nhello\r\n`, (socket) => socket.write('zz\r\nnot hex\r\n0\r\n\r\n')),
    // Content-Length 100000, 1000 bytes, then the client closes.
    await badUpload(`${uploadHead('Content-Length: 100000\r\n')}${'x'.repeat(1000)}`, (socket) => socket.destroy()),
    await badUpload(`${uploadHead('Transfer-Encoding: chunked\r\n')}3\r\nabc\r\n`, (socket) => socket.write('3\r\nabcdef\r\n0\r\n\r\n')),
    await badUpload(`${uploadHead('Content-Length: 100000\r\n')}${'y'.repeat(1000)}`, (socket) => socket.destroy()),
  ];
  for (const answer of answers) assert.doesNotMatch(answer, /^HTTP\/1\.1 50\d/, 'a client whose body failed is not told the upstream failed');
  assert.equal(await whoami('127.0.0.3'), '200 A', 'another client is served by the upstream');
  await clientBodyLines(seen + 4);
  assert.doesNotMatch(portico.output, /is down/, 'passive health did not count the clients\' failures');
});

/**
 * An HTTP/2 upload of raw frames that sends 1000 bytes and then resets its stream (RST_STREAM
 * CANCEL without END_STREAM; Node's client ends a stream before it resets it). Resolves once the
 * server has acknowledged a PING sent after the reset, so it has read the reset.
 */
function resetUploadOverHttp2(): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = tlsConnect({ host: '127.0.0.1', port: httpsPort, servername: HOST, ca: rootCa, ALPNProtocols: ['h2'] }, () => {
      // :method POST (static index 3), then what getRequestBlock gives after its :method GET.
      const block = Buffer.concat([Buffer.from([0x83]), getRequestBlock('/api/upload', HOST).subarray(1)]);
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0), frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, block), frame(FRAME.DATA, 0, 1, Buffer.alloc(1000, 0x61))]), () =>
        void whoami('127.0.0.5').then(() => socket.write(Buffer.concat([rstStream(1, ERROR_CODE.CANCEL), frame(FRAME.PING, 0, 0, Buffer.alloc(8))])), reject),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (readFrames(received).some((one) => one.type === FRAME.PING && (one.flags & FLAG.ACK) !== 0)) socket.destroy();
    });
    socket.on('close', () => resolve());
    socket.on('error', () => undefined);
  });
}

/** An HTTP/2 upload that says Content-Length 100000 and ends after 1000 bytes (malformed, RFC 9113 §8.1.1). */
function shortUploadOverHttp2(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': '/api/upload', ':authority': HOST, 'content-type': 'application/octet-stream', 'content-length': '100000' });
    stream.on('error', () => undefined);
    stream.on('close', () => resolve());
    stream.resume();
    stream.write(Buffer.alloc(1000, 0x61), () => void whoami('127.0.0.5').then(() => stream.end(), () => stream.end()));
  });
}

test('over HTTP/2, streams reset mid-body and bodies shorter than their Content-Length leave the upstream up for the next client', async () => {
  const seen = portico.matches(CLIENT_BODY_FAILED).length;
  const session = http2Connect(`https://127.0.0.1:${httpsPort}`, { ca: rootCa, servername: HOST });
  session.on('error', () => undefined);
  try {
    for (let i = 0; i < 2; i += 1) {
      await resetUploadOverHttp2();
      await shortUploadOverHttp2(session);
    }
  } finally {
    session.close();
  }
  assert.equal(await whoamiOverHttp2(), '200 A', 'another client is served by the upstream');
  await clientBodyLines(seen + 4);
  assert.doesNotMatch(portico.output, /is down/, 'passive health did not count the clients\' failures');
});

test('an upstream that dies while a body is sent to it is still marked down: its failure, not the client\'s', async () => {
  const seen = portico.matches(CLIENT_BODY_FAILED).length;
  const dead = upstreams[1]!;
  await badUpload(`${uploadHead('Content-Length: 100000\r\n', '/lc/upload')}${'z'.repeat(1000)}`, () => dead.kill('SIGKILL'));
  await portico.waitFor(new RegExp(`WARN .*proxy /lc/: upstream http://127\\.0\\.0\\.1:${portB} is down for 5 s`), 10_000);
  assert.equal(portico.matches(CLIENT_BODY_FAILED).length, seen, 'the upstream\'s failure is not put on the client');
});
