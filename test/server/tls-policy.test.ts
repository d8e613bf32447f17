import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { connect, getCiphers } from 'node:tls';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

// What TLS Portico agrees to, asked suite by suite with Node's own client (its OpenSSL knows
// every suite a peer could offer): TLS 1.2 only with ECDHE (forward secrecy) and an AEAD cipher;
// nothing older than TLS 1.2.
const servers = useTestServers();
let port: number;

before(async () => {
  const box = await servers.ready();
  const portico = servers.serve(anyPortArgs(box, ['--workers', '1', '--http', 'off']));
  port = await portico.port('https');
  await portico.waitUntilServing();
});

function handshake(options: { ciphers?: string; minVersion?: 'TLSv1' | 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' }): Promise<{ cipher: string; version: string } | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ...options }, () => {
      const cipher = socket.getCipher();
      resolve({ cipher: cipher.standardName ?? cipher.name, version: socket.getProtocol() ?? '' });
      socket.end();
    });
    socket.on('error', () => resolve(undefined));
  });
}

const AEAD_WITH_FORWARD_SECRECY = /^TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/;

test('TLS 1.2 agrees only to ECDHE with AES-GCM or ChaCha20-Poly1305: every other suite is refused', async () => {
  const suites = getCiphers()
    .map((name) => name.toUpperCase())
    .filter((name) => !name.startsWith('TLS_'));
  const agreed: string[] = [];
  for (const suite of suites) {
    const result = await handshake({ ciphers: suite, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    if (result) agreed.push(result.cipher);
  }
  assert.ok(agreed.length > 0, 'some TLS 1.2 suite works');
  assert.deepEqual(
    agreed.filter((name) => !AEAD_WITH_FORWARD_SECRECY.test(name)),
    [],
    `only AEAD with forward secrecy, among ${agreed.join(', ')} (of ${suites.length} tried)`,
  );
});

test('TLS 1.3 is preferred, and TLS 1.0 and 1.1 are refused', async () => {
  assert.equal((await handshake({}))?.version, 'TLSv1.3');
  assert.equal(await handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }), undefined);
});
