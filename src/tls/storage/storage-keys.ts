import { createHash } from 'node:crypto';
import type { KeyType } from '../key-types.js';

/** The storage keys of one certificate and its private key. */
export interface PairKeys {
  readonly cert: string;
  readonly key: string;
}

/**
 * Where a private key and its certificate live: one value, the key first and then the chain
 * (`bundle.pem`), so they are published together by one atomic store and no crash can leave a
 * key beside a certificate of another generation. State folders written before the bundle
 * existed kept them as two files (`legacy`): those are still read, never written.
 */
export interface PairLocation {
  readonly bundle: string;
  readonly legacy?: PairKeys;
}

/**
 * The one place storage keys are built (certmagic's KeyBuilder). Layout:
 *
 *     ca/root.pem                               the internal root CA: key, then certificate
 *     certificates/ID/bundle.pem                one leaf per (host set, key type): key, then chain
 *     pending/ID/request.csr, key.pem, hosts.json   a key whose request awaits a CA's signature (portico cert request)
 *     installed/ID/bundle.pem                   a CA-signed certificate installed with its key (portico cert install)
 *     installed/index.json                      the IDs installed, which a running primary watches
 *     acme/ACCOUNT/account.key                  an ACME account key
 *     acme/challenges/http-01/TOKEN             a pending http-01 answer, for whichever instance the CA asks
 *     acme/challenges/tls-alpn-01/NAME          a pending tls-alpn-01 certificate (JSON), likewise
 *
 * Before key and certificate were one value they were two files (root.crt + root.key, cert.pem +
 * key.pem): those are read when no bundle exists, never written. Lock names: `ca-root`, and the
 * leaf's ID.
 */
export const StorageKeys = {
  root: (): PairLocation => ({ bundle: 'ca/root.pem', legacy: { cert: 'ca/root.crt', key: 'ca/root.key' } }),
  rootLock: (): string => 'ca-root',
  leaf: (id: string): PairLocation => ({ bundle: `certificates/${id}/bundle.pem`, legacy: { cert: `certificates/${id}/cert.pem`, key: `certificates/${id}/key.pem` } }),
  leafLock: (id: string): string => id,
  /** ID: the first 32 hex digits of the SHA-256 of the public key, so the signed certificate finds its key. */
  pending: (id: string): PairKeys => ({ cert: `pending/${id}/request.csr`, key: `pending/${id}/key.pem` }),
  pendingHosts: (id: string): string => `pending/${id}/hosts.json`,
  installed: (id: string): PairLocation => ({ bundle: `installed/${id}/bundle.pem`, legacy: { cert: `installed/${id}/cert.pem`, key: `installed/${id}/key.pem` } }),
  installedIndex: (): string => 'installed/index.json',
  installedLock: (): string => 'installed-index',
  httpChallenge: (token: string): string => `acme/challenges/http-01/${token}`,
  alpnChallenge: (name: string): string => `acme/challenges/tls-alpn-01/${name.toLowerCase()}`,
};

/**
 * A name for a leaf: readable (the first host) and unique to the host set and key type
 * (a hash). Only [a-z0-9.-] survive, so a host name can never become a path.
 */
export function leafId(hosts: readonly string[], keyType: KeyType): string {
  const digest = createHash('sha256').update(JSON.stringify([[...hosts].sort(), keyType])).digest('hex').slice(0, 12);
  const readable = (hosts[0] ?? 'leaf').toLowerCase().replace(/[^a-z0-9.-]/g, '_').replace(/^\.+/, '_').slice(0, 64);
  return `${readable}-${keyType}-${digest}`;
}

/** Whether a key is one this module could have built: relative, no `..`, only safe characters. */
export function isSafeKey(key: string): boolean {
  return /^[a-z0-9._-]+(\/[a-z0-9._-]+)*$/i.test(key) && !key.split('/').some((part) => part === '..' || part === '.');
}
