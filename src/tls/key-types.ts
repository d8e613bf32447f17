import { webcrypto } from 'node:crypto';

/** The key types a leaf certificate can have, as named on the command line. */
export const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export function isKeyType(value: string): value is KeyType {
  return (KEY_TYPES as readonly string[]).includes(value);
}

type KeyAlgorithm = webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams;

export function keyAlgorithm(type: KeyType): KeyAlgorithm {
  switch (type) {
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ec-p384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    default:
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: Number(type.slice('rsa-'.length)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
  }
}

/** The signature algorithm a key of this type signs with. */
export function signingAlgorithm(type: KeyType): webcrypto.EcdsaParams | webcrypto.Algorithm {
  if (type === 'ec-p384') return { name: 'ECDSA', hash: 'SHA-384' };
  if (type === 'ec-p256') return { name: 'ECDSA', hash: 'SHA-256' };
  return { name: 'RSASSA-PKCS1-v1_5' };
}

/**
 * Generates a key pair off the event loop (WebCrypto runs key generation on libuv's thread
 * pool), so the primary keeps routing IPC and timers while an RSA-4096 key is being made.
 */
export async function generateKeyPair(type: KeyType): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(keyAlgorithm(type), true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** Describes a node:crypto key the way the command line names key types, or undefined. */
export function keyTypeOf(details: { asymmetricKeyType?: string; asymmetricKeyDetails?: { namedCurve?: string; modulusLength?: number } }): KeyType | undefined {
  const { asymmetricKeyType: kind, asymmetricKeyDetails: d } = details;
  if (kind === 'ec' && d?.namedCurve === 'prime256v1') return 'ec-p256';
  if (kind === 'ec' && d?.namedCurve === 'secp384r1') return 'ec-p384';
  if (kind === 'rsa' && d?.modulusLength !== undefined) {
    const name = `rsa-${d.modulusLength}`;
    return isKeyType(name) ? name : undefined;
  }
  return undefined;
}
