import { createHash, createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { PorticoError } from '../errors.js';
import { freezeBundle, type TlsBundle } from './bundle.js';
import { certificateCovers, certificateNames } from './certificate-names.js';
import { certificationRequest } from './internal-ca/internal-ca.js';
import { type KeyType, keyTypeOf } from './key-types.js';
import { exportPrivateKey, generateKeyPair } from './keys.js';
import type { Storage } from './storage/storage.js';
import { joinPair, loadPair } from './storage/pair-storage.js';
import { StorageKeys } from './storage/storage-keys.js';

/**
 * The key manager (IIS's, for commercial CAs): a key and a signing request made here, the signed
 * certificate installed later, matched to its key by the key's public half. Installed
 * certificates live in the store with an index that a running primary watches, so one is served
 * within seconds, without a restart.
 */

/** What links a signed certificate to its pending key: the SHA-256 of the public key, 32 hex digits. */
export function publicKeyId(key: KeyObject): string {
  const spki = (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex').slice(0, 32);
}

export async function requestCertificate(storage: Storage, hosts: readonly string[], keyType: KeyType): Promise<{ csr: string; keyAt: string }> {
  const key = await generateKeyPair(keyType);
  const csr = certificationRequest(hosts, key);
  const id = publicKeyId(key);
  const keys = StorageKeys.pending(id);
  await storage.storeAll([
    { key: keys.key, value: exportPrivateKey(key), private: true },
    { key: StorageKeys.pendingHosts(id), value: JSON.stringify(hosts) },
    { key: keys.cert, value: csr },
  ]);
  return { csr, keyAt: storage.describe(keys.key) };
}

export interface Installed {
  readonly id: string;
  readonly hosts: readonly string[];
  readonly notAfter: number;
  readonly fingerprint256: string;
  readonly issuer: string;
}

/**
 * Installs a signed certificate (PEM, leaf first, then its chain): refused, with the reason in
 * one line, when no pending key matches it, it is not valid now, a host of the request is
 * missing, or the chain does not verify link by link.
 */
export async function installCertificate(storage: Storage, chainPem: string, now: number): Promise<Installed> {
  const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  let chain: X509Certificate[];
  try {
    chain = blocks.map((block) => new X509Certificate(block));
  } catch {
    throw refuse('it holds a block that is not a PEM certificate');
  }
  const [leaf] = chain;
  if (!leaf) throw refuse('it holds no PEM certificate');
  const id = publicKeyId(leaf.publicKey);
  const keyPem = await storage.load(StorageKeys.pending(id).key);
  if (keyPem === undefined) throw refuse('no pending key matches it (wrong key): it was not requested with portico cert request in this state folder, or is installed already');
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  if (now >= notAfter) throw refuse(`it expired on ${leaf.validTo}`);
  if (now < notBefore) throw refuse(`it is not valid until ${leaf.validFrom}`);
  const requested = JSON.parse((await storage.load(StorageKeys.pendingHosts(id))) ?? '[]') as string[];
  const missing = requested.filter((host) => !certificateCovers(leaf, host));
  if (missing.length > 0) throw refuse(`it does not cover ${missing.join(', ')}, which the request named`);
  for (let i = 0; i + 1 < chain.length; i += 1) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) throw refuse(`the chain does not verify: certificate ${i + 2} did not sign certificate ${i + 1}`);
  }
  const lock = await storage.lock(StorageKeys.installedLock());
  try {
    const index = await installedIds(storage);
    await storage.storeAll(
      [
        // The certificate with its key as one value, then the index that makes it visible.
        { key: StorageKeys.installed(id).bundle, value: joinPair({ keyPem, certPem: `${blocks.join('\n')}\n` }), private: true },
        { key: StorageKeys.installedIndex(), value: JSON.stringify([...index.filter((known) => known !== id), id]) },
      ],
      { fencedBy: lock },
    );
    // The key now lives in the installed bundle: its pending copy is done with, not broken (set
    // aside is for broken material, and says so in a WARN), so it goes, with the hosts it was for.
    await storage.delete(StorageKeys.pending(id).key);
    await storage.delete(StorageKeys.pendingHosts(id));
  } finally {
    await lock.release();
  }
  return { id, hosts: certificateNames(leaf), notAfter, fingerprint256: leaf.fingerprint256, issuer: leaf.issuer.replaceAll('\n', ', ') };
}

/** The installed certificates that are valid now, as bundles (their id is their key's). */
export async function loadInstalled(storage: Storage, now: number): Promise<TlsBundle[]> {
  const bundles: TlsBundle[] = [];
  for (const id of await installedIds(storage)) {
    const { certPem, keyPem } = await loadPair(storage, StorageKeys.installed(id));
    if (!certPem || !keyPem) continue;
    try {
      const leaf = new X509Certificate(certPem);
      const key = createPrivateKey(keyPem);
      if (!leaf.checkPrivateKey(key)) continue;
      const notBefore = Date.parse(leaf.validFrom);
      const notAfter = Date.parse(leaf.validTo);
      if (now < notBefore || now >= notAfter) continue;
      bundles.push(freezeBundle({ id: `installed-${id}`, fingerprint256: leaf.fingerprint256, serialNumber: leaf.serialNumber, certPem, keyPem, notBefore, notAfter, hosts: certificateNames(leaf), keyType: keyTypeOf(key) ?? key.asymmetricKeyType ?? 'unknown' }));
    } catch {
      // An unreadable entry is skipped: the internal certificate keeps serving those hosts.
    }
  }
  return bundles;
}

/** Whether an installed bundle covers every host of a site. */
export function bundleCovers(bundle: TlsBundle, hosts: readonly string[]): boolean {
  const leaf = new X509Certificate(bundle.certPem);
  return hosts.every((host) => certificateCovers(leaf, host));
}

async function installedIds(storage: Storage): Promise<string[]> {
  const text = await storage.load(StorageKeys.installedIndex());
  try {
    const ids = JSON.parse(text ?? '[]') as unknown;
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string' && /^[0-9a-f]{32}$/.test(id)) : [];
  } catch {
    return [];
  }
}

function refuse(why: string): PorticoError {
  return new PorticoError('ERR_CERTIFICATE_INSTALL', `cannot install this certificate: ${why}`);
}
