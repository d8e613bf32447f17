import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis as RedisClient } from 'ioredis';
import { describeError, PorticoError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { FenceOptions, Lock, Storage, StoreEntry, StoreOptions } from './storage.js';
import { isSafeKey } from './storage-keys.js';

export interface RedisStorageOptions {
  readonly url: string;
  /** Every key this instance writes starts with `PREFIX:`, so several fleets can share a server. */
  readonly prefix: string;
  /** How long a lock lasts unless its holder renews it; renewed every third of it. */
  readonly leaseMs: number;
  /** How long to wait for another holder before giving up with ERR_LOCK_TIMEOUT. */
  readonly lockTimeoutMs?: number;
}

/** A value larger than this is not key material: it is returned as unparseable text. */
const MAX_VALUE_BYTES = 256 * 1024;

/**
 * Writes commit only while the writer's lock is still its own: the token comparison and the
 * writes are one script, so nothing can slip between them (a holder that stalled past its lease
 * cannot overwrite what the next holder stored). KEYS[1] is the lock; the rest are values.
 */
const FENCED_SET = `
if KEYS[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i]) end
return 1`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Storage for a fleet: every instance of Portico that names the same Redis (and prefix) shares
 * certificates, ACME accounts and challenge answers, and the locks that make each certificate
 * ordered once. Values are single Redis strings (a key with its certificate is one value), so a
 * reader sees a whole old or a whole new one. Locks are leases (SET NX PX), renewed while held
 * and fenced on every write. Commands fail fast while the connection is down (no offline
 * queue): the primary keeps serving the certificates it has, logs once, and its retries find
 * Redis again when the client has reconnected.
 */
export class RedisStorage implements Storage {
  private connected = true;
  private closed = false;

  private constructor(
    private readonly client: RedisClient,
    private readonly options: RedisStorageOptions,
    private readonly log: Logger,
  ) {
    client.on('error', () => undefined);
    client.on('close', () => {
      if (!this.connected || this.closed) return;
      this.connected = false;
      this.log.warn(`lost the connection to Redis at ${safeUrl(options.url)}; serving the certificates already loaded, and trying to reconnect`);
    });
    client.on('ready', () => {
      if (this.connected) return;
      this.connected = true;
      this.log.info(`connected to Redis at ${safeUrl(options.url)} again`);
    });
  }

  /** Connects, and proves the server answers; a clear error (ERR_STORAGE_UNREACHABLE) otherwise. */
  static async open(options: RedisStorageOptions, log: Logger): Promise<RedisStorage> {
    const { Redis } = await import('ioredis');
    const client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
      // A server that stopped answering (paused, partitioned) fails a command, never hangs it.
      commandTimeout: 5_000,
      // Reconnects forever, at most every 2 s: a Redis restart must not need a Portico restart.
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    // The socket's own error (ECONNREFUSED, ENOTFOUND) says more than "Connection is closed".
    let socketError: unknown;
    client.on('error', (error) => (socketError ??= error));
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      client.disconnect();
      throw new PorticoError('ERR_STORAGE_UNREACHABLE', `cannot reach Redis at ${safeUrl(options.url)} (${describeError(socketError ?? error)}): start it, or fix storage.redis.url`, { cause: error });
    }
    return new RedisStorage(client, options, log);
  }

  close(): void {
    this.closed = true;
    this.client.disconnect();
  }

  describe(key: string): string {
    return `Redis key ${this.value(key)} at ${safeUrl(this.options.url)}`;
  }

  async load(key: string): Promise<string | undefined> {
    const name = this.value(key);
    const size = await this.call(() => this.client.strlen(name));
    if (size > MAX_VALUE_BYTES) return `(value of ${size} bytes is too large to be key material)`;
    return (await this.call(() => this.client.get(name))) ?? undefined;
  }

  store(key: string, value: string, options: StoreOptions = {}): Promise<void> {
    return this.storeAll([{ key, value }], options);
  }

  async storeAll(entries: readonly StoreEntry[], options: FenceOptions = {}): Promise<void> {
    const fence = options.fencedBy;
    if (fence !== undefined && !(fence instanceof RedisLock && fence.storage === this)) throw new Error('a Redis store can only be fenced by a lock of the same store');
    const keys = [fence ? fence.key : '', ...entries.map((entry) => this.value(entry.key))];
    const args = [fence ? fence.token : '', ...entries.map((entry) => entry.value)];
    const stored = await this.call(() => this.client.eval(FENCED_SET, keys.length, ...keys, ...args));
    if (stored !== 1) throw lockLost(fence!.key);
  }

  async list(prefix: string): Promise<string[]> {
    const folder = this.value(prefix.replace(/\/+$/, ''));
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, names] = await this.call(() => this.client.scan(cursor, 'MATCH', `${folder}/*`, 'COUNT', 500));
      cursor = next;
      for (const name of names) {
        const key = name.slice(this.options.prefix.length + 1);
        if (isSafeKey(key) && !key.includes('.aside-')) found.add(key);
      }
    } while (cursor !== '0');
    return [...found].sort();
  }

  async delete(key: string): Promise<void> {
    await this.call(() => this.client.del(this.value(key)));
  }

  async setAside(key: string, reason: string): Promise<void> {
    const name = this.value(key);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const moved = await this.call(() => this.client.renamenx(name, `${name}.aside-${stamp}`)).catch((error: unknown) => {
      if (/no such key/i.test(describeError(error))) return 0;
      throw error;
    });
    if (moved === 1) this.log.warn(`moved ${name} aside to ${name}.aside-${stamp}: ${reason}`);
  }

  async lock(name: string): Promise<Lock> {
    const key = `${this.options.prefix}:locks:${name}`;
    const token = JSON.stringify({ token: randomBytes(12).toString('hex'), pid: process.pid, hostname: hostname(), acquiredAt: new Date().toISOString() });
    const timeoutMs = this.options.lockTimeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    let announced = false;
    for (let attempt = 0; ; attempt++) {
      if ((await this.call(() => this.client.set(key, token, 'PX', this.options.leaseMs, 'NX'))) === 'OK') return new RedisLock(this, key, token);
      if (Date.now() >= deadline) throw new PorticoError('ERR_LOCK_TIMEOUT', `gave up waiting for the lock ${key} after ${timeoutMs} ms; another Portico of this fleet is holding it`);
      if (!announced) {
        announced = true;
        this.log.info(`waiting for the lock ${key}: held by ${describeHolder(await this.call(() => this.client.get(key)))}`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(25 * 2 ** attempt, 250)));
    }
  }

  /** @internal for RedisLock */
  renew(key: string, token: string): Promise<boolean> {
    return this.call(() => this.client.eval(RENEW, 1, key, token, this.options.leaseMs)).then((renewed) => renewed === 1);
  }

  /** @internal for RedisLock */
  async release(key: string, token: string): Promise<void> {
    await this.call(() => this.client.eval(RELEASE, 1, key, token));
  }

  /** @internal for RedisLock */
  async holder(key: string): Promise<string | null> {
    return this.call(() => this.client.get(key));
  }

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  private value(key: string): string {
    if (!isSafeKey(key)) throw new Error(`unsafe storage key ${JSON.stringify(key)}`);
    return `${this.options.prefix}:${key}`;
  }

  /** Every command goes through here, so an outage reads the same everywhere. */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      if (error instanceof PorticoError) throw error;
      throw new PorticoError('ERR_STORAGE_UNREACHABLE', `Redis at ${safeUrl(this.options.url)} did not answer: ${describeError(error)}`, { cause: error });
    }
  }
}

class RedisLock implements Lock {
  private readonly timer: NodeJS.Timeout;
  private lost = false;

  constructor(
    readonly storage: RedisStorage,
    readonly key: string,
    readonly token: string,
  ) {
    // Renewed every third of the lease; one that cannot be renewed (taken over after a stall,
    // or Redis away for longer than the lease) is given up: its writes are refused anyway.
    this.timer = setInterval(() => {
      storage.renew(key, token).then(
        (renewed) => {
          if (!renewed) this.giveUp();
        },
        () => undefined,
      );
    }, Math.max(100, Math.floor(storage.leaseMs / 3)));
    this.timer.unref();
  }

  async assertHeld(): Promise<void> {
    if (this.lost || (await this.storage.holder(this.key)) !== this.token) throw lockLost(this.key);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.storage.release(this.key, this.token).catch(() => undefined);
  }

  private giveUp(): void {
    this.lost = true;
    clearInterval(this.timer);
  }
}

function lockLost(key: string): PorticoError {
  return new PorticoError('ERR_LOCK_LOST', `lost the lock ${key} to another instance (its lease ran out) before storing; nothing was written`);
}

function describeHolder(value: string | null): string {
  if (value === null) return 'nobody (it was just released)';
  try {
    const record = JSON.parse(value) as { pid?: number; hostname?: string; acquiredAt?: string };
    return `pid ${record.pid} on ${record.hostname} since ${record.acquiredAt}`;
  } catch {
    return 'an unknown holder';
  }
}

/** A Redis URL without its password, for messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
