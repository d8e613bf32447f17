import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import type { Issuer } from '../../src/tls/issuer.js';
import { exportPrivateKey, generateKeyPair } from '../../src/tls/keys.js';

export interface IssuerUnderTest {
  readonly issuer: Issuer;
  /** An issuer that is not this one (another CA), for certificates it must refuse. */
  readonly stranger: Issuer;
  /** How many values its storage holds: issue() must not change it. */
  storedValues(): Promise<number>;
  remove(): Promise<void>;
}

/**
 * The Issuer contract (src/tls/issuer.ts), run by every implementation: the internal CA today,
 * an ACME issuer later.
 */
export function issuerContract(name: string, open: () => Promise<IssuerUnderTest>): void {
  const names = ['www.example.test', '127.0.0.1'];
  const validity = () => ({ notBefore: Date.now() - 60_000, notAfter: Date.now() + 3_600_000 });

  test(`${name}: issue() signs a certificate for the request's key that covers every name and passes check()`, async () => {
    const subject = await open();
    try {
      await subject.issuer.prepare();
      const key = await generateKeyPair('ec-p256');
      const certPem = await subject.issuer.issue({ names, key, validity: validity() });
      const cert = new X509Certificate(certPem);
      assert.ok(cert.checkPrivateKey(key), 'the certificate is for the request key');
      assert.ok(cert.checkHost('www.example.test') && cert.checkIP('127.0.0.1'));
      const checked = subject.issuer.check({ certPem, keyPem: exportPrivateKey(key) }, { hosts: names, keyType: 'ec-p256' }, Date.now());
      assert.equal(checked.ok, true, JSON.stringify(checked));
    } finally {
      await subject.remove();
    }
  });

  test(`${name}: issue() only signs: it stores nothing`, async () => {
    const subject = await open();
    try {
      await subject.issuer.prepare();
      const before = await subject.storedValues();
      await subject.issuer.issue({ names, key: await generateKeyPair('ec-p256'), validity: validity() });
      assert.equal(await subject.storedValues(), before);
    } finally {
      await subject.remove();
    }
  });

  test(`${name}: check() refuses a certificate another issuer signed`, async () => {
    const subject = await open();
    try {
      await subject.issuer.prepare();
      await subject.stranger.prepare();
      const key = await generateKeyPair('ec-p256');
      const certPem = await subject.stranger.issue({ names, key, validity: validity() });
      const checked = subject.issuer.check({ certPem, keyPem: exportPrivateKey(key) }, { hosts: names, keyType: 'ec-p256' }, Date.now());
      assert.equal(checked.ok, false);
    } finally {
      await subject.remove();
    }
  });

  test(`${name}: prepare() from several contenders at once makes what the issuer needs once`, async () => {
    const subject = await open();
    try {
      await Promise.all([subject.issuer.prepare(), subject.issuer.prepare(), subject.stranger.prepare()]);
      const key = await generateKeyPair('ec-p256');
      const certPem = await subject.issuer.issue({ names, key, validity: validity() });
      assert.equal(subject.issuer.check({ certPem, keyPem: exportPrivateKey(key) }, { hosts: names, keyType: 'ec-p256' }, Date.now()).ok, true);
    } finally {
      await subject.remove();
    }
  });
}
