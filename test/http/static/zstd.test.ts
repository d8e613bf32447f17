import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as zlib from 'node:zlib';
import { PorticoProcess } from '../../support/portico-process.js';
import { anyPortArgs, createSandbox, type Sandbox } from '../../support/sandbox.js';

// Zstandard (RFC 8878) content coding: offered where the runtime's zlib has it (Node ≥ 22.15 and
// ≥ 23.8), found by looking at zlib, never by version; elsewhere not offered at all.
type Zstd = { zstdCompressSync(data: Buffer): Buffer; zstdDecompressSync(data: Buffer): Buffer };
const zstd = typeof (zlib as Partial<Zstd>).zstdCompressSync === 'function' ? (zlib as unknown as Zstd) : undefined;
const NO_ZSTD = 'this runtime\'s zlib has no Zstandard (zlib.zstdCompress: Node ≥ 22.15 and ≥ 23.8)';

let box: Sandbox;
let portico: PorticoProcess;
let port: number;
const text = Buffer.from(Array.from({ length: 4_000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog\n`).join(''));

before(async () => {
  box = await createSandbox();
  await writeFile(join(box.site, 'page.txt'), text);
  await writeFile(join(box.site, 'pre.txt'), text);
  // A precompressed sibling that is not what on-the-fly compression would make, so serving it is visible.
  if (zstd) await writeFile(join(box.site, 'pre.txt.zst'), zstd.zstdCompressSync(Buffer.concat([text, Buffer.from('(precompressed)\n')])));
  portico = PorticoProcess.serve(anyPortArgs(box, ['--workers', '1']));
  port = await portico.port('http');
  await portico.waitUntilServing();
});

after(async () => {
  await portico?.stop();
  await box?.remove();
});

function get(path: string, acceptEncoding: string): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers: { host: 'localhost', 'accept-encoding': acceptEncoding }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

test('zstd: a client that accepts only zstd gets the file compressed with it; one that prefers it by q gets it over gzip', { skip: zstd ? false : NO_ZSTD }, async () => {
  const only = await get('/page.txt', 'zstd');
  assert.equal(only.headers['content-encoding'], 'zstd');
  assert.equal(only.headers.vary, 'Accept-Encoding');
  assert.deepEqual(zstd!.zstdDecompressSync(only.body), text);
  assert.ok(only.body.length < text.length / 4);
  assert.equal((await get('/page.txt', 'gzip;q=0.5, zstd')).headers['content-encoding'], 'zstd');
  // A browser's list (Chrome sends gzip, deflate, br, zstd): br is preferred on a tie.
  assert.equal((await get('/page.txt', 'gzip, deflate, br, zstd')).headers['content-encoding'], 'br');
});

test('zstd: a precompressed file.zst sibling is sent as it is', { skip: zstd ? false : NO_ZSTD }, async () => {
  const answer = await get('/pre.txt', 'zstd');
  assert.equal(answer.headers['content-encoding'], 'zstd');
  assert.match(zstd!.zstdDecompressSync(answer.body).toString(), /\(precompressed\)\n$/);
});

test('zstd: where the runtime has no Zstandard, it is never offered: a zstd-only client gets the identity', { skip: zstd ? 'this runtime has Zstandard: the tests above cover it' : false }, async () => {
  const answer = await get('/page.txt', 'zstd');
  assert.equal(answer.headers['content-encoding'], undefined);
  assert.deepEqual(answer.body, text);
});
