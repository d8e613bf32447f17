import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileStorage } from '../../../src/tls/storage/file-storage.js';
import { recordingLogger } from '../../support/in-process.js';
import { storageContract } from './storage-contract.js';

storageContract('FileStorage', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-storage-'));
  return {
    storage: await FileStorage.open(dir, recordingLogger()),
    other: await FileStorage.open(dir, recordingLogger()),
    // What a process that judged the lock stale leaves: the lock file, with its own token.
    steal: (name) => writeFile(join(dir, 'locks', `${name}.lock`), JSON.stringify({ pid: 1, hostname: 'elsewhere', token: 'another holder', acquiredAt: new Date().toISOString() })),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
});

test('FileStorage keeps private values owner-only (0600) in owner-only folders (0700), and sets aside by renaming', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-storage-'));
  try {
    const log = recordingLogger();
    const storage = await FileStorage.open(dir, log);
    await storage.storeAll([
      { key: 'certificates/x/key.pem', value: 'secret', private: true },
      { key: 'certificates/x/cert.pem', value: 'public' },
    ]);
    assert.deepEqual(await storage.list('certificates'), ['certificates/x/cert.pem', 'certificates/x/key.pem']);
    assert.equal((await stat(join(dir, 'certificates', 'x', 'key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'certificates', 'x', 'cert.pem'))).mode & 0o777, 0o644);
    assert.equal((await stat(join(dir, 'certificates', 'x'))).mode & 0o777, 0o700);
    await storage.setAside('certificates/x/cert.pem', 'a test');
    assert.ok(log.lines.some((line) => /^WARN moved .*cert\.pem aside to .*cert\.pem\.aside-\d{8}T\d{6}Z: a test$/.test(line)), log.lines.join('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
