import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Storage } from '../../../src/tls/storage/storage.js';

export interface StorageUnderTest {
  readonly storage: Storage;
  /** A second handle on the same store, as another process would have. */
  readonly other: Storage;
  remove(): Promise<void>;
}

/**
 * The Storage contract (src/tls/storage/storage.ts), run by every implementation: the file
 * storage today, a shared store for a fleet later. Each test uses keys of its own.
 */
export function storageContract(name: string, open: () => Promise<StorageUnderTest>): void {
  let subject: StorageUnderTest;
  before(async () => {
    subject = await open();
  });
  after(() => subject.remove());

  test(`${name}: load() of a key never stored is undefined`, async () => {
    assert.equal(await subject.storage.load('certificates/never/cert.pem'), undefined);
  });

  test(`${name}: store() then load() gives the value back, from another handle too; a second store() replaces it`, async () => {
    await subject.storage.store('certificates/a/cert.pem', 'first');
    assert.equal(await subject.other.load('certificates/a/cert.pem'), 'first');
    await subject.storage.store('certificates/a/cert.pem', 'second');
    assert.equal(await subject.storage.load('certificates/a/cert.pem'), 'second');
  });

  test(`${name}: storeAll() stores every value, in order`, async () => {
    const seen: Array<string | undefined> = [];
    await subject.storage.storeAll(
      [
        { key: 'certificates/b/key.pem', value: 'key', private: true },
        { key: 'certificates/b/cert.pem', value: 'cert' },
      ],
      // After the first commit, before the second: the first is there, the second not yet.
      () => void seen.push('between'),
    );
    assert.deepEqual(seen, ['between']);
    assert.equal(await subject.other.load('certificates/b/key.pem'), 'key');
    assert.equal(await subject.other.load('certificates/b/cert.pem'), 'cert');
  });

  test(`${name}: setAside() takes a value out of the way: load() is then undefined`, async () => {
    await subject.storage.store('certificates/c/cert.pem', 'broken');
    await subject.storage.setAside('certificates/c/cert.pem', 'a test');
    assert.equal(await subject.storage.load('certificates/c/cert.pem'), undefined);
    await subject.storage.setAside('certificates/c/cert.pem', 'already gone: not an error');
  });

  test(`${name}: a key that is not one the key builder makes is refused, never turned into a location`, async () => {
    for (const key of ['../escape', '/etc/passwd', 'certificates/../../x', 'a//b', 'a/./b']) {
      await assert.rejects(() => subject.storage.load(key), /unsafe storage key/, key);
    }
  });

  test(`${name}: a lock is exclusive across handles: the second holder gets it only after the first releases it`, async () => {
    const first = await subject.storage.lock('contract-exclusive');
    const order: string[] = [];
    const second = subject.other.lock('contract-exclusive').then((lock) => {
      order.push('second acquired');
      return lock;
    });
    order.push('first releasing');
    await first.release();
    await (await second).release();
    assert.deepEqual(order, ['first releasing', 'second acquired']);
  });

  test(`${name}: check, lock, check again, create: ten contenders create a value exactly once`, async () => {
    let created = 0;
    const obtain = async (storage: Storage): Promise<string> => {
      const existing = await storage.load('certificates/once/cert.pem');
      if (existing) return existing;
      const lock = await storage.lock('contract-once');
      try {
        const storedMeanwhile = await storage.load('certificates/once/cert.pem');
        if (storedMeanwhile) return storedMeanwhile;
        created += 1;
        await lock.assertHeld();
        await storage.store('certificates/once/cert.pem', `made by contender ${created}`);
        return `made by contender ${created}`;
      } finally {
        await lock.release();
      }
    };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => obtain(i % 2 ? subject.storage : subject.other)));
    assert.equal(created, 1);
    assert.equal(new Set(results).size, 1);
  });
}
