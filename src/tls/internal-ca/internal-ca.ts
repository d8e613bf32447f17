import { createHash, createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { type KeyType, keyTypeOf } from '../key-types.js';
import { exportPrivateKey, generateKeyPair, type PemPair } from '../keys.js';
import type { Validity } from '../renewal.js';
import * as der from './der.js';

/** The root is always ECDSA P-256: small, fast to sign with, and accepted by every client. */
const ROOT_KEY_TYPE: KeyType = 'ec-p256';
const ROOT_LIFETIME_MS = 10 * 365 * 86_400_000;

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  extensionRequest: '1.2.840.113549.1.9.14',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

/** KeyUsage bits (RFC 5280 §4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** Creates a self-signed root CA, like Caddy's "Caddy Local Authority", valid for ten years. */
export async function createRootCa(now: number): Promise<PemPair> {
  const key = await generateKeyPair(ROOT_KEY_TYPE);
  const year = new Date(now).getUTCFullYear();
  const name = distinguishedName(`Portico Local Authority - ${year} ECC Root`, 'Portico');
  const spki = publicKeyInfo(key);
  const certificate = signCertificate(key, {
    issuer: name,
    subject: name,
    validity: { notBefore: now - 60_000, notAfter: now + ROOT_LIFETIME_MS },
    spki,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence(der.boolean(true), der.integer(0))),
      extension(OID.keyUsage, true, der.namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
      extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(spki))),
    ],
  });
  return { certPem: toPem(certificate, 'CERTIFICATE'), keyPem: exportPrivateKey(key) };
}

/** Makes a key and a certificate for it: for tests and benchmarks, which need a pair at once. */
export async function issueLeaf(root: PemPair, hosts: readonly string[], keyType: KeyType, validity: Validity): Promise<PemPair> {
  const key = await generateKeyPair(keyType);
  return { certPem: signLeaf(root, hosts, key, validity), keyPem: exportPrivateKey(key) };
}

/** Signs a server certificate for `hosts` (DNS names and IP addresses) and `key`'s public half with the root. */
export function signLeaf(root: PemPair, hosts: readonly string[], key: KeyObject, validity: Validity): string {
  const rootCert = new X509Certificate(root.certPem);
  const rootKey = createPrivateKey(root.keyPem);
  const spki = publicKeyInfo(key);
  const usage = key.asymmetricKeyType === 'rsa' ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment] : [KEY_USAGE.digitalSignature];
  const commonName = hosts.find((host) => isIP(host) === 0) ?? hosts[0] ?? 'localhost';
  const certificate = signCertificate(rootKey, {
    issuer: der.certificateSubject(rootCert.raw),
    subject: distinguishedName(commonName),
    validity,
    spki,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence()),
      extension(OID.keyUsage, true, der.namedBits(usage)),
      extension(OID.extKeyUsage, false, der.sequence(der.objectIdentifier(OID.serverAuth))),
      extension(OID.subjectAltName, false, der.sequence(...hosts.map(generalName))),
      extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicit(0, keyIdentifier(publicKeyInfo(rootCert.publicKey))))),
      extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(spki))),
    ],
  });
  return toPem(certificate, 'CERTIFICATE');
}

/**
 * A certificate signing request (PKCS#10, RFC 2986) for `hosts`, signed with `key`: what a
 * commercial CA asks for. Subject CN is the first DNS name; the names go in a subjectAltName
 * extension request, which is what CAs issue from.
 */
export function certificationRequest(hosts: readonly string[], key: KeyObject): string {
  const commonName = hosts.find((host) => isIP(host) === 0) ?? hosts[0] ?? 'localhost';
  const requested = der.sequence(extension(OID.subjectAltName, false, der.sequence(...hosts.map(generalName))));
  const attribute = der.sequence(der.objectIdentifier(OID.extensionRequest), der.set(requested));
  const info = der.sequence(der.integer(0), distinguishedName(commonName), publicKeyInfo(key), der.tlv(0xa0, attribute));
  const { algorithm, hash } = signatureAlgorithm(key);
  return toPem(der.sequence(info, algorithm, der.bitString(sign(hash, info, key))), 'CERTIFICATE REQUEST');
}

interface CertificateFields {
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly validity: Validity;
  readonly spki: Buffer;
  readonly extensions: readonly Buffer[];
}

/** Builds TBSCertificate (RFC 5280 §4.1), signs it with `signer`, and returns the certificate DER. */
function signCertificate(signer: KeyObject, fields: CertificateFields): Buffer {
  const { algorithm, hash } = signatureAlgorithm(signer);
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(randomSerial()),
    algorithm,
    fields.issuer,
    der.sequence(der.time(fields.validity.notBefore), der.time(fields.validity.notAfter)),
    fields.subject,
    fields.spki,
    der.explicit(3, der.sequence(...fields.extensions)),
  );
  // ECDSA signatures come DER-encoded (dsaEncoding 'der' is the default), as X.509 wants them.
  return der.sequence(tbs, algorithm, der.bitString(sign(hash, tbs, signer)));
}

function signatureAlgorithm(signer: KeyObject): { algorithm: Buffer; hash: string } {
  const type = keyTypeOf(signer);
  if (type === 'ec-p256') return { algorithm: der.sequence(der.objectIdentifier(OID.ecdsaWithSha256)), hash: 'sha256' };
  if (type === 'ec-p384') return { algorithm: der.sequence(der.objectIdentifier(OID.ecdsaWithSha384)), hash: 'sha384' };
  if (type !== undefined) return { algorithm: der.sequence(der.objectIdentifier(OID.sha256WithRsa), der.nullValue()), hash: 'sha256' };
  throw new Error('the root CA key is of a type Portico cannot sign with');
}

function distinguishedName(commonName: string, organization?: string): Buffer {
  const attribute = (oid: string, value: string): Buffer => der.set(der.sequence(der.objectIdentifier(oid), der.utf8String(value)));
  return der.sequence(attribute(OID.commonName, commonName), ...(organization ? [attribute(OID.organization, organization)] : []));
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.objectIdentifier(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

/** dNSName [2] or iPAddress [7] (RFC 5280 §4.2.1.6). */
function generalName(host: string): Buffer {
  return isIP(host) === 0 ? der.implicit(2, Buffer.from(host, 'ascii')) : der.implicit(7, ipBytes(host));
}

/** An address as the 4 or 16 bytes iPAddress holds; an IPv6 address may end in a dotted IPv4 (`::ffff:127.0.0.1`). */
export function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    return ipBytes(`${address.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
  }
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = address.includes('::') ? [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)] : groups(address);
  return Buffer.from(all.map((group) => group.padStart(4, '0')).join(''), 'hex');
}

/** SubjectPublicKeyInfo DER of a key; a private key gives its public half. */
function publicKeyInfo(key: KeyObject): Buffer {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
}

/** A key identifier: the leftmost 160 bits of the SHA-256 of the public key info (RFC 7093 §2). */
function keyIdentifier(spki: Buffer): Buffer {
  return createHash('sha256').update(spki).digest().subarray(0, 20);
}

/** A positive 128-bit serial number (RFC 5280 allows up to 20 octets). */
function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}

function toPem(bytes: Buffer, label: string): string {
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
