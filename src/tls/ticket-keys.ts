import { randomBytes } from 'node:crypto';

/** How long one session-ticket key is used before the primary replaces it. */
export const TICKET_KEY_LIFETIME_MS = 12 * 60 * 60_000;

/**
 * A TLS session-ticket key (48 bytes: name, AES key, HMAC key), made by the primary and shared
 * by every worker, so a returning client resumes its session whichever worker accepts it.
 * Replacing it every 12 hours bounds how long a stolen key could decrypt recorded sessions.
 */
export function createTicketKeys(): string {
  return randomBytes(48).toString('base64');
}
