import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PorticoError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log/logger.js';
import { FileLock } from '../../../src/tls/storage/file-lock.js';
import { eventually } from '../../support/eventually.js';

const log = createLogger('test', 'error');
const options = { staleMs: 2_000, refreshMs: 100, timeoutMs: 10_000, log };
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-lock-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('FileLock admits one holder at a time among many concurrent acquirers', async () => {
  const path = join(dir, 'mutex.lock');
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      const lock = await FileLock.acquire(path, options);
      inside += 1;
      maxInside = Math.max(maxInside, inside);
      await new Promise((resolve) => setImmediate(resolve));
      await lock.assertHeld();
      inside -= 1;
      await lock.release();
    }),
  );
  assert.equal(maxInside, 1);
  await assert.rejects(stat(path), { code: 'ENOENT' });
});

test('FileLock takes over a lock whose holder process is dead, at once', async () => {
  const path = join(dir, 'dead.lock');
  const child = spawn(process.execPath, ['-e', '0']);
  const deadPid = await new Promise<number>((resolve) => child.once('exit', () => resolve(child.pid!)));
  await writeFile(path, JSON.stringify({ pid: deadPid, hostname: hostname(), token: 'old', acquiredAt: new Date().toISOString() }));
  const lock = await FileLock.acquire(path, options);
  await lock.assertHeld();
  await lock.release();
  assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith('dead.lock')), []);
});

test('FileLock judges an unreadable lock by its age: a fresh one is waited for, an old one taken over', async () => {
  const path = join(dir, 'empty.lock');
  await writeFile(path, '');
  const old = new Date(Date.now() - 60_000);
  await utimes(path, old, old);
  const lock = await FileLock.acquire(path, options);
  await lock.release();

  await writeFile(path, '');
  await assert.rejects(FileLock.acquire(path, { ...options, timeoutMs: 300 }), (error: unknown) => error instanceof PorticoError && error.code === 'ERR_LOCK_TIMEOUT');
  await rm(path);
});

test('FileLock refreshes the lock while held, so a long holder is not taken for dead', async () => {
  const path = join(dir, 'long.lock');
  const lock = await FileLock.acquire(path, options);
  const first = (await stat(path)).mtimeMs;
  await eventually(async () => (await stat(path)).mtimeMs > first, { what: 'the lock file refreshed' });
  await lock.release();
});

test('FileLock fails at once, with ERR_STATE_WRITE, when the lock cannot be created', async () => {
  await assert.rejects(FileLock.acquire(join(dir, 'no-such-folder', 'x.lock'), options), (error: unknown) => error instanceof PorticoError && error.code === 'ERR_STATE_WRITE');
});
