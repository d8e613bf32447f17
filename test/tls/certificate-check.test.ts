import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { checkLeaf, checkRoot } from '../../src/tls/certificate-check.js';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { leafValidity } from '../../src/tls/renewal.js';
import type { PemPair as PairToStore } from '../../src/tls/keys.js';

const hosts = ['localhost', '127.0.0.1', '::1'];
const now = Date.now();
let root: PairToStore;
let otherRoot: PairToStore;
let leaf: PairToStore;

before(async () => {
  root = await createRootCa(now);
  otherRoot = await createRootCa(now);
  leaf = await issueLeaf(root, hosts, 'ec-p256', leafValidity(now, 86_400_000));
});

const rootCert = (): X509Certificate => new X509Certificate(root.certPem);

test('checkRoot() accepts a root the internal CA made', () => {
  assert.equal(checkRoot(root, now).ok, true);
});

test('checkRoot() refuses a leaf posing as a root', () => {
  const result = checkRoot(leaf, now);
  assert.ok(!result.ok && !result.missing && /not a CA/.test(result.problem));
});

test('checkLeaf() accepts a leaf for its hosts and key type, signed by its root', () => {
  assert.equal(checkLeaf(leaf, rootCert(), { hosts, keyType: 'ec-p256' }, now).ok, true);
});

test('checkLeaf() refuses a leaf signed by another root', () => {
  const result = checkLeaf(leaf, new X509Certificate(otherRoot.certPem), { hosts, keyType: 'ec-p256' }, now);
  assert.ok(!result.ok && !result.missing && result.culprit === 'pair' && /not issued by the current root/.test(result.problem));
});

test('checkLeaf() refuses a leaf that does not cover a wanted host', () => {
  const result = checkLeaf(leaf, rootCert(), { hosts: [...hosts, 'example.test'], keyType: 'ec-p256' }, now);
  assert.ok(!result.ok && !result.missing && /does not cover example\.test/.test(result.problem));
});

test('checkLeaf() refuses a leaf whose key is not of the wanted type', () => {
  const result = checkLeaf(leaf, rootCert(), { hosts, keyType: 'rsa-2048' }, now);
  assert.ok(!result.ok && !result.missing && /not of type rsa-2048/.test(result.problem));
});

test('checkLeaf() refuses an expired leaf', () => {
  const result = checkLeaf(leaf, rootCert(), { hosts, keyType: 'ec-p256' }, now + 2 * 86_400_000);
  assert.ok(!result.ok && !result.missing && /not valid now/.test(result.problem));
});

test('checkLeaf() names the key when the key is missing and the certificate is present', () => {
  const result = checkLeaf({ certPem: leaf.certPem, keyPem: undefined }, rootCert(), { hosts, keyType: 'ec-p256' }, now);
  assert.ok(!result.ok && !result.missing && result.culprit === 'cert' && /private key is missing/.test(result.problem));
});

test('checkLeaf() reports a pair with neither file as missing, not broken', () => {
  assert.deepEqual(checkLeaf({ certPem: undefined, keyPem: undefined }, rootCert(), { hosts, keyType: 'ec-p256' }, now), { ok: false, missing: true });
});
