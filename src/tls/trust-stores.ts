import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeError, PorticoError } from '../errors.js';

const run = promisify(execFile);
/**
 * Debian's folder of local roots. PORTICO_SYSTEM_TRUST_DIR points elsewhere (a throwaway folder
 * for tests, or another distribution's anchors folder); then no update command is run, since
 * nothing is known about how that store is refreshed.
 */
function systemStore(): { readonly dir: string; readonly update: boolean } {
  const dir = process.env.PORTICO_SYSTEM_TRUST_DIR;
  return dir ? { dir, update: false } : { dir: '/usr/local/share/ca-certificates', update: true };
}

/** What `portico ca trust` added, so `untrust` removes exactly that. Kept in the state folder. */
export type TrustRecord = { readonly kind: 'nss'; readonly db: string; readonly nickname: string } | { readonly kind: 'system'; readonly file: string };

export type TrustStoreKind = 'nss' | 'system';

/**
 * Installs the internal root CA where browsers and tools look for trusted roots, as `caddy trust`
 * and mkcert do: the system store (Debian's update-ca-certificates: curl, wget, Node with
 * --use-openssl-ca) and the NSS databases that Chromium (~/.pki/nssdb, created if missing, as
 * Chromium would) and Firefox (each profile's cert9.db) read instead. Returns what it added.
 */
export async function trustRoot(rootPem: string, only: TrustStoreKind | undefined, log: (line: string) => void): Promise<TrustRecord[]> {
  const added: TrustRecord[] = [];
  const id = createHash('sha256').update(rootPem).digest('hex').slice(0, 12);
  if (only !== 'system') {
    if (!(await hasCommand('certutil'))) {
      if (only === 'nss') throw new PorticoError('ERR_TRUST_STORE', 'certutil is not installed, so the NSS databases of Chromium and Firefox cannot be changed: install libnss3-tools (Debian/Ubuntu) or nss-tools (Fedora)');
      log('skipped Chromium and Firefox: certutil is not installed (Debian/Ubuntu: apt install libnss3-tools)');
    } else {
      const pem = join(await mkdtemp(join(tmpdir(), 'portico-trust-')), 'root.pem');
      await writeFile(pem, rootPem);
      const nickname = `Portico Local CA ${id}`;
      for (const db of await nssDatabases()) {
        await run('certutil', ['-A', '-d', `sql:${db}`, '-t', 'C,,', '-n', nickname, '-i', pem]);
        added.push({ kind: 'nss', db, nickname });
        log(`trusted in the NSS database ${db}`);
      }
      await rm(join(pem, '..'), { recursive: true, force: true });
    }
  }
  if (only !== 'nss') {
    const store = systemStore();
    if (!existsSync(store.dir) || (store.update && !(await hasCommand('update-ca-certificates')))) {
      if (only === 'system') throw new PorticoError('ERR_TRUST_STORE', `there is no ${store.dir} and update-ca-certificates here: add the root (portico ca root) to this system's store by hand`);
      log(`skipped the system store: no ${store.dir} with update-ca-certificates`);
    } else {
      const file = join(store.dir, `portico-${id}.crt`);
      try {
        await writeFile(file, rootPem);
        if (store.update) await run('update-ca-certificates');
      } catch (error) {
        throw new PorticoError('ERR_TRUST_STORE', `cannot add the root to the system store (${describeError(error)}): run portico ca trust with sudo, or with --only nss for the browsers alone`);
      }
      added.push({ kind: 'system', file });
      log(`trusted in the system store (${file})`);
    }
  }
  return added;
}

/** Removes exactly what `trustRoot` added. */
export async function untrustRoot(records: readonly TrustRecord[], log: (line: string) => void): Promise<void> {
  let system = false;
  for (const record of records) {
    if (record.kind === 'nss') {
      await run('certutil', ['-D', '-d', `sql:${record.db}`, '-n', record.nickname]).catch((error: unknown) => log(`${record.db}: ${describeError(error).split('\n')[0]} (already removed?)`));
      log(`removed from the NSS database ${record.db}`);
    } else {
      await rm(record.file, { force: true });
      system = true;
      log(`removed from the system store (${record.file})`);
    }
  }
  if (system && systemStore().update) await run('update-ca-certificates', ['--fresh']);
}

/** Chromium's database (made if missing) and every Firefox profile's. */
async function nssDatabases(): Promise<string[]> {
  const home = homedir();
  const chromium = join(home, '.pki', 'nssdb');
  if (!existsSync(join(chromium, 'cert9.db'))) {
    await mkdir(chromium, { recursive: true, mode: 0o700 });
    await run('certutil', ['-d', `sql:${chromium}`, '-N', '--empty-password']);
  }
  const databases = [chromium];
  for (const profiles of [join(home, '.mozilla', 'firefox'), join(home, 'snap', 'firefox', 'common', '.mozilla', 'firefox')]) {
    for (const profile of await readdir(profiles).catch(() => [] as string[])) {
      if (existsSync(join(profiles, profile, 'cert9.db'))) databases.push(join(profiles, profile));
    }
  }
  return databases;
}

async function hasCommand(name: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${name}`]).then(
    () => true,
    () => false,
  );
}

export async function readTrustRecords(file: string): Promise<TrustRecord[]> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as TrustRecord[];
  } catch {
    return [];
  }
}

