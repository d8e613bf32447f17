import { constants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';

/**
 * What TLS Portico speaks, applied to the TLS server and to every certificate's context alike
 * (tls.Server.setSecureContext resets whatever the new options leave out, so the policy must
 * travel with each certificate). TLS 1.2 and 1.3 only; TLS 1.3's suites (all AEAD) first, then
 * TLS 1.2's: ECDHE (forward secrecy) with AES-GCM or ChaCha20-Poly1305 (AEAD). No CBC, CCM8,
 * ARIA or static RSA; the server's order wins. No renegotiation (TLS 1.2; 1.3 has none): a client
 * that asks for it is refused by OpenSSL itself. Node's own limit (3 in 10 minutes) let the first
 * ones through, and Node 26's OpenSSL 3.5 answered them, which testssl.sh rates a DoS threat.
 * The key exchange groups are src/tls/key-exchange-groups.ts's.
 */
export const TLS_POLICY = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
} as const satisfies SecureContextOptions;
