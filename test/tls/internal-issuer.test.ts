import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InternalIssuer } from '../../src/tls/internal-ca/internal-issuer.js';
import { FileStorage } from '../../src/tls/storage/file-storage.js';
import { recordingLogger } from '../support/in-process.js';
import { issuerContract } from './issuer-contract.js';

async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).length;
}

issuerContract('InternalIssuer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-issuer-'));
  const otherDir = await mkdtemp(join(tmpdir(), 'portico-issuer-other-'));
  const storage = await FileStorage.open(dir, recordingLogger());
  return {
    issuer: new InternalIssuer(storage, recordingLogger()),
    stranger: new InternalIssuer(await FileStorage.open(otherDir, recordingLogger()), recordingLogger()),
    storedValues: () => countFiles(dir),
    remove: async () => {
      await rm(dir, { recursive: true, force: true });
      await rm(otherDir, { recursive: true, force: true });
    },
  };
});

test('InternalIssuer: two issuers on one storage, preparing at once, create one root between them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-issuer-'));
  try {
    const log = recordingLogger();
    const storage = await FileStorage.open(dir, log);
    await Promise.all([new InternalIssuer(storage, log).prepare(), new InternalIssuer(await FileStorage.open(dir, log), log).prepare()]);
    assert.equal(log.lines.filter((line) => /creating the internal root CA/.test(line)).length, 1, log.lines.join('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
