import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { describeError, PorticoError, systemErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';

export interface LockOptions {
  /** A lock whose file has not been refreshed for this long belongs to a dead holder. */
  readonly staleMs: number;
  /** How often a holder touches its lock file; well under staleMs. */
  readonly refreshMs: number;
  /** How long to wait for another holder before giving up with ERR_LOCK_TIMEOUT. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

interface LockRecord {
  readonly pid: number;
  readonly hostname: string;
  readonly token: string;
  readonly acquiredAt: string;
}

/**
 * A cross-process lock: a file created with O_EXCL. Contract:
 * - Obtaining it is atomic: of two processes, exactly one creates the file.
 * - A holder refreshes the file's mtime while it holds the lock, so freshness is judged by the
 *   mtime and never by the content, which a reader can catch half-written (certmagic#232).
 * - A lock left by a dead holder is taken over: at once when its pid is gone on this host,
 *   otherwise once it is staleMs old. A crashed holder can delay others, never block them.
 * - Waiting is bounded (timeoutMs) and logs once, and a lock file that cannot be written is an
 *   error at once, never a retry loop (caddy#4448).
 * - Even while holding the lock, another process may already have done the work before we got
 *   it: callers look again after acquiring, and call assertHeld() just before committing.
 */
export class FileLock {
  private refreshTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly path: string,
    private readonly token: string,
    private readonly options: LockOptions,
  ) {}

  static async acquire(path: string, options: LockOptions): Promise<FileLock> {
    const token = randomBytes(12).toString('hex');
    const deadline = Date.now() + options.timeoutMs;
    let announced = false;
    for (let attempt = 0; ; attempt++) {
      if (await tryCreate(path, token)) {
        const lock = new FileLock(path, token, options);
        lock.startRefreshing();
        return lock;
      }
      if (await takeOverIfStale(path, options)) continue;
      if (Date.now() >= deadline) {
        throw new PorticoError('ERR_LOCK_TIMEOUT', `gave up waiting for ${path} after ${options.timeoutMs} ms; another Portico is using this state directory (if none is, delete the file)`);
      }
      if (!announced) {
        options.log.info(`waiting for ${path}: ${await describeHolder(path)}`);
        announced = true;
      }
      await delay(Math.min(25 * 2 ** attempt, 250));
    }
  }

  /** Throws unless this process still holds the lock (it may have been judged stale and taken). */
  async assertHeld(): Promise<void> {
    const record = await readRecord(this.path);
    if (record?.token !== this.token) {
      throw new PorticoError('ERR_LOCK_LOST', `lost ${this.path} to another process before committing; nothing was written`);
    }
  }

  async release(): Promise<void> {
    clearInterval(this.refreshTimer);
    const record = await readRecord(this.path);
    if (record?.token === this.token) await unlink(this.path).catch(() => undefined);
  }

  /**
   * Touches the lock file while it is still ours. A holder that lost the lock (judged stale
   * while it was stalled) stops refreshing, so it never keeps another holder's lock alive, and
   * its assertHeld() fails before it commits anything.
   */
  private startRefreshing(): void {
    let warned = false;
    this.refreshTimer = setInterval(async () => {
      try {
        if ((await readRecord(this.path))?.token !== this.token) {
          clearInterval(this.refreshTimer);
          return;
        }
        const now = new Date();
        await utimes(this.path, now, now);
      } catch (error) {
        if (warned) return;
        warned = true;
        this.options.log.warn(`could not refresh ${this.path}: ${describeError(error)}`);
      }
    }, this.options.refreshMs);
    this.refreshTimer.unref();
  }
}

async function tryCreate(path: string, token: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, 'wx', 0o600);
  } catch (error) {
    if (systemErrorCode(error) === 'EEXIST') return false;
    throw new PorticoError('ERR_STATE_WRITE', `could not create lock ${path}: ${describeError(error)}`, { cause: error });
  }
  const record: LockRecord = { pid: process.pid, hostname: hostname(), token, acquiredAt: new Date().toISOString() };
  try {
    await file.writeFile(JSON.stringify(record));
  } finally {
    await file.close();
  }
  return true;
}

/**
 * Moves a stale lock out of the way. The rename is atomic, so of several processes that judge
 * the same lock stale only one moves it; if what it moved turns out to be a fresh lock another
 * process created in between, it is linked back.
 */
async function takeOverIfStale(path: string, options: LockOptions): Promise<boolean> {
  const before = await stat(path).catch(() => undefined);
  if (before === undefined) return true;
  if (!(await isStale(path, before.mtimeMs, options))) return false;
  const moved = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, moved);
  } catch {
    return true;
  }
  const movedStat = await stat(moved).catch(() => undefined);
  if (movedStat !== undefined && movedStat.ino !== before.ino) {
    await link(moved, path).catch(() => undefined);
  } else {
    options.log.warn(`took over stale lock ${path} (${await describeHolder(moved)})`);
  }
  await unlink(moved).catch(() => undefined);
  return true;
}

async function isStale(path: string, mtimeMs: number, options: LockOptions): Promise<boolean> {
  if (Date.now() - mtimeMs > options.staleMs) return true;
  const record = await readRecord(path);
  return record !== undefined && record.hostname === hostname() && !isProcessAlive(record.pid);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return systemErrorCode(error) === 'EPERM';
  }
}

async function readRecord(path: string): Promise<LockRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(path, 'utf8')) as Partial<LockRecord>;
    if (typeof record.pid === 'number' && typeof record.token === 'string' && typeof record.hostname === 'string') {
      return record as LockRecord;
    }
  } catch {
    // Missing, or caught while its holder was still writing it: judged by mtime alone.
  }
  return undefined;
}

async function describeHolder(path: string): Promise<string> {
  const record = await readRecord(path);
  return record ? `held by pid ${record.pid} on ${record.hostname} since ${record.acquiredAt}` : 'holder unknown';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
