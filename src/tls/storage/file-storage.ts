import { access, constants, mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError, PorticoError, systemErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { stageFile, type StagedFile } from './atomic-file.js';
import { FileLock } from './file-lock.js';
import type { FenceOptions, Lock, Storage, StoreEntry, StoreOptions } from './storage.js';
import { isSafeKey } from './storage-keys.js';

const REASONS: Record<string, string> = { EROFS: 'a read-only file system', EACCES: 'permission denied', ENOSPC: 'the disk is full', ENOTDIR: 'a file stands in its path' };

/** A value larger than this is not key material: it is returned as unparseable text, unread. */
const MAX_VALUE_BYTES = 256 * 1024;

/**
 * Storage in the state folder: the only code that touches it. A key is a path below it; locks
 * are files in `locks/`. Folders are 0700 and private values 0600. Values are replaced
 * atomically; nothing is deleted: a value set aside is renamed with a UTC timestamp so an
 * operator can inspect it.
 */
export class FileStorage implements Storage {
  private constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Opens a state folder for reading only; it need not exist. */
  static forReading(dir: string, log: Logger): FileStorage {
    return new FileStorage(dir, log);
  }

  /** Creates the state folder if needed and proves it can be written. */
  static async open(dir: string, log: Logger): Promise<FileStorage> {
    try {
      // The folder's own writability first: creating a subfolder on a read-only mount reports ENOENT.
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await access(dir, constants.W_OK);
      await mkdir(join(dir, 'locks'), { recursive: true, mode: 0o700 });
      await access(join(dir, 'locks'), constants.W_OK);
    } catch (error) {
      const code = systemErrorCode(error);
      const why = code === undefined ? describeError(error) : `${code}${REASONS[code] ? `: ${REASONS[code]}` : ''}`;
      throw new PorticoError('ERR_STATE_DIR_NOT_WRITABLE', `state directory ${dir} is not writable (${why}); choose another with --state DIR`, { cause: error });
    }
    return new FileStorage(dir, log);
  }

  describe(key: string): string {
    return this.path(key);
  }

  async load(key: string): Promise<string | undefined> {
    const path = this.path(key);
    try {
      const info = await stat(path);
      if (info.size > MAX_VALUE_BYTES) return `(file of ${info.size} bytes is too large to be key material)`;
      return await readFile(path, 'utf8');
    } catch (error) {
      if (systemErrorCode(error) === 'ENOENT' || systemErrorCode(error) === 'ENOTDIR') return undefined;
      // Unreadable (permissions, I/O error): reported as content no parser accepts, so it is set
      // aside and rebuilt instead of stopping the server (caddy#6618).
      return `(unreadable: ${describeError(error)})`;
    }
  }

  async store(key: string, value: string, options: StoreOptions = {}): Promise<void> {
    await this.storeAll([{ key, value, private: options.private ?? false }], options);
  }

  /**
   * Stages every value first (so a full disk or a permission problem changes nothing), then
   * renames them in order. A fencing lock is checked just before the renames: a file system
   * cannot make the check and the rename one step, so this narrows the window to the renames.
   */
  async storeAll(entries: readonly StoreEntry[], options: FenceOptions = {}): Promise<void> {
    const staged: StagedFile[] = [];
    try {
      for (const entry of entries) {
        const path = this.path(entry.key);
        await this.makeFolder(path);
        staged.push(await stageFile(path, entry.value, entry.private ? 0o600 : 0o644));
      }
      await options.fencedBy?.assertHeld();
    } catch (error) {
      await Promise.all(staged.map((file) => file.discard()));
      throw error;
    }
    for (const file of staged) await file.commit();
  }

  async list(prefix: string): Promise<string[]> {
    const base = prefix.replace(/\/+$/, '');
    let names: string[];
    try {
      names = (await readdir(this.path(base), { recursive: true })).map(String);
    } catch (error) {
      if (systemErrorCode(error) === 'ENOENT' || systemErrorCode(error) === 'ENOTDIR') return [];
      throw error;
    }
    const keys: string[] = [];
    for (const name of names) {
      const key = `${base}/${name.split('\\').join('/')}`;
      // Temporary files of a write in progress and values set aside are not stored values.
      if (!isSafeKey(key) || /\.aside-|\.tmp-|\.stale-/.test(key) || key.split('/').some((part) => part.startsWith('.'))) continue;
      if ((await stat(this.path(key)).catch(() => undefined))?.isFile()) keys.push(key);
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await unlink(this.path(key)).catch((error: unknown) => {
      if (systemErrorCode(error) !== 'ENOENT') throw error;
    });
  }

  /** Renames a broken value aside (never deletes it) and says so, naming the file and why. */
  async setAside(key: string, reason: string): Promise<void> {
    const path = this.path(key);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const aside = `${path}.aside-${stamp}`;
    try {
      await rename(path, aside);
      this.log.warn(`moved ${path} aside to ${aside}: ${reason}`);
    } catch (error) {
      if (systemErrorCode(error) === 'ENOENT') return;
      throw new PorticoError('ERR_STATE_WRITE', `could not move ${path} aside (${reason}): ${describeError(error)}`, { cause: error });
    }
  }

  lock(name: string): Promise<Lock> {
    return FileLock.acquire(this.path(`locks/${name}.lock`), { staleMs: 10_000, refreshMs: 1_000, timeoutMs: 120_000, log: this.log });
  }

  private path(key: string): string {
    // Keys come from storage-keys.ts; this is the last line of defence against a path.
    if (!isSafeKey(key)) throw new Error(`unsafe storage key ${JSON.stringify(key)}`);
    return join(this.dir, ...key.split('/'));
  }

  private async makeFolder(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  }
}
