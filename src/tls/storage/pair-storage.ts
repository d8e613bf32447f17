import type { Check, ParsedPair } from '../certificate-check.js';
import type { StoredPair } from '../keys.js';
import type { Storage } from './storage.js';
import type { PairKeys } from './storage-keys.js';

/** Loads a certificate and its key. */
export async function loadPair(storage: Storage, keys: PairKeys): Promise<StoredPair> {
  const [certPem, keyPem] = await Promise.all([storage.load(keys.cert), storage.load(keys.key)]);
  return { certPem, keyPem };
}

/**
 * Loads and checks a pair; when repairing (only under its lock), sets aside whatever failed the
 * check. A key without its certificate is useless and vice versa: the pair goes aside together.
 */
export async function loadChecked(storage: Storage, keys: PairKeys, repair: boolean, check: (stored: StoredPair) => Check<ParsedPair>): Promise<ParsedPair | undefined> {
  const result = check(await loadPair(storage, keys));
  if (result.ok) return result.value;
  if (repair && !result.missing) {
    for (const [key, role] of [[keys.cert, 'cert'], [keys.key, 'key']] as const) {
      const atFault = result.culprit === role || result.culprit === 'pair';
      await storage.setAside(key, atFault ? result.problem : `its partner ${storage.describe(result.culprit === 'cert' ? keys.cert : keys.key)} is broken: ${result.problem}`);
    }
  }
  return undefined;
}
