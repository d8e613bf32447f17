import { randomBytes } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../src/log/logger.js';
import { createRootCa, issueLeaf } from '../src/tls/internal-ca/internal-ca.js';
import { leafValidity } from '../src/tls/renewal.js';
import { FileStorage } from '../src/tls/storage/file-storage.js';
import { joinPair } from '../src/tls/storage/pair-storage.js';
import { leafId, StorageKeys } from '../src/tls/storage/storage-keys.js';

export const HOSTS = ['localhost', '127.0.0.1', '::1'];

export interface Fixtures {
  readonly site: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** A Portico state directory holding the same certificate every other server uses. */
  readonly porticoState: string;
}

/** The files every server serves, and one ECDSA P-256 certificate for all of them. */
export async function createFixtures(dir: string): Promise<Fixtures> {
  const site = join(dir, 'site');
  await mkdir(site, { recursive: true });
  await writeFile(join(site, '1k.html'), `<!doctype html><title>1k</title>${'<p>Portico benchmark</p>'.repeat(41)}`.slice(0, 1024));
  const text = Array.from({ length: 2_000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog ${i % 97}\n`).join('');
  await writeFile(join(site, '100k.txt'), text.repeat(Math.ceil(102_400 / text.length)).slice(0, 102_400));
  await writeFile(join(site, '10m.bin'), randomBytes(10 * 1024 * 1024));
  // Larger than the in-memory body cache: every request is a cache miss that opens the file.
  await writeFile(join(site, '300k.bin'), randomBytes(300 * 1024));
  // 1 GiB for slow clients: sparse, so it costs no disk.
  const large = await open(join(site, '1g.bin'), 'w');
  await large.truncate(1024 * 1024 * 1024);
  await large.close();
  const now = Date.now();
  const root = await createRootCa(now);
  const leaf = await issueLeaf(root, HOSTS, 'ec-p256', leafValidity(now, 7 * 86_400_000));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await writeFile(certFile, leaf.certPem);
  await writeFile(keyFile, leaf.keyPem, { mode: 0o600 });
  const porticoState = join(dir, 'portico-state');
  const storage = await FileStorage.open(porticoState, createLogger('bench', 'error'));
  for (const [at, pair] of [[StorageKeys.root(), root], [StorageKeys.leaf(leafId(HOSTS, 'ec-p256')), leaf]] as const) {
    await storage.store(at.bundle, joinPair(pair), { private: true });
  }
  return { site, certFile, keyFile, porticoState };
}
