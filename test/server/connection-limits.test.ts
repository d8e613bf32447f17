import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { before, test } from 'node:test';
import { probe } from '../support/tls-probe.js';
import type { PorticoProcess } from '../support/portico-process.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

// Limits that keep one client (or a flood of them) from taking a worker: connections per client
// address, the accept queue, requests per keep-alive connection.
const servers = useTestServers();
let portico: PorticoProcess;
let httpPort: number;
let httpsPort: number;

before(async () => {
  const box = await servers.ready();
  portico = servers.serve(anyPortArgs(box, ['--workers', '1']));
  httpPort = await portico.port('http');
  httpsPort = await portico.port('https');
  await portico.waitUntilServing();
});

function openConnections(count: number, port: number): Promise<Socket[]> {
  return Promise.all(
    Array.from({ length: count }, () => {
      return new Promise<Socket>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port });
        socket.on('error', () => undefined);
        socket.once('connect', () => resolve(socket));
        socket.once('close', () => resolve(socket));
      });
    }),
  );
}

test('an accept storm of 5,000 connections leaves a new client answered within a second', async () => {
  // Not awaited: some of them the kernel may keep retrying; all are destroyed at the end.
  const storm = Array.from({ length: 5_000 }, () => connect({ host: '127.0.0.1', port: httpsPort }).on('error', () => undefined));
  try {
    const started = Date.now();
    const result = await probe({ port: httpsPort, servername: 'localhost', localAddress: '127.0.0.2' });
    const elapsed = Date.now() - started;
    assert.equal(result.status, 200);
    assert.ok(elapsed < 1_000, `answered in ${elapsed} ms`);
  } finally {
    for (const socket of storm) socket.destroy();
  }
});

test('one client address holds at most 256 connections per worker; the next are closed at once and logged once', async () => {
  const logged = (): number => portico.matches(/refused connections from 127\.0\.0\.1: it holds 256 already \(per-address limit\)/g).length;
  const loggedBefore = logged();
  const sockets = await openConnections(300, httpPort);
  const refused = await Promise.all(sockets.map((socket) => new Promise<boolean>((resolve) => (socket.destroyed ? resolve(true) : socket.once('close', () => resolve(true)).once('data', () => resolve(false)).setTimeout(1_000, () => resolve(false))))));
  assert.equal(refused.filter(Boolean).length, 300 - 256);
  assert.equal(logged() - loggedBefore, 1, 'one WARN line for the burst');
  const closing = sockets.filter((socket) => !socket.destroyed).map((socket) => new Promise((resolve) => socket.once('close', resolve)));
  for (const socket of sockets) socket.destroy();
  await Promise.all(closing);
});

test('a keep-alive connection is closed after 10,000 requests (connection: close on the last)', async () => {
  const socket = connect({ host: '127.0.0.1', port: httpPort });
  const request = 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n';
  let responses = 0;
  let closes = 0;
  let tail = '';
  let onProgress: () => void = () => undefined;
  socket.setEncoding('latin1');
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('data', (chunk: string) => {
    // Counted chunk by chunk (with the previous chunk's tail, for a status line cut in two).
    const text = tail + chunk;
    responses += (text.match(/HTTP\/1\.1 200/g) ?? []).length;
    closes += (text.match(/connection: close/gi) ?? []).length;
    tail = text.slice(-20).replace(/^.*(HTTP\/1\.1 200|connection: close)/is, '');
    onProgress();
  });
  // In batches, so the client never has more than 200 unanswered requests in flight; a stall
  // fails the test with what was received instead of waiting for the runner's timeout.
  const deadline = Date.now() + 60_000;
  for (let sent = 0; sent < 10_001; sent += 200) {
    socket.write(request.repeat(Math.min(200, 10_001 - sent)));
    const expected = Math.min(sent + 200, 10_000);
    while (responses < expected && !socket.destroyed) {
      const progressed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
        onProgress = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      assert.ok(progressed, `stalled at ${responses} responses of ${expected} expected`);
    }
  }
  await closed;
  assert.equal(responses, 10_000);
  assert.equal(closes, 1, 'the 10,000th says connection: close');
});
