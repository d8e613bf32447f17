import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_LIMITS } from '../../src/config/defaults.js';
import { ExchangeObserver } from '../../src/http/exchange-observer.js';
import { Pipeline } from '../../src/http/pipeline.js';
import { createStaticCaches, createStaticHandler } from '../../src/http/static/static-handler.js';
import { CertificateTable } from '../../src/server/certificate-table.js';
import { Endpoint } from '../../src/server/endpoint.js';
import { freezeBundle } from '../../src/tls/bundle.js';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { recordingLogger } from '../support/in-process.js';

// One Endpoint in this process, with a real TLS listener and a real HTTP/2 client, so the file
// system calls a request makes can be counted.
const log = recordingLogger();
let dir: string;
let endpoint: Endpoint;
let session: ClientHttp2Session;
let port: number;
let rootPem: string;
let finished = 0;
const completions: boolean[] = [];
const onFinished: Array<() => void> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-endpoint-'));
  await writeFile(join(dir, 'large.bin'), Buffer.alloc(300 * 1024, 7));
  await writeFile(join(dir, 'small.txt'), 'kept in memory');
  const root = await createRootCa(Date.now());
  rootPem = root.certPem;
  const now = Date.now();
  const leaf = await issueLeaf(root, ['localhost'], 'ec-p256', { notBefore: now - 60_000, notAfter: now + 3_600_000 });
  const certificates = new CertificateTable(log, () => undefined);
  certificates.publish(freezeBundle({ id: 'test', fingerprint256: 'x', serialNumber: '1', ...leaf, notBefore: now - 60_000, notAfter: now + 3_600_000, hosts: ['localhost'], keyType: 'ec-p256' }));
  const pipeline = new Pipeline([await createStaticHandler(dir, { browse: false, cacheControl: 'no-cache' }, createStaticCaches(), log)], log);
  const observer = new ExchangeObserver();
  observer.listen(({ complete }) => {
    finished += 1;
    completions.push(complete);
    for (const wake of onFinished.splice(0)) wake();
  });
  const limits = { ...DEFAULT_LIMITS, headerTimeoutMs: 5_000, handshakeHoldMs: 5_000 };
  endpoint = new Endpoint({ name: 'https', port: 0, address: '127.0.0.1', tls: true, setting: '--https' }, limits, { select: () => pipeline }, { begin: () => undefined, end: () => undefined }, observer, log, certificates);
  port = await endpoint.open();
  session = connect(`https://localhost:${port}`, { ca: rootPem, host: '127.0.0.1' });
});

after(async () => {
  session?.close();
  endpoint?.stop();
  await rm(dir, { recursive: true, force: true });
});

function get(path: string): Promise<{ status: number; length: number }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let status = 0;
    let length = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => (length += chunk.length));
    stream.on('end', () => resolve({ status, length }));
    stream.on('error', reject);
  });
}

/** Counts the metadata reads (stat, lstat, fstat, realpath) the server makes while `action` runs. */
async function countMetadataReads(action: () => Promise<unknown>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const probe = await open(join(dir, 'large.bin'));
  const fileHandle = Object.getPrototypeOf(probe) as { stat: (...args: unknown[]) => unknown };
  await probe.close();
  const targets: Array<[Record<string, unknown>, string, string]> = [
    [fs as unknown as Record<string, unknown>, 'statSync', 'stat'],
    [fs as unknown as Record<string, unknown>, 'lstatSync', 'stat'],
    [fs.promises as unknown as Record<string, unknown>, 'stat', 'stat'],
    [fs.promises as unknown as Record<string, unknown>, 'lstat', 'stat'],
    [fs.promises as unknown as Record<string, unknown>, 'realpath', 'realpath'],
    [fileHandle as unknown as Record<string, unknown>, 'stat', 'stat'],
  ];
  const originals = targets.map(([owner, name]) => owner[name]);
  targets.forEach(([owner, name, kind], i) => {
    const original = originals[i] as (...args: unknown[]) => unknown;
    owner[name] = function (this: unknown, ...args: unknown[]) {
      counts[kind] = (counts[kind] ?? 0) + 1;
      return original.apply(this, args);
    };
  });
  syncBuiltinESMExports();
  try {
    await action();
  } finally {
    targets.forEach(([owner, name], i) => (owner[name] = originals[i]));
    syncBuiltinESMExports();
  }
  return counts;
}

const WATCHED = process.platform === 'linux';

test('an HTTP/2 cache miss reads the file metadata once: one fstat of the opened file, nothing else', async () => {
  // Cold: the path is resolved once (realpath) and the opened file stat'ed once; where its folder
  // is then watched, one stat more closes the gap between that fstat and the watch.
  const cold = await countMetadataReads(() => get('/large.bin'));
  assert.deepEqual(cold, { realpath: 1, stat: WATCHED ? 2 : 1 });
  // Warm: 300 KiB is too large to keep in memory, so every request is a miss; the cached mapping
  // is reused and the opened file's fstat is the only metadata read.
  const warm = await countMetadataReads(async () => assert.deepEqual(await get('/large.bin'), { status: 200, length: 300 * 1024 }));
  assert.deepEqual(warm, { stat: 1 });
});

test('a small file served from memory reads no metadata at all: its folder is watched instead', { skip: WATCHED ? false : 'inotify is Linux only: elsewhere each hit is checked with a stat' }, async () => {
  assert.equal((await get('/small.txt')).status, 200);
  const hits = await countMetadataReads(async () => {
    for (let i = 0; i < 10; i++) assert.deepEqual(await get('/small.txt'), { status: 200, length: 14 });
  });
  assert.deepEqual(hits, {});
});

test('every exchange reaches the observer once, whichever way it ended', async () => {
  const before = finished;
  const completionsBefore = completions.length;
  await get('/large.bin');
  await get('/missing');
  // A stream window of 1 KiB: the server cannot finish the 300 KiB body before the reset
  // arrives, however slow this client is to send it.
  const small = connect(`https://localhost:${port}`, { ca: rootPem, host: '127.0.0.1', settings: { initialWindowSize: 1024 } });
  const reset = small.request({ ':path': '/large.bin' });
  reset.on('error', () => undefined);
  // CANCEL, as a browser resets a download it no longer wants.
  await new Promise<void>((resolve) => reset.once('response', () => (reset.close(constants.NGHTTP2_CANCEL), resolve())));
  small.close();
  await get('/large.bin');
  // The reset exchange ends when the server sees the reset, which may come after the last reply.
  while (finished - before < 4) await new Promise<void>((resolve) => onFinished.push(resolve));
  assert.equal(finished - before, 4);
  // The stream reset in the middle of its 300 KiB body is reported incomplete. (A stream reset
  // before its response was written is the rapid-reset test's case, descriptor-exhaustion.test.ts.)
  assert.deepEqual(completions.slice(completionsBefore).filter((complete) => !complete).length, 1);
});
