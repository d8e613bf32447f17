import { constants } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

/**
 * What TLS Portico speaks, applied to the TLS server and to every certificate's context alike
 * (tls.Server.setSecureContext resets whatever the new options leave out, so the policy must
 * travel with each certificate). TLS 1.2 and 1.3 only; TLS 1.3's suites (all AEAD) first, then
 * TLS 1.2's: ECDHE (forward secrecy) with AES-GCM or ChaCha20-Poly1305 (AEAD). No CBC, CCM8,
 * ARIA or static RSA; the server's order wins. No renegotiation (TLS 1.2; 1.3 has none): a client
 * that asks for it is refused by OpenSSL itself. Node's own limit (3 in 10 minutes) let the first
 * ones through, and Node 26's OpenSSL 3.5 answered them, which testssl.sh rates a DoS threat.
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

/** Whether this runtime's OpenSSL offers a key exchange group (found by asking it, never by version). */
export function offersGroup(name: string): boolean {
  try {
    createSecureContext({ ecdhCurve: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The key exchange groups offered, most preferred first: the hybrid post-quantum X25519MLKEM768
 * (what Chrome and Firefox prefer) where the runtime's OpenSSL has it (3.5, Node 24), then
 * X25519, P-256 and P-384. Set deliberately rather than left to OpenSSL's default list, so an
 * upgrade cannot change it unnoticed; `tlsGroups` in the config pins another list.
 */
export const DEFAULT_GROUPS: readonly string[] = [...(offersGroup('X25519MLKEM768') ? ['X25519MLKEM768'] : []), 'X25519', 'P-256', 'P-384'];

/** The `ecdhCurve` option for a list of groups. */
export function ecdhCurveOf(groups: readonly string[] | undefined): string {
  return (groups ?? DEFAULT_GROUPS).join(':');
}
