import type { KeyType } from './key-types.js';

/**
 * What a worker needs to serve TLS: a certificate chain and its private key, validated by the
 * primary and never changed afterwards. Plain data (PEM strings, numbers), so it crosses IPC
 * as JSON and cannot carry behaviour or shared mutable state.
 */
export interface TlsBundle {
  /** Which certificate this is (the same across renewals): the storage id of its host set and key type. */
  readonly id: string;
  /** SHA-256 fingerprint of the leaf certificate: identifies the bundle. */
  readonly fingerprint256: string;
  readonly serialNumber: string;
  /** Leaf certificate (PEM); the chain a client is sent. */
  readonly certPem: string;
  readonly keyPem: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly hosts: readonly string[];
  /** ec-p256, rsa-2048, …: as --key-type names it; for a certificate from files, whatever its key is. */
  readonly keyType: KeyType | string;
}

export function freezeBundle(bundle: TlsBundle): TlsBundle {
  return Object.freeze({ ...bundle, hosts: Object.freeze([...bundle.hosts]) });
}

/** The id prefix of certificates obtained on demand (one per name): never a default certificate. */
export const ON_DEMAND_ID = 'on-demand-';
