import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { type KeyType, keyTypeOf } from './key-types.js';
import { isWithinValidity } from './renewal.js';
import type { StoredPair } from './keys.js';

/** Which file of a pair is at fault: the certificate, the key, or the two together. */
export type Culprit = 'cert' | 'key' | 'pair';

export type Check<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly missing: true }
  | { readonly ok: false; readonly missing: false; readonly culprit: Culprit; readonly problem: string };

export interface ParsedPair {
  readonly cert: X509Certificate;
  readonly key: KeyObject;
  readonly certPem: string;
  readonly keyPem: string;
}

const fail = (culprit: Culprit, problem: string): Check<never> => ({ ok: false, missing: false, culprit, problem });

/** Parses a pair and proves the private key belongs to the certificate and that it is in date. */
export function checkPair(stored: StoredPair, now: number): Check<ParsedPair> {
  const { certPem, keyPem } = stored;
  if (certPem === undefined && keyPem === undefined) return { ok: false, missing: true };
  if (certPem === undefined) return fail('key', 'its certificate is missing (torn write?)');
  if (keyPem === undefined) return fail('cert', 'its private key is missing (torn write?)');
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return fail('cert', 'it is not a PEM certificate (truncated or corrupt)');
  }
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return fail('key', 'it is not a PEM private key (truncated or corrupt)');
  }
  if (!cert.checkPrivateKey(key)) return fail('pair', 'the private key does not match the certificate (they are from different generations)');
  const validity = { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
  if (!isWithinValidity(validity, now)) return fail('pair', `the certificate is not valid now (valid ${cert.validFrom} to ${cert.validTo})`);
  return { ok: true, value: { cert, key, certPem, keyPem } };
}

export function checkRoot(stored: StoredPair, now: number): Check<ParsedPair> {
  const pair = checkPair(stored, now);
  if (!pair.ok) return pair;
  if (!pair.value.cert.ca) return fail('cert', 'it is not a CA certificate');
  if (!pair.value.cert.verify(pair.value.cert.publicKey)) return fail('cert', 'it is not self-signed');
  return pair;
}

export interface LeafWanted {
  readonly hosts: readonly string[];
  readonly keyType: KeyType;
}

/** A leaf must match its key, chain to the root, cover every wanted host, and have the wanted key type. */
export function checkLeaf(stored: StoredPair, root: X509Certificate, wanted: LeafWanted, now: number): Check<ParsedPair> {
  const pair = checkPair(stored, now);
  if (!pair.ok) return pair;
  const { cert, key } = pair.value;
  if (!cert.checkIssued(root) || !cert.verify(root.publicKey)) return fail('pair', 'the certificate was not issued by the current root CA');
  const uncovered = wanted.hosts.find((host) => (isIP(host) ? cert.checkIP(host) : cert.checkHost(host, { wildcards: false, subject: 'never' })) === undefined);
  if (uncovered !== undefined) return fail('pair', `the certificate does not cover ${uncovered}`);
  if (keyTypeOf(key) !== wanted.keyType) return fail('pair', `the key is not of type ${wanted.keyType}`);
  return pair;
}
