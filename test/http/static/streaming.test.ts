import assert from 'node:assert/strict';
import { open, truncate, unlink, writeFile } from 'node:fs/promises';
import { type ClientRequest, request } from 'node:http';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { httpRequest } from '../../support/http-request.js';
import type { PorticoProcess } from '../../support/portico-process.js';
import { residentBytes } from '../../support/process-memory.js';
import { useTestServers } from '../../support/test-servers.js';

const MiB = 1024 * 1024;
const servers = useTestServers();
let port: number;
let portico: PorticoProcess;

before(async () => {
  const { site } = await servers.ready();
  // Sparse files: large to the server, free on disk.
  await sparseFile(join(site, 'large.bin'), 128 * MiB);
  portico = servers.serve([site, '--bind', '127.0.0.1', '--http', '0', '--https', 'off', '--workers', '1']);
  port = await portico.port('http');
});

async function sparseFile(path: string, size: number): Promise<void> {
  const file = await open(path, 'w');
  await file.truncate(size);
  await file.close();
}

/** Starts a download and stops reading after the first chunk; resolves once that chunk arrived. */
function stalledDownload(path: string): Promise<{ req: ClientRequest; resume: () => Promise<{ received: number; complete: boolean }> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let received = 0;
      res.once('data', (chunk: Buffer) => {
        received += chunk.length;
        res.pause();
        const expected = Number(res.headers['content-length']);
        resolve({
          req,
          resume: () =>
            new Promise((done) => {
              res.on('data', (more: Buffer) => {
                received += more.length;
              });
              res.on('end', () => done({ received, complete: received === expected }));
              res.on('error', () => done({ received, complete: false }));
              res.on('aborted', () => done({ received, complete: false }));
              res.resume();
            }),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('four stalled clients downloading a 128 MiB file do not grow the worker by the file (backpressure)', async () => {
  const [workerPid] = portico.workerPids();
  const before = await residentBytes(workerPid!);
  const downloads = await Promise.all([1, 2, 3, 4].map(() => stalledDownload('/large.bin')));
  // Sample for a bounded while: without backpressure the worker would read 4 × 128 MiB into memory.
  let peak = before;
  for (let i = 0; i < 20; i++) {
    peak = Math.max(peak, await residentBytes(workerPid!));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(peak - before < 64 * MiB, `worker grew by ${((peak - before) / MiB).toFixed(1)} MiB`);
  const finished = await Promise.all(downloads.map((download) => download.resume()));
  for (const result of finished) assert.ok(result.complete, `received ${result.received} bytes`);
});

test('a file truncated while it is being sent ends that response early, and the worker carries on', async () => {
  const path = join(servers.box.site, 'shrinking.bin');
  await writeFile(path, Buffer.alloc(32 * MiB, 7));
  const download = await stalledDownload('/shrinking.bin');
  await truncate(path, MiB);
  const result = await download.resume();
  assert.equal(result.complete, false, 'the client sees the response cut, not a silent hang');
  assert.ok(result.received < 32 * MiB);
  assert.equal((await httpRequest(port, '/')).status, 200);
  assert.doesNotMatch(portico.stderr, /uncaught|exited with/);
});

test('a file deleted while it is being sent is still sent whole (the open descriptor keeps it)', async () => {
  const path = join(servers.box.site, 'deleted.bin');
  await writeFile(path, Buffer.alloc(16 * MiB, 3));
  const download = await stalledDownload('/deleted.bin');
  await unlink(path);
  const result = await download.resume();
  assert.ok(result.complete, `received ${result.received} bytes`);
  assert.equal((await httpRequest(port, '/deleted.bin')).status, 404);
});
