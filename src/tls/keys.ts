import { generateKeyPair as generateNodeKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyType } from './key-types.js';

const generate = promisify(generateNodeKeyPair);

/** A certificate (or chain, leaf first) and its private key, as PEM text. */
export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A pair as loaded from storage: either half may be missing. */
export interface StoredPair {
  readonly certPem: string | undefined;
  readonly keyPem: string | undefined;
}

/**
 * Generates a key pair on libuv's thread pool, so the primary keeps routing IPC and timers
 * while an RSA-4096 key is being made. Keys are made by the keyring, never by an issuer: an
 * issuer only signs.
 */
export async function generateKeyPair(type: KeyType): Promise<KeyObject> {
  const { privateKey } =
    type === 'ec-p256' || type === 'ec-p384'
      ? await generate('ec', { namedCurve: type === 'ec-p256' ? 'P-256' : 'P-384' })
      : await generate('rsa', { modulusLength: Number(type.slice('rsa-'.length)) });
  return privateKey;
}

export function exportPrivateKey(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
