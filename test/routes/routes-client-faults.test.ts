import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { before, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { eventually } from '../support/eventually.js';
import { type MatrixTarget, pathVariants, send, type Transport } from '../support/matrix.js';
import type { PorticoProcess } from '../support/portico-process.js';
import { residentBytes } from '../support/process-memory.js';
import { useTestServers } from '../support/test-servers.js';
import { BIG_BYTES, type RawUpstream, receivedPaths, serveBehindApp } from './raw-upstream.js';

// Misbehaving clients through a route to tryFiles' @app: a POST cut mid-body, a Content-Length
// that promises more than comes, one that promises less than comes (a smuggling attempt: the
// rest must be a request Portico parses and routes itself, never bytes forwarded to the
// upstream), and a client that never reads a 64 MiB proxied response (the worker must not
// buffer it). After each, the worker is the same process and serves the next request.

const HOST = 'clients.example.test';
const servers = useTestServers();
let portico: PorticoProcess;
let upstream: RawUpstream;
let target: MatrixTarget;

before(async () => {
  ({ portico, upstream, target } = await serveBehindApp(servers, HOST, (upstreamPort) => [
    '      - match: { path: /admin/ }',
    '        handle: [{ respond: { status: 403, body: "admin: no" } }]',
    '      - name: app',
    `        handle: [{ proxy: { to: ["http://127.0.0.1:${upstreamPort}"], timeouts: { response: 5s } } }]`,
  ]));
});

/** A TLS socket to Portico speaking HTTP/1.1, open once the handshake is done. */
function h1Socket(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: target.port, servername: HOST, ca: target.ca, ALPNProtocols: ['http/1.1'] }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends on `socket` until it closes it or `done` holds for what came so far. */
function readUntil(socket: TLSSocket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => resolve(text);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (done(text)) {
        socket.off('close', finish);
        resolve(text);
      }
    });
    socket.once('close', finish);
    socket.on('error', () => undefined);
  });
}

async function servesNext(transport: Transport, what: string): Promise<void> {
  const path = '/app/ok';
  const next = await send(target, transport, { path }, pathVariants(path)[0]!);
  assert.equal(next.status, 200, `after ${what}, over ${transport}, the next request got ${next.status} ${next.error ?? ''}`);
  assert.match(next.body, /^app \/app\/ok/);
}

const statusesOf = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]));

test('a POST cut mid-body, over HTTP/1.1 and HTTP/2, costs that exchange only', async () => {
  const workers = portico.workerPids();
  const socket = await h1Socket();
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(`POST /app/upload-h1 HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 100000\r\n\r\n${'a'.repeat(1000)}`);
  await eventually(() => receivedPaths(upstream.heads).includes('/app/upload-h1'), { what: 'the upload reached the upstream' });
  socket.destroy();
  await closed;
  await servesNext('h1', 'an HTTP/1.1 POST cut mid-body');

  const session = http2Connect(`https://127.0.0.1:${target.port}`, { ca: target.ca, servername: HOST });
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': '/app/upload-h2', ':authority': HOST, 'content-length': '100000' }, { endStream: false });
  stream.on('error', () => undefined);
  stream.write('b'.repeat(1000));
  await eventually(() => receivedPaths(upstream.heads).includes('/app/upload-h2'), { what: 'the HTTP/2 upload reached the upstream' });
  stream.close(0x8); // CANCEL
  await new Promise((resolve) => stream.once('close', resolve));
  await servesNext('h2', 'an HTTP/2 stream reset mid-body');
  session.close();
  assert.deepEqual(portico.workerPids(), workers);
});

test('a Content-Length promising more than comes, then a half-close: a 400 or a closed connection, never a hang', async () => {
  const socket = await h1Socket();
  const answer = readUntil(socket, (text) => text.includes('\r\n\r\n'));
  socket.end(`POST /app/liar HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 1000\r\n\r\n0123456789`);
  const text = await answer;
  const statuses = statusesOf(text);
  assert.ok(statuses.length === 0 || statuses.every((status) => status === 400 || status === 502), `got ${JSON.stringify(text.slice(0, 200))}`);
  socket.destroy();
  await servesNext('h1', 'a Content-Length that lied');
  await servesNext('h2', 'a Content-Length that lied');
});

test('a Content-Length promising less than comes: the rest is a request Portico routes, never bytes sent on to the upstream', async (t) => {
  const before = upstream.heads.length;
  const smuggled = [
    // The rest after 3 bytes is a request for a refused path: Portico must parse it and refuse it.
    `POST /app/smuggle-1 HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 3\r\n\r\nabcGET /admin/secret HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`,
    // Two Content-Lengths that disagree, and Content-Length with Transfer-Encoding: refused whole.
    `POST /app/smuggle-2 HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 3\r\ncontent-length: 40\r\n\r\nabcGET /admin/two HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`,
    `POST /app/smuggle-3 HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/three HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`,
    `POST /app/smuggle-4 HTTP/1.1\r\nhost: ${HOST}\r\ntransfer-encoding: chunked\r\ntransfer-encoding: identity\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /admin/four HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`,
    `POST /app/smuggle-5 HTTP/1.1\r\nhost: ${HOST}\r\ntransfer-encoding: xchunked\r\ncontent-length: 3\r\n\r\nabcGET /admin/five HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`,
  ];
  const got: string[] = [];
  for (const request of smuggled) {
    const socket = await h1Socket();
    // Read until two responses came or the server closed.
    const answer = readUntil(socket, (text) => statusesOf(text).length >= 2 && /admin: no|\r\n\r\n[^]*\r\n\r\n/.test(text));
    socket.write(request);
    const text = await answer;
    socket.destroy();
    got.push(`${request.split('\r\n')[0]} -> ${statusesOf(text).join(', ') || 'closed'}`);
  }
  t.diagnostic(got.join('; '));
  const received = upstream.heads.slice(before);
  const leaked = receivedPaths(received).filter((path) => path.includes('admin'));
  assert.deepEqual(leaked, [], `the upstream received a smuggled request:\n${received.join('\n---\n')}\n(${got.join('; ')})`);
  // The first one is two requests, both answered: the POST by the app, the GET by the route that refuses /admin/.
  assert.match(got[0]!, / -> 200, 403$/, got.join('\n'));
  // Whatever reached the upstream carried one body framing it can trust: a Content-Length that matches.
  for (const head of received) assert.doesNotMatch(head, /transfer-encoding:.*\r\ncontent-length|content-length:.*\r\ntransfer-encoding/is, head);
  await servesNext('h1', 'the smuggling attempts');
});

for (const transport of ['h1', 'h2'] as const) {
  test(`over ${transport}, a client that never reads a 64 MiB proxied response: the worker does not buffer it and serves the next request`, async (t) => {
    const [worker] = portico.workerPids();
    assert.ok(worker !== undefined);
    const base = await residentBytes(worker);
    const written = upstream.bigWritten();
    let close: () => void;
    if (transport === 'h1') {
      const socket = await h1Socket();
      socket.pause();
      socket.write(`GET /app/big-${transport}/big HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`);
      close = () => socket.destroy();
    } else {
      const session = http2Connect(`https://127.0.0.1:${target.port}`, { ca: target.ca, servername: HOST });
      session.on('error', () => undefined);
      const stream = session.request({ ':path': `/app/big-${transport}/big`, ':authority': HOST });
      stream.on('error', () => undefined);
      stream.pause();
      close = () => session.destroy();
    }
    // The upstream writes until the path to the client is full, then waits: its count stops moving.
    // Unmoved over several polls in a row (their pauses grow to 250 ms): held, not between two writes.
    let last = -1;
    let unmoved = 0;
    const stalled = await eventually(
      () => {
        const now = upstream.bigWritten() - written;
        unmoved = now > 0 && now === last ? unmoved + 1 : 0;
        last = now;
        return unmoved >= 6 && now;
      },
      { what: 'the upstream to be held back by the client that does not read', timeoutMs: 60_000 },
    );
    const grown = (await residentBytes(worker)) - base;
    t.diagnostic(`held back after ${stalled} bytes; the worker grew by ${grown} bytes`);
    close();
    assert.ok(stalled < BIG_BYTES / 2, `the upstream wrote ${stalled} of ${BIG_BYTES} bytes to a client that reads nothing: Portico took them in`);
    assert.ok(grown < 48 * 1024 * 1024, `the worker grew by ${Math.round(grown / 1024 / 1024)} MiB`);
    await servesNext(transport, 'a client that never read');
    assert.deepEqual(portico.workerPids(), [worker]);
  });
}
