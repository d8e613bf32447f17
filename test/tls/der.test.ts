import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import * as der from '../../src/tls/internal-ca/der.js';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { leafValidity } from '../../src/tls/renewal.js';

const run = promisify(execFile);
const hex = (bytes: Buffer): string => bytes.toString('hex');

test('der encodes lengths in short and long form', () => {
  assert.equal(hex(der.octetString(Buffer.alloc(3))), '0403000000');
  assert.equal(hex(der.octetString(Buffer.alloc(200))).slice(0, 6), '0481c8');
  assert.equal(hex(der.octetString(Buffer.alloc(300))).slice(0, 8), '0482012c');
});

test('der encodes INTEGERs minimally and positive', () => {
  assert.equal(hex(der.integer(0)), '020100');
  assert.equal(hex(der.integer(2)), '020102');
  assert.equal(hex(der.integer(128)), '02020080');
  assert.equal(hex(der.integer(256)), '02020100');
  assert.equal(hex(der.integer(Buffer.from([0, 0, 0x7f]))), '02017f');
  assert.equal(hex(der.integer(Buffer.from([0xff]))), '020200ff');
});

test('der encodes OBJECT IDENTIFIERs with multi-byte arcs', () => {
  assert.equal(hex(der.objectIdentifier('2.5.29.17')), '0603551d11');
  assert.equal(hex(der.objectIdentifier('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
});

test('der encodes KeyUsage named bits without trailing zero bits', () => {
  assert.equal(hex(der.namedBits([0])), '03020780');
  assert.equal(hex(der.namedBits([0, 2])), '030205a0');
  assert.equal(hex(der.namedBits([5, 6])), '03020106');
});

test('der uses UTCTime through 2049 and GeneralizedTime after', () => {
  assert.equal(der.time(Date.UTC(2026, 10, 24, 18, 1, 2, 999)).toString('latin1', 2), '261124180102Z');
  assert.equal(der.time(Date.UTC(2050, 0, 1)).toString('latin1', 2), '20500101000000Z');
});

test('a leaf from the internal CA parses, verifies, and carries the requested names and usages', async () => {
  const now = Date.now();
  const root = await createRootCa(now);
  const leaf = await issueLeaf(root, ['localhost', 'example.test', '127.0.0.1', '::1', '2001:db8::5'], 'rsa-2048', leafValidity(now, 86_400_000));
  const rootCert = new X509Certificate(root.certPem);
  const cert = new X509Certificate(leaf.certPem);
  assert.ok(rootCert.ca && !cert.ca);
  assert.ok(cert.checkIssued(rootCert) && cert.verify(rootCert.publicKey));
  assert.equal(cert.subjectAltName, 'DNS:localhost, DNS:example.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:5');
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const dir = tmpdir();
  await writeFile(join(dir, `portico-der-root-${process.pid}.pem`), root.certPem);
  await writeFile(join(dir, `portico-der-leaf-${process.pid}.pem`), leaf.certPem);
  const { stdout } = await run('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, `portico-der-root-${process.pid}.pem`), join(dir, `portico-der-leaf-${process.pid}.pem`)]);
  assert.match(stdout, /: OK/);
  const text = (await run('openssl', ['x509', '-noout', '-text', '-in', join(dir, `portico-der-leaf-${process.pid}.pem`)])).stdout;
  assert.match(text, /Version: 3/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /X509v3 Authority Key Identifier/);
});
