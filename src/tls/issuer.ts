import type { KeyObject } from 'node:crypto';
import type { Check, LeafWanted, ParsedPair } from './certificate-check.js';
import type { StoredPair } from './keys.js';
import type { Validity } from './renewal.js';

export interface CertificateRequest {
  /** DNS names and IP addresses the certificate must cover. */
  readonly names: readonly string[];
  /** The private key; the certificate is issued for its public half. */
  readonly key: KeyObject;
  readonly validity: Validity;
}

/**
 * Who signs certificates: the internal CA today, an ACME CA later. Contract, checked for every
 * implementation by test/tls/issuer-contract.ts:
 * - `issue` only signs: it makes no key and stores no certificate (the keyring does both, under
 *   its lock), so an issuer can be called again after a crash without leaving anything behind;
 * - the certificate it returns covers every name, is for the request's key, and passes `check`;
 * - `prepare` may create what the issuer itself needs (the internal CA's root) and does so
 *   exactly once across processes: check, lock, check again, create, store;
 * - `check` refuses what this issuer would not vouch for now (another CA's certificate, a
 *   replaced root), so such a certificate is reissued rather than served.
 */
export interface Issuer {
  /** Reads what the issuer keeps (repairing, when allowed, what is broken); false when it has nothing yet. */
  load(repair: boolean): Promise<boolean>;
  /** Makes the issuer able to sign. */
  prepare(): Promise<void>;
  /** Signs a certificate; returns its PEM (a chain, leaf first). */
  issue(request: CertificateRequest): Promise<string>;
  /** Checks a stored pair against what this issuer would issue now; `load` first. */
  check(stored: StoredPair, wanted: LeafWanted, now: number): Check<ParsedPair>;
}
