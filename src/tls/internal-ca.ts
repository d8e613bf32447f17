import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { generateKeyPair, type KeyType, keyAlgorithm, keyTypeOf, signingAlgorithm } from './key-types.js';
import type { Validity } from './renewal.js';
import type { PairToStore } from './storage/state-store.js';

// @types/node's webcrypto and the DOM Crypto type @peculiar/x509 names differ only in typings.
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** The root is always ECDSA P-256: small, fast to sign with, and accepted by every client. */
const ROOT_KEY_TYPE: KeyType = 'ec-p256';
const ROOT_LIFETIME_MS = 10 * 365 * 86_400_000;

/** Creates a self-signed root CA, like Caddy's "Caddy Local Authority", valid for ten years. */
export async function createRootCa(now: number): Promise<PairToStore> {
  const keys = await generateKeyPair(ROOT_KEY_TYPE);
  const year = new Date(now).getUTCFullYear();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=Portico Local Authority - ${year} ECC Root, O=Portico`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + ROOT_LIFETIME_MS),
    keys,
    signingAlgorithm: signingAlgorithm(ROOT_KEY_TYPE),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

/** Issues a server certificate for `hosts` (DNS names and IP addresses) signed by the root. */
export async function issueLeaf(root: PairToStore, hosts: readonly string[], keyType: KeyType, validity: Validity): Promise<PairToStore> {
  const rootCert = new x509.X509Certificate(root.certPem);
  const rootKeyType = keyTypeOf(createPrivateKey(root.keyPem));
  if (rootKeyType === undefined) throw new Error('the root CA key is of a type Portico cannot sign with');
  const rootKey = await importPrivateKey(root.keyPem, rootKeyType);
  const keys = await generateKeyPair(keyType);
  const usage = keyType.startsWith('rsa') ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature;
  const commonName = hosts.find((host) => isIP(host) === 0) ?? hosts[0] ?? 'localhost';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${commonName}`,
    issuer: rootCert.subject,
    notBefore: new Date(validity.notBefore),
    notAfter: new Date(validity.notAfter),
    signingKey: rootKey,
    publicKey: keys.publicKey,
    signingAlgorithm: signingAlgorithm(rootKeyType),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((host) => ({ type: isIP(host) ? ('ip' as const) : ('dns' as const), value: host }))),
      await x509.AuthorityKeyIdentifierExtension.create(rootCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

/** A positive 128-bit serial number (RFC 5280 allows up to 20 octets; the top bit must be 0). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

async function exportPrivateKey(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function importPrivateKey(pem: string, type: KeyType): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, keyAlgorithm(type), false, ['sign']);
}
