/** Pure rules for a leaf's life: when it starts, ends, and when to replace it. */

export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * The validity of a new leaf. X.509 times have whole seconds, so both ends are whole seconds.
 * The start is back-dated a little (up to a minute, never more than a tenth of the lifetime)
 * so a client whose clock is slightly behind still accepts it.
 */
export function leafValidity(now: number, lifetimeMs: number): Validity {
  const backdate = Math.min(60_000, Math.floor(lifetimeMs / 10));
  const notBefore = Math.floor((now - backdate) / 1000) * 1000;
  const notAfter = Math.floor((now + lifetimeMs) / 1000) * 1000;
  return { notBefore, notAfter };
}

/** Renewal is due once two thirds of the validity have passed (as Caddy and certbot do). */
export function renewalTime(validity: Validity): number {
  return validity.notBefore + Math.floor(((validity.notAfter - validity.notBefore) * 2) / 3);
}

export function isRenewalDue(validity: Validity, now: number): boolean {
  return now >= renewalTime(validity);
}

/** Whether a certificate may be served now. Checked on use, not only by a timer (caddy#7496). */
export function isWithinValidity(validity: Validity, now: number): boolean {
  return now >= validity.notBefore && now < validity.notAfter;
}
