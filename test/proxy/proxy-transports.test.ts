import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect as http2Connect, type ClientHttp2Session, constants } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import bcrypt from 'bcryptjs';
import { accessLogLines } from '../support/access-log-lines.js';
import { denied, type MatrixTarget, matrixTest, oneOf, type Outcome, type Predicate, type Row } from '../support/matrix.js';
import type { PorticoProcess } from '../support/portico-process.js';
import { eventually } from '../support/eventually.js';
import { freePort, type Sandbox } from '../support/sandbox.js';
import { loopbackConfig, useTestServers } from '../support/test-servers.js';
import { startUpstream } from '../support/upstream-process.js';

// The reverse proxy over every transport a client can use: HTTP/1.1 (plain and TLS), HTTP/2,
// and an HTTP/1.1 upgrade. Each test here is a hole an outside review found (issue 19): a
// WebSocket upgrade that skipped the site's rules, HTTP/2 bodies that never got an answer, an
// upstream's odd status that crashed the worker, and a Host the routing never saw.
const HOST = 'app.example.test';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const servers = useTestServers();
let box: Sandbox;
let portico: PorticoProcess;
let httpPort: number;
let httpsPort: number;
let rootCa: string;
let upstreamPort: number;
let upstream: ChildProcess;

before(async () => {
  box = await servers.ready();
  servers.cleanUp(() => upstream?.kill('SIGKILL'));
  upstreamPort = await freePort();
  upstream = await startUpstream(upstreamPort, 'A');
  await mkdir(join(box.dir, 'public'));
  await writeFile(join(box.dir, 'public', 'index.html'), 'the static side\n');
  await writeFile(join(box.dir, 'users'), `alice:${bcrypt.hashSync('secret', 4)}\n`);
  portico = await servers.serveConfig([
    ...loopbackConfig(box),
    'sites:',
    '  - name: app',
    `    hosts: [${HOST}]`,
    '    root: ./public',
    '    httpsRedirect: true',
    '    log: { dir: ./logs, fields: [cs-method, cs-uri-stem, sc-status, cs-username, sc-bytes, cs-bytes] }',
    '    auth: [{ path: /api/private/, realm: Private, htpasswd: ./users }]',
    '    headers: [{ path: /api/, set: { x-frame-options: DENY } }]',
    `    proxy: [{ path: /api/, to: [http://127.0.0.1:${upstreamPort}] }]`,
  ]);
  [httpPort, httpsPort, rootCa] = await Promise.all([portico.port('http'), portico.port('https'), servers.rootCa()]);
});

interface Head {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Whatever came after the head before the connection went quiet or closed. */
  readonly rest: Buffer;
}

/**
 * Sends raw HTTP/1.1 bytes over TLS (or plain TCP) and reads the response head. Resolves once the
 * head is complete (for a 101, at once: the tunnel stays open through `socket`).
 */
function raw(bytes: string, options: { tls?: boolean } = {}): Promise<Head & { socket: import('node:net').Socket }> {
  return new Promise((resolve, reject) => {
    const socket = options.tls === false ? netConnect(httpPort, '127.0.0.1') : tlsConnect({ host: '127.0.0.1', port: httpsPort, servername: HOST, ca: rootCa, ALPNProtocols: ['http/1.1'] });
    let buffer = Buffer.alloc(0);
    socket.once(options.tls === false ? 'connect' : 'secureConnect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeAllListeners('data');
      const [line, ...fields] = buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(fields.map((field) => [field.slice(0, field.indexOf(':')).toLowerCase(), field.slice(field.indexOf(':') + 1).trim()]));
      resolve({ status: Number(line!.split(' ')[1]), headers, rest: buffer.subarray(end + 4), socket });
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before a response head: ${buffer.toString('latin1')}`)));
  });
}

function upgradeRequest(path: string, extra: string[] = []): string {
  return [`GET ${path} HTTP/1.1`, `Host: ${HOST}`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${KEY}`, ...extra, '', ''].join('\r\n');
}

/** A masked client text frame (RFC 6455 §5.2). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

function connectH2(): ClientHttp2Session {
  return http2Connect(`https://127.0.0.1:${httpsPort}`, { ca: rootCa, servername: HOST });
}

/** One HTTP/2 request with an optional body; resolves with the status, headers and body, or rejects with the stream's error. */
function h2(session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':authority': HOST, ...headers }, { endStream: body === undefined });
    let received: Record<string, unknown> = {};
    let text = '';
    stream.on('response', (answer) => (received = answer));
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ status: Number(received[':status']), headers: received, body: text }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

const logLines = (): Promise<string[]> => accessLogLines(join(box.dir, 'logs'));

test('a WebSocket upgrade goes through the site rules: 401 without credentials, 308 on plain HTTP, 101 with them', async () => {
  const denied = await raw(upgradeRequest('/api/private/ws'));
  denied.socket.destroy();
  assert.equal(denied.status, 401, 'an upgrade on a protected path without credentials');
  assert.match(denied.headers['www-authenticate'] ?? '', /Basic realm="Private"/);
  const plain = await raw(upgradeRequest('/api/private/ws'), { tls: false });
  plain.socket.destroy();
  assert.equal(plain.status, 308, 'httpsRedirect applies to an upgrade');
  assert.equal(plain.headers.location, `https://${HOST}:${httpsPort}/api/private/ws`);
  const wrong = await raw(upgradeRequest('/api/private/ws', [`Authorization: Basic ${Buffer.from('alice:wrong').toString('base64')}`]));
  wrong.socket.destroy();
  assert.equal(wrong.status, 401, 'a wrong password');
  const allowed = await raw(upgradeRequest('/api/private/ws', [`Authorization: Basic ${Buffer.from('alice:secret').toString('base64')}`]));
  try {
    assert.equal(allowed.status, 101);
    assert.equal(allowed.headers['sec-websocket-accept'], createHash('sha1').update(`${KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'));
    assert.equal(allowed.headers['x-frame-options'], 'DENY', 'header rules dress the 101 like any answer');
  } finally {
    allowed.socket.destroy();
  }
});

test('an upgrade pipelined behind a request is answered after it, in order, and the worker goes on', async () => {
  const [worker] = portico.workerPids();
  for (const [path, expected] of [['/', 200], ['/api/ws', 101], ['/api/private/ws', 401]] as const) {
    const session = await raw(`GET /index.html HTTP/1.1\r\nHost: ${HOST}\r\n\r\n${upgradeRequest(path)}`);
    const rest = await new Promise<string>((resolve) => {
      let text = session.rest.toString('latin1');
      const done = (): void => resolve(text);
      session.socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (/\r\n\r\n/.test(text.slice(text.indexOf('HTTP/1.1', 1)))) done();
      });
      session.socket.once('close', done);
    });
    session.socket.destroy();
    assert.equal(session.status, 200, `the first response, before the upgrade to ${path}`);
    const second = /HTTP\/1\.1 (\d{3})/.exec(rest.slice(rest.indexOf('HTTP/1.1')))?.[1];
    assert.equal(Number(second), expected, `the pipelined upgrade to ${path}: ${JSON.stringify(rest.slice(0, 200))}`);
  }
  assert.deepEqual(portico.workerPids(), [worker], 'the same worker');
  assert.doesNotMatch(portico.output, /uncaught/);
});

test('a WebSocket session reaches the access log when it ends, with its user and the bytes carried each way', async () => {
  const session = await raw(upgradeRequest('/api/private/echo-log', [`Authorization: Basic ${Buffer.from('alice:secret').toString('base64')}`]));
  assert.equal(session.status, 101);
  const echoed = new Promise<Buffer>((resolve) => {
    let got = session.rest;
    const check = (): void => (got.length >= 7 ? resolve(got) : undefined);
    session.socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      check();
    });
    check();
  });
  session.socket.write(textFrame('hello'));
  // The echo: a two-byte server frame head and the five bytes.
  assert.equal((await echoed).subarray(2, 7).toString(), 'hello');
  session.socket.end();
  // sc-bytes: the 7 bytes of the echo; cs-bytes: the 11 bytes of the masked client frame.
  await eventually(async () => assert.ok((await logLines()).includes('GET /api/private/echo-log 101 alice 7 11'), (await logLines()).join('\n')), { what: 'the WebSocket session in the access log', timeoutMs: 15_000 });
});

test('HTTP/2 requests with a body are answered by the upstream: small and large, with and without Content-Length', async () => {
  const session = connectH2();
  try {
    for (const size of [3, 200_000, 3 * 1024 * 1024]) {
      const body = randomBytes(size);
      const expected = { bytes: size, sha256: createHash('sha256').update(body).digest('hex') };
      const withLength = await h2(session, { ':method': 'POST', ':path': '/api/upload', 'content-length': String(size) }, body);
      assert.deepEqual([withLength.status, JSON.parse(withLength.body)], [200, expected], `${size} bytes with content-length`);
      const without = await h2(session, { ':method': 'PUT', ':path': '/api/upload' }, body);
      assert.deepEqual([without.status, JSON.parse(without.body)], [200, expected], `${size} bytes without content-length`);
    }
  } finally {
    session.close();
  }
});

/** Sends an HTTP/2 request whose body breaks its promise (too short, too long) or is reset before its end; resolves when the stream is over. */
function brokenBody(session: ClientHttp2Session, path: string, how: 'short' | 'long' | 'reset'): Promise<void> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ':method': 'POST', ':path': path, ':authority': HOST };
    if (how !== 'reset') headers['content-length'] = '100';
    const stream = session.request(headers, { endStream: false });
    stream.on('error', () => undefined);
    stream.on('close', () => resolve());
    stream.resume();
    if (how === 'short') stream.end('short');
    else if (how === 'long') stream.end(Buffer.alloc(200, 0x61));
    // A user cancelling an upload: part of the body, then RST_STREAM CANCEL.
    else stream.write('part of it', () => stream.close(constants.NGHTTP2_CANCEL));
  });
}

test('HTTP/2 bodies that break their Content-Length or are reset mid-way cost that exchange only, on open and protected paths', async () => {
  const [worker] = portico.workerPids();
  // A session each: nghttp2 may end the whole session for a body longer than its Content-Length
  // (Node 26 does), which is the client's loss, not the worker's.
  for (let i = 0; i < 3; i += 1) {
    for (const how of ['short', 'long', 'reset'] as const) {
      for (const path of ['/api/upload', '/api/private/upload']) {
        const session = connectH2();
        session.on('error', () => undefined);
        try {
          await brokenBody(session, path, how);
        } finally {
          session.destroy();
        }
      }
    }
  }
  const after = connectH2();
  try {
    assert.equal((await h2(after, { ':path': '/api/whoami' })).body, 'A');
  } finally {
    after.close();
  }
  assert.deepEqual(portico.workerPids(), [worker], `the worker was never restarted:\n${portico.output.split('\n').filter((line) => /ERROR|exited/.test(line)).slice(0, 4).join('\n')}`);
  assert.doesNotMatch(portico.output, /uncaught/, 'no exception reached the process');
});

test('a client that leaves unanswered cancels its upstream request, over HTTP/2 and HTTP/1.1', async () => {
  // The upstream's /hang accepts and never answers; /hanging counts those whose connection is
  // still open. Without cancelling, each is held until the route's response timeout (60 s).
  const hanging = async (): Promise<number> => {
    const session = connectH2();
    try {
      return Number((await h2(session, { ':path': '/api/hanging' })).body);
    } finally {
      session.close();
    }
  };
  const session = connectH2();
  session.on('error', () => undefined);
  for (let i = 0; i < 6; i += 1) session.request({ ':path': `/api/hang?n=${i}`, ':authority': HOST }).on('error', () => undefined);
  const sockets = Array.from({ length: 4 }, () =>
    tlsConnect({ host: '127.0.0.1', port: httpsPort, servername: HOST, ca: rootCa, ALPNProtocols: ['http/1.1'] }, function (this: import('node:tls').TLSSocket) {
      this.write(`GET /api/hang HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    }).on('error', () => undefined),
  );
  await eventually(async () => assert.equal(await hanging(), 10, 'open at the upstream'), { what: 'the ten requests reached the upstream', timeoutMs: 15_000 });
  session.destroy();
  for (const socket of sockets) socket.destroy();
  await eventually(async () => assert.equal(await hanging(), 0, 'still open at the upstream'), { what: "the upstream's requests were cancelled", timeoutMs: 15_000 });
});

test('an upstream\'s invalid status is a 502 on every transport, and the worker keeps serving', async () => {
  const [worker] = portico.workerPids();
  const session = connectH2();
  try {
    for (const code of ['999', '600', '099', '1000']) {
      const answer = await h2(session, { ':path': `/api/status?code=${code}` });
      assert.equal(answer.status, 502, `HTTP/2, upstream status ${code}`);
    }
    const overH1 = await raw(`GET /api/status?code=999 HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    overH1.socket.destroy();
    assert.equal(overH1.status, 502, 'HTTP/1.1, upstream status 999');
    assert.equal((await h2(session, { ':path': '/api/whoami' })).body, 'A');
    // Heads undici refuses (one a client can provoke, from an application that echoes its query
    // into a header) are 502 for that request, and the upstream stays up for the next one.
    for (const head of ['overflow', 'upgrade', 'continue', 'short']) {
      assert.equal((await h2(session, { ':path': `/api/raw?head=${head}` })).status, 502, `upstream head ${head}`);
      assert.equal((await h2(session, { ':path': '/api/whoami' })).body, 'A', `served after an upstream's ${head} head`);
    }
  } finally {
    session.close();
  }
  assert.deepEqual(portico.workerPids(), [worker], 'the same worker, never restarted');
  assert.doesNotMatch(portico.output, /is down/, 'an invalid response marks nobody down');
  await portico.waitFor(/WARN .*proxy \/api\/: GET \/api\/status\?code=999: upstream http:\/\/127\.0\.0\.1:\d+ answered with the invalid status 999 \(502\)/, 5_000);
});

test('the upstream is told the authority Portico routed by: HTTP/2 host ≠ :authority is 400, absolute-form wins over Host', async () => {
  const session = connectH2();
  try {
    const mismatch = await h2(session, { ':path': '/api/headers', host: 'evil.example' });
    assert.equal(mismatch.status, 400, 'RFC 9113 §8.3.1: a host field that names another entity is malformed');
    const same = await h2(session, { ':path': '/api/headers', host: HOST });
    assert.equal((JSON.parse(same.body) as Record<string, string>).host, HOST);
    const seen = JSON.parse((await h2(session, { ':path': '/api/headers' })).body) as Record<string, string>;
    assert.deepEqual([seen.host, seen['x-forwarded-host'], seen.forwarded], [HOST, HOST, `for=127.0.0.1;host=${HOST};proto=https`]);
  } finally {
    session.close();
  }
  const absolute = await raw(`GET https://${HOST}/api/headers HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
  const body = await new Promise<string>((resolve) => {
    let text = absolute.rest.toString();
    absolute.socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    absolute.socket.once('close', () => resolve(text));
  });
  // The body is chunked: its one chunk is the JSON.
  const seen = JSON.parse(/\{.*\}/.exec(body)![0]) as Record<string, string>;
  assert.deepEqual([seen.host, seen['x-forwarded-host']], [HOST, HOST], 'RFC 9112 §3.2.2: Host is generated from the absolute-form target');
  assert.doesNotMatch(body, /evil/);
  const relocated = await raw(`GET https://${HOST}/api/hop HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
  relocated.socket.destroy();
  assert.equal(relocated.headers.location, `https://${HOST}/elsewhere?q=1`, 'an upstream redirect to itself is rewritten to the routed authority');
});

// The proxy's routing and forwarding over the matrix (test/support/matrix.ts): every transport and
// every spelling of a proxied path. Each cell is either the upstream's answer, told the authority
// Portico routed by, or a refusal; never another host's name at the upstream, never a hang.
const target = (): MatrixTarget => ({ port: httpsPort, host: HOST, ca: rootCa, otherHost: 'evil.example', localAddress: '127.0.0.6' });

/** The upstream's /headers answered, and it was told HOST (Host, X-Forwarded-Host, Forwarded); or the request was refused. */
const toldRoutedHost: Predicate = {
  describe: 'the upstream is told the routed host, or a refusal',
  test: (o: Outcome) => {
    if (o.status === 400 || o.status === 404 || o.status === 421) return true;
    if (o.status !== 200) return `got ${o.status}`;
    if (/evil/.test(o.body)) return `the upstream saw another host: ${o.body.slice(0, 120)}`;
    const seen = JSON.parse(o.body) as Record<string, string>;
    // The authority as routed, with its port where the request gave one (absolute-form does).
    const name = (value: string | undefined): string | undefined => value?.replace(/:\d+$/, '');
    return (name(seen.host) === HOST && name(seen['x-forwarded-host']) === HOST) || `the upstream saw host ${seen.host}, x-forwarded-host ${seen['x-forwarded-host']}`;
  },
};

const uploaded = (size: number): Predicate => ({
  describe: `200 with the upstream's count of ${size} bytes`,
  test: (o: Outcome) => (o.status === 200 && (JSON.parse(o.body) as { bytes: number }).bytes === size) || `got ${o.status} ${o.body.slice(0, 60)}`,
});

const PROXY_ROWS: Row[] = [
  { name: 'proxy: what Host the upstream is told, every spelling', request: { path: '/api/headers' }, expect: toldRoutedHost, variants: true, transports: ['h1', 'h2'] },
  { name: 'proxy: a POST body reaches the upstream', request: { method: 'POST', path: '/api/upload', body: 'x'.repeat(5000), headers: { 'content-type': 'text/plain' } }, expect: uploaded(5000), transports: ['h1', 'h2'] },
  { name: 'proxy: a POST body, every spelling: the upstream or a refusal', request: { method: 'POST', path: '/api/upload', body: 'abc' }, expect: { describe: 'the upstream\'s count, or a refusal', test: (o) => o.status >= 400 || uploaded(3).test(o) }, variants: true, transports: ['h1', 'h2'] },
  { name: 'proxy: an upstream\'s invalid status is 502', request: { path: '/api/status?code=999' }, expect: 502, transports: ['h1', 'h2'] },
  { name: 'proxy: an invalid status, every spelling: never a crash, never a 2xx', request: { path: '/api/status?code=999' }, expect: oneOf(400, 404, 502), variants: true, transports: ['h1', 'h2'] },
  { name: 'proxy: a WebSocket on a protected path, every spelling', request: { path: '/api/private/ws' }, expect: denied, variants: true, transports: ['upgrade'] },
  { name: 'proxy: a WebSocket on an open path opens', request: { path: '/api/ws' }, expect: 101, transports: ['upgrade'] },
];

matrixTest('reverse proxy', target, PROXY_ROWS);
