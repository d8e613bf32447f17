import type { Check, ParsedPair } from '../certificate-check.js';
import type { PemPair, StoredPair } from '../keys.js';
import type { Lock, Storage } from './storage.js';
import type { PairLocation } from './storage-keys.js';

const KEY_BLOCK = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/;
const CERT_BLOCKS = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The one text of a pair: its key, then its certificate chain. */
export function joinPair(pair: PemPair): string {
  return `${pair.keyPem.trim()}\n${pair.certPem.trim()}\n`;
}

/** Splits a bundle; a half that is not there comes back empty, which no parser accepts (broken, not missing). */
export function splitPair(bundle: string): { certPem: string; keyPem: string } {
  const keyPem = bundle.match(KEY_BLOCK)?.[0];
  const certs = bundle.match(CERT_BLOCKS) ?? [];
  return { keyPem: keyPem ? `${keyPem}\n` : '', certPem: certs.length > 0 ? `${certs.join('\n')}\n` : '' };
}

/** Loads a certificate and its key: from the bundle, else from a legacy pair of files. */
export async function loadPair(storage: Storage, at: PairLocation): Promise<StoredPair & { readonly legacy: boolean }> {
  const bundle = await storage.load(at.bundle);
  if (bundle !== undefined || at.legacy === undefined) return { ...(bundle === undefined ? { certPem: undefined, keyPem: undefined } : splitPair(bundle)), legacy: false };
  const [certPem, keyPem] = await Promise.all([storage.load(at.legacy.cert), storage.load(at.legacy.key)]);
  return { certPem, keyPem, legacy: true };
}

/** Stores a pair as one private value, committed only while `lock` is held. */
export function storePair(storage: Storage, at: PairLocation, pair: PemPair, lock: Lock): Promise<void> {
  return storage.store(at.bundle, joinPair(pair), { private: true, fencedBy: lock });
}

/**
 * Loads and checks a pair; when repairing (only under its lock), sets aside whatever failed the
 * check: the bundle, or both legacy files (a key without its certificate is useless).
 */
export async function loadChecked(storage: Storage, at: PairLocation, repair: boolean, check: (stored: StoredPair) => Check<ParsedPair>): Promise<ParsedPair | undefined> {
  const stored = await loadPair(storage, at);
  const result = check(stored);
  if (result.ok) return result.value;
  if (!repair || result.missing) return undefined;
  if (!stored.legacy || at.legacy === undefined) {
    await storage.setAside(at.bundle, result.problem);
    return undefined;
  }
  const keys = at.legacy;
  for (const [key, role] of [[keys.cert, 'cert'], [keys.key, 'key']] as const) {
    const atFault = result.culprit === role || result.culprit === 'pair';
    await storage.setAside(key, atFault ? result.problem : `its partner ${storage.describe(result.culprit === 'cert' ? keys.cert : keys.key)} is broken: ${result.problem}`);
  }
  return undefined;
}
