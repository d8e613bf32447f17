import { createSecureContext } from 'node:tls';

/**
 * TLS key exchange groups: which this runtime offers, which Portico offers by default, and the
 * option that sets them. Read by the config loader (to check `tlsGroups`) and by the server (to
 * apply them), so it sits with the TLS knowledge both may use.
 */

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
