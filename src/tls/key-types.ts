/** The key types a leaf certificate can have, as named on the command line. */
export const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export function isKeyType(value: string): value is KeyType {
  return (KEY_TYPES as readonly string[]).includes(value);
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
