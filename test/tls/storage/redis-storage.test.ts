import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { RedisStorage } from '../../../src/tls/storage/redis-storage.js';
import { recordingLogger } from '../../support/in-process.js';
import { startRedis, type RedisServer } from '../../support/redis-server.js';
import { storageContract } from './storage-contract.js';

// A real redis-server on loopback, started for this file and stopped by its process id.
let started: Promise<RedisServer> | undefined;
const server = (): Promise<RedisServer> => (started ??= startRedis());
after(async () => (await started)?.stop());

storageContract('RedisStorage', async () => {
  const redis = await server();
  const options = { url: redis.url, prefix: `contract-${randomBytes(4).toString('hex')}`, leaseMs: 2_000 };
  const storage = await RedisStorage.open(options, recordingLogger());
  const other = await RedisStorage.open(options, recordingLogger());
  return {
    storage,
    other,
    steal: async (name) => void (await redis.command(['SET', `${options.prefix}:locks:${name}`, 'another holder'])),
    remove: async () => {
      storage.close();
      other.close();
    },
  };
});

test('RedisStorage: an unreachable server is one clear error naming the URL (without its password) and what to do', async () => {
  await assert.rejects(RedisStorage.open({ url: 'redis://:hunter2@127.0.0.1:1/0', prefix: 'p', leaseMs: 1_000 }, recordingLogger()), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ERR_STORAGE_UNREACHABLE');
    assert.match(error.message, /^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0 \(.*ECONNREFUSED.*\): start it, or fix storage\.redis\.url$/);
    assert.doesNotMatch(error.message, /hunter2/);
    return true;
  });
});

test('RedisStorage: a lock whose holder stops renewing (a crash) passes to the next after its lease, not before', async () => {
  const redis = await server();
  const options = { url: redis.url, prefix: `lease-${randomBytes(4).toString('hex')}`, leaseMs: 600 };
  const log = recordingLogger();
  const first = await RedisStorage.open(options, log);
  const second = await RedisStorage.open(options, log);
  try {
    await first.lock('crashy');
    // A crashed holder: its connection is gone, so nothing renews the lease.
    first.close();
    const waitedFrom = Date.now();
    const next = await second.lock('crashy');
    assert.ok(Date.now() - waitedFrom >= 300, 'the lock was not handed over before its lease ran out');
    await next.assertHeld();
    await next.release();
    assert.ok(log.lines.some((line) => /waiting for the lock lease-\w+:locks:crashy: held by pid \d+ on /.test(line)), log.lines.join('\n'));
  } finally {
    second.close();
  }
});

test('RedisStorage: a lock held longer than its lease is kept by renewal', async () => {
  const redis = await server();
  const options = { url: redis.url, prefix: `renew-${randomBytes(4).toString('hex')}`, leaseMs: 300 };
  const storage = await RedisStorage.open({ ...options, lockTimeoutMs: 200 }, recordingLogger());
  const other = await RedisStorage.open({ ...options, lockTimeoutMs: 1_200 }, recordingLogger());
  try {
    const held = await storage.lock('long');
    // Four leases long: without renewal the other would get it.
    await assert.rejects(other.lock('long'), (error: Error & { code?: string }) => error.code === 'ERR_LOCK_TIMEOUT');
    await held.assertHeld();
    await held.release();
    await (await other.lock('long')).release();
  } finally {
    storage.close();
    other.close();
  }
});
