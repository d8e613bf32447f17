import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { connect as connectTls } from 'node:tls';
import { httpRequest } from '../support/http-request.js';
import type { PorticoProcess } from '../support/portico-process.js';
import { FLAG, FRAME, frame, getRequestBlock, PREFACE, readFrames, ERROR_CODE, rstStream } from '../support/http2-frames.js';
import { residentBytes } from '../support/process-memory.js';
import { eventually } from '../support/eventually.js';
import { cpuSeconds, openDescriptors } from '../support/process-stats.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

// Attacks that once exhausted a worker's file descriptors, run against a worker limited to 1024
// (a common systemd default). Each asserts what a user would notice: another client is still
// served, and the worker's descriptors come back to where they were.
const servers = useTestServers();
const LIMIT = ['prlimit', '--nofile=1024:1024', '--'];
let portico: PorticoProcess;
let worker: number;
let httpPort: number;
let httpsPort: number;

before(async () => {
  const box = await servers.ready();
  // 300 KiB: too large for the in-memory cache, so every request for it opens the file.
  const file = await open(join(box.site, 'large.bin'), 'w');
  await file.truncate(300 * 1024);
  await file.close();
  portico = servers.serve(anyPortArgs(box, ['--workers', '1', '--header-timeout', '1s']), {}, LIMIT);
  httpPort = await portico.port('http');
  httpsPort = await portico.port('https');
  await portico.waitUntilServing();
  worker = portico.workerPids()[0]!;
  assert.ok((await probe({ port: httpsPort, servername: 'localhost' })).status === 200);
});

/** A client from another loopback address, so per-address limits on the attacker do not apply to it. */
function bystanderIsServed(): Promise<boolean> {
  return probe({ port: httpsPort, servername: 'localhost', localAddress: '127.0.0.2' }).then(
    (result) => result.status === 200,
    () => false,
  );
}

test('1,100 connections that never finish a TLS handshake: others are served, and every descriptor comes back (finding 1)', async () => {
  const baseline = await openDescriptors(worker);
  const sockets: Socket[] = [];
  const closedByServer = Array.from({ length: 1_100 }, (_, i) => {
    return new Promise<void>((resolve) => {
      const socket = connectTcp({ host: '127.0.0.1', port: httpsPort }, () => {
        // Half of them send the start of a ClientHello and stop; the others send nothing.
        if (i % 2) socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00]));
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
      sockets.push(socket);
    });
  });
  assert.ok(await bystanderIsServed(), 'HTTPS answers another client during the flood');
  assert.equal((await httpRequest(httpPort, '/', { headers: { host: 'x' } })).status, 200, 'plain HTTP answers too');
  // The handshake timeout (1 s) ends them all: the server closes every one, whatever they do.
  await Promise.all(closedByServer);
  for (const socket of sockets) socket.destroy();
  await descriptorsBack(worker, baseline);
  assert.ok(await bystanderIsServed(), 'served after the flood');
});

test('HTTP/2 rapid reset (3,000 × HEADERS + RST_STREAM): the attacker is cut off, CPU and memory stay bounded, every file descriptor comes back (finding 2)', async () => {
  const baseline = await openDescriptors(worker);
  const cpuBefore = await cpuSeconds(worker);
  const rssBefore = await residentBytes(worker);
  const received: Buffer[] = [];
  const closed = new Promise<void>((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port: httpsPort, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => {
      const frames = [PREFACE, frame(FRAME.SETTINGS, 0, 0)];
      for (let i = 0; i < 3_000; i++) {
        const id = 2 * i + 1;
        frames.push(frame(FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS, id, getRequestBlock('/large.bin')), rstStream(id, ERROR_CODE.CANCEL));
      }
      socket.write(Buffer.concat(frames));
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    setTimeout(() => reject(new Error('the attacking connection was still open after 20 s')), 20_000).unref();
  });
  await closed;
  // Either Portico's guard cuts the attacker off (GOAWAY ENHANCE_YOUR_CALM), or, on newer Node
  // versions, nghttp2's own flood guard does first (GOAWAY INTERNAL_ERROR): either way with a
  // GOAWAY and a WARN line naming the client.
  const goaways = readFrames(Buffer.concat(received)).filter((f) => f.type === FRAME.GOAWAY).map((f) => f.payload.readUInt32BE(4));
  if (goaways.includes(ERROR_CODE.ENHANCE_YOUR_CALM)) assert.match(portico.stderr, /reset more than \d+ streams in 10 s \(rapid reset\)/);
  else {
    assert.ok(goaways.includes(ERROR_CODE.INTERNAL_ERROR), `a GOAWAY ENHANCE_YOUR_CALM or INTERNAL_ERROR among ${JSON.stringify(goaways)}`);
    await eventually(() => assert.match(portico.stderr, /WARN .*HTTP\/2 client 127\.0\.0\.1 broke the protocol \(nghttp2: /, portico.stderr.slice(-600)), { what: 'the protocol error logged', timeoutMs: 5_000 });
  }
  await descriptorsBack(worker, baseline);
  assert.ok((await cpuSeconds(worker)) - cpuBefore < 10, 'under ten CPU seconds');
  assert.ok((await residentBytes(worker)) - rssBefore < 100 * 2 ** 20, 'RSS grew by less than 100 MiB');
  assert.ok(await bystanderIsServed(), 'another client is served');
});

async function descriptorsBack(worker: number, baseline: number): Promise<void> {
  await eventually(async () => assert.ok((await openDescriptors(worker)) <= baseline, `${await openDescriptors(worker)} open`), { what: `the worker's descriptors back to ${baseline}`, timeoutMs: 10_000 });
}
