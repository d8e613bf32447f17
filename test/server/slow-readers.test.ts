import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { type ClientRequest, request } from 'node:http';
import { connect as connectHttp2 } from 'node:http2';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { httpRequest } from '../support/http-request.js';
import { residentBytes } from '../support/process-memory.js';
import { eventually } from '../support/eventually.js';
import { openDescriptors } from '../support/process-stats.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

// Clients that ask for a large file and stop reading: without a send timeout each would hold a
// connection, a file descriptor and socket buffers for ever (finding 10; nginx's send_timeout).
const servers = useTestServers();
let httpPort: number;
let httpsPort: number;
let worker: number;

before(async () => {
  const box = await servers.ready();
  const file = await open(join(box.site, 'large.bin'), 'w');
  await file.truncate(128 * 1024 * 1024);
  await file.close();
  const portico = servers.serve(anyPortArgs(box, ['--workers', '1', '--send-timeout', '2s']));
  httpPort = await portico.port('http');
  httpsPort = await portico.port('https');
  await portico.waitUntilServing();
  worker = portico.workerPids()[0]!;
  // A first file served opens what the worker keeps from then on (its inotify descriptor), so
  // the descriptor count the test starts from is the steady one.
  assert.equal((await httpRequest(httpPort, '/')).status, 200);
});

/** Starts a download and stops reading after the first chunk; resolves when the server closes it. */
function stalledDownload(): { started: Promise<ClientRequest>; closed: Promise<void> } {
  let started!: (req: ClientRequest) => void;
  const startedPromise = new Promise<ClientRequest>((resolve) => (started = resolve));
  const closed = new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port: httpPort, path: '/large.bin', agent: false }, (res) => {
      res.once('data', () => {
        res.pause();
        started(req);
      });
      res.on('error', () => undefined);
    });
    // The paused response never emits 'close'; the request's socket does when the server drops it.
    req.on('close', () => resolve());
    req.on('error', () => undefined);
    req.end();
  });
  return { started: startedPromise, closed };
}

test('twenty HTTP/1.1 clients that stop reading are dropped after the send timeout, and others are served meanwhile', async () => {
  const baseline = await openDescriptors(worker);
  const rssBefore = await residentBytes(worker);
  const downloads = Array.from({ length: 20 }, () => stalledDownload());
  const requests = await Promise.all(downloads.map((d) => d.started));
  assert.ok((await openDescriptors(worker)) >= baseline + 20, 'each holds a connection (and a file) while it stalls');
  assert.equal((await httpRequest(httpPort, '/', { headers: { host: 'x' } })).status, 200, 'another client is served');
  // The worker lets go of them (its side closes; the kernel keeps the unsent bytes for a client
  // that never reads them): its descriptors come back while the clients are still paused.
  await eventually(async () => assert.ok((await openDescriptors(worker)) <= baseline, `${await openDescriptors(worker)} open`), { what: `the worker's descriptors back to ${baseline}`, timeoutMs: 20_000 });
  // With backpressure a stalled client costs the worker about two 512 KiB reads and a socket
  // buffer (20 × 1.5 MiB), plus garbage not yet collected: 40-60 MiB measured on Node 20 and 24.
  // Without it the worker would read on into memory: 128 MiB for any one of them.
  const growth = (await residentBytes(worker)) - rssBefore;
  assert.ok(growth < 96 * 2 ** 20, `the worker did not keep their bytes (it grew ${Math.round(growth / 2 ** 20)} MiB)`);
  for (const req of requests) req.destroy();
});

test('an HTTP/2 stream whose client stops reading is cancelled after the send timeout; the connection stays usable', async () => {
  const session = connectHttp2(`https://127.0.0.1:${httpsPort}`, { rejectUnauthorized: false, servername: 'localhost' });
  try {
    const stream = session.request({ ':path': '/large.bin' });
    const code = await new Promise<number>((resolve) => {
      stream.once('data', () => stream.pause());
      stream.on('error', () => undefined);
      stream.on('close', () => resolve(stream.rstCode ?? -1));
    });
    assert.equal(code, 8, 'RST_STREAM CANCEL');
    const again = session.request({ ':path': '/' });
    const status = await new Promise<number>((resolve, reject) => {
      again.on('response', (headers) => resolve(Number(headers[':status'])));
      again.on('error', reject);
      again.resume();
    });
    assert.equal(status, 200);
  } finally {
    session.close();
  }
});
