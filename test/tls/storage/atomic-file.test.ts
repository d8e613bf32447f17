import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PorticoError } from '../../../src/errors.js';
import { writeFileAtomic } from '../../../src/tls/storage/atomic-file.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-atomic-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('writeFileAtomic() replaces the file whole and sets the mode', async () => {
  const path = join(dir, 'key.pem');
  await writeFile(path, 'old');
  await writeFileAtomic(path, 'new contents', 0o600);
  assert.equal(await readFile(path, 'utf8'), 'new contents');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dir), ['key.pem']);
});

test('writeFileAtomic() that fails leaves the old file as it was and no temporary file behind', async () => {
  const target = join(dir, 'busy');
  await mkdir(join(target, 'child'), { recursive: true });
  await assert.rejects(writeFileAtomic(target, 'data', 0o600), (error: unknown) => error instanceof PorticoError && error.code === 'ERR_STATE_WRITE');
  assert.ok((await stat(target)).isDirectory());
  assert.deepEqual((await readdir(dir)).filter((name) => name.includes('.tmp-')), []);
});
