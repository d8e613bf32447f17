/**
 * Where key material lives, behind one contract (certmagic's Storage and Locker), so the file
 * system today and a shared store for a fleet later are interchangeable. Keys are built only by
 * storage-keys.ts: '/'-separated, each part from [a-z0-9._-], never absolute, never `..`.
 *
 * Contract, checked for every implementation by test/tls/storage/storage-contract.ts:
 * - `load` returns exactly what the last completed `store` of that key stored, or undefined.
 *   A value that cannot be read is returned as text no parser accepts, never thrown: the caller
 *   sets it aside and rebuilds instead of stopping (caddy#6618).
 * - `store` is atomic per key: a reader sees the old value or the new one, never a mixture; a
 *   failed store leaves the old value (caddy#4897).
 * - `storeAll` stores every value or, when it fails before committing, none.
 * - A store `fencedBy` a lock commits only while that lock is still held: a holder that stalled
 *   past its lease (and lost the lock to another process) gets ERR_LOCK_LOST, never overwrites
 *   what the new holder stored. Redis checks this atomically with the write; the file system
 *   checks it just before the rename.
 * - `list` gives the keys stored under a prefix, sorted (values set aside not included);
 *   `delete` removes one key (for short-lived values such as ACME challenge answers; key
 *   material is set aside, never deleted).
 * - `setAside` moves a value out of the way (kept for an operator, never deleted): `load` then
 *   returns undefined.
 */
export interface Storage extends Locker {
  load(key: string): Promise<string | undefined>;
  store(key: string, value: string, options?: StoreOptions): Promise<void>;
  /** Stores values in order. */
  storeAll(entries: readonly StoreEntry[], options?: FenceOptions): Promise<void>;
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  setAside(key: string, reason: string): Promise<void>;
  /** Where a key lives, for messages a person reads (a file path, a Redis key). */
  describe(key: string): string;
}

export interface FenceOptions {
  /** Commit only while this lock (from the same storage) is held. */
  readonly fencedBy?: Lock;
}

export interface StoreOptions extends FenceOptions {
  /** Private key material: readable by its owner only. */
  readonly private?: boolean;
}

export interface StoreEntry {
  readonly private?: boolean;
  readonly key: string;
  readonly value: string;
}

/**
 * A lock per name, across processes (and, for a shared store, across machines). Contract:
 * - obtaining it is atomic: of two contenders exactly one holds it;
 * - locks expire: a crashed holder delays others, never blocks them; a holder refreshes its lock
 *   while it holds it;
 * - waiting is bounded (ERR_LOCK_TIMEOUT);
 * - even after acquiring it, the work may already have been done by the previous holder:
 *   look in storage again before creating anything, and store `fencedBy` the lock.
 */
export interface Locker {
  lock(name: string): Promise<Lock>;
}

export interface Lock {
  /** Throws ERR_LOCK_LOST if the lock was lost (its lease ran out and another took it). */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}
