import { createHash } from 'node:crypto';
import { access, constants, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, PorticoError, systemErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { KeyType } from '../key-types.js';
import { writeFileAtomic } from './atomic-file.js';
import { FileLock } from './file-lock.js';

/** Where one certificate and its private key live. */
export interface PairPaths {
  readonly cert: string;
  readonly key: string;
}

/** PEM text read from a pair's files; a file that is absent is undefined. */
export interface StoredPair {
  readonly certPem: string | undefined;
  readonly keyPem: string | undefined;
}

export interface PairToStore {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A key or certificate file larger than this is not ours: it is set aside unread. */
const MAX_MATERIAL_BYTES = 256 * 1024;

/**
 * The only module that touches the state directory, and the only place its paths are built
 * (certmagic's KeyBuilder). Layout:
 *
 *     STATE/ca/root.crt, root.key          the internal root CA
 *     STATE/certificates/ID/cert.pem, key.pem   one leaf per (host set, key type)
 *     STATE/locks/issuance.lock           held while anything here is created
 *
 * Folders are 0700 and private keys 0600. Files are replaced atomically; nothing is deleted:
 * broken material is renamed aside with a timestamp so an operator can inspect it.
 */
export class StateStore {
  private constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Opens a state directory for reading only; it must already exist. */
  static forReading(dir: string, log: Logger): StateStore {
    return new StateStore(dir, log);
  }

  /** Creates the state directory if needed and proves it can be written. */
  static async open(dir: string, log: Logger): Promise<StateStore> {
    try {
      for (const folder of [dir, join(dir, 'ca'), join(dir, 'certificates'), join(dir, 'locks')]) {
        await mkdir(folder, { recursive: true, mode: 0o700 });
      }
      await access(join(dir, 'locks'), constants.W_OK);
      await access(join(dir, 'ca'), constants.W_OK);
      await access(join(dir, 'certificates'), constants.W_OK);
    } catch (error) {
      throw new PorticoError('ERR_STATE_DIR_NOT_WRITABLE', `state directory ${dir} is not writable (${systemErrorCode(error) ?? describeError(error)}); choose another with --state DIR`, { cause: error });
    }
    return new StateStore(dir, log);
  }

  rootPaths(): PairPaths {
    return { cert: join(this.dir, 'ca', 'root.crt'), key: join(this.dir, 'ca', 'root.key') };
  }

  leafPaths(hosts: readonly string[], keyType: KeyType): PairPaths {
    const folder = join(this.dir, 'certificates', leafId(hosts, keyType));
    return { cert: join(folder, 'cert.pem'), key: join(folder, 'key.pem') };
  }

  async readPair(paths: PairPaths): Promise<StoredPair> {
    return { certPem: await readMaterial(paths.cert), keyPem: await readMaterial(paths.key) };
  }

  /**
   * Stores a pair, key first and certificate last, each atomically. A crash between the two
   * renames leaves a new key beside an old certificate: the next load finds that they do not
   * match, sets both aside and issues again. The half-stored pair was never published.
   */
  async writePair(paths: PairPaths, pair: PairToStore, betweenKeyAndCert?: () => void): Promise<void> {
    await mkdir(join(paths.cert, '..'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(paths.key, pair.keyPem, 0o600);
    betweenKeyAndCert?.();
    await writeFileAtomic(paths.cert, pair.certPem, 0o644);
  }

  /** Renames a broken file aside (never deletes it) and says so, naming the file and why. */
  async setAside(path: string, reason: string): Promise<void> {
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

  async lock(): Promise<FileLock> {
    return FileLock.acquire(join(this.dir, 'locks', 'issuance.lock'), {
      staleMs: 10_000,
      refreshMs: 1_000,
      timeoutMs: 120_000,
      log: this.log,
    });
  }
}

/**
 * A folder name for a leaf: readable (the first host) and unique to the host set and key type
 * (a hash). Only [a-z0-9.-] survive, so a host name can never become a path.
 */
export function leafId(hosts: readonly string[], keyType: KeyType): string {
  const digest = createHash('sha256').update(JSON.stringify([[...hosts].sort(), keyType])).digest('hex').slice(0, 12);
  const readable = (hosts[0] ?? 'leaf').toLowerCase().replace(/[^a-z0-9.-]/g, '_').replace(/^\.+/, '_').slice(0, 64);
  return `${readable}-${keyType}-${digest}`;
}

async function readMaterial(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.size > MAX_MATERIAL_BYTES) return `(file of ${info.size} bytes is too large to be key material)`;
    return await readFile(path, 'utf8');
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return undefined;
    // Unreadable (permissions, I/O error): reported as content no parser accepts, so it is set
    // aside and rebuilt instead of stopping the server (caddy#6618).
    return `(unreadable: ${describeError(error)})`;
  }
}
