import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Storage } from '../../../src/tls/storage/storage.js';

export interface StorageUnderTest {
  readonly storage: Storage;
  /** A second handle on the same store, as another process would have. */
  readonly other: Storage;
  /** Makes the lock `name` someone else's, as when its lease ran out and another process took it. */
  steal(name: string): Promise<void>;
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

  test(`${name}: storeAll() stores every value`, async () => {
    await subject.storage.storeAll([
      { key: 'certificates/b/bundle.pem', value: 'key and cert', private: true },
      { key: 'certificates/b/index.json', value: '[]' },
    ]);
    assert.equal(await subject.other.load('certificates/b/bundle.pem'), 'key and cert');
    assert.equal(await subject.other.load('certificates/b/index.json'), '[]');
  });

  test(`${name}: list() gives the keys under a prefix, sorted, without values set aside; delete() removes one`, async () => {
    for (const key of ['acme/challenges/http-01/b', 'acme/challenges/http-01/a', 'acme/challenges/tls-alpn-01/x.example.test', 'acme/other']) await subject.storage.store(key, 'v');
    await subject.storage.store('acme/challenges/http-01/c', 'v');
    await subject.storage.setAside('acme/challenges/http-01/c', 'a test');
    assert.deepEqual(await subject.other.list('acme/challenges/'), ['acme/challenges/http-01/a', 'acme/challenges/http-01/b', 'acme/challenges/tls-alpn-01/x.example.test']);
    assert.deepEqual(await subject.other.list('nothing/here/'), []);
    await subject.other.delete('acme/challenges/http-01/a');
    await subject.other.delete('acme/challenges/http-01/never-stored');
    assert.equal(await subject.storage.load('acme/challenges/http-01/a'), undefined);
    assert.deepEqual(await subject.storage.list('acme/challenges/http-01/'), ['acme/challenges/http-01/b']);
  });

  test(`${name}: a store fenced by a held lock commits; once the lock is lost (lease ran out, another took it) it is refused with ERR_LOCK_LOST and the newer value stays`, async () => {
    const lock = await subject.storage.lock('contract-fence');
    await subject.storage.store('certificates/fenced/bundle.pem', 'first holder', { private: true, fencedBy: lock });
    assert.equal(await subject.other.load('certificates/fenced/bundle.pem'), 'first holder');
    await subject.steal('contract-fence');
    await subject.other.store('certificates/fenced/bundle.pem', 'newer, from the next holder');
    await assert.rejects(subject.storage.store('certificates/fenced/bundle.pem', 'stale holder', { fencedBy: lock }), (error: unknown) => (error as { code?: string }).code === 'ERR_LOCK_LOST');
    await assert.rejects(subject.storage.storeAll([{ key: 'certificates/fenced/bundle.pem', value: 'stale holder' }], { fencedBy: lock }), (error: unknown) => (error as { code?: string }).code === 'ERR_LOCK_LOST');
    assert.equal(await subject.other.load('certificates/fenced/bundle.pem'), 'newer, from the next holder');
    await lock.release();
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
        await storage.store('certificates/once/cert.pem', `made by contender ${created}`, { fencedBy: lock });
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
