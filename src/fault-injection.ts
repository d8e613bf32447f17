/**
 * Test-only fault switches, set through the PORTICO_TEST_FAULT environment variable and listed
 * in docs/design.md. They exist so tests can produce, on demand, failures that real machines
 * produce by chance: a crash between two writes, a worker that keeps dying.
 *
 *   slow-acme-challenge            an ACME order waits 20 s (or until the process gets SIGUSR2)
 *                                  before it answers its challenge, so a test can kill the
 *                                  instance that holds the lock mid-order, or let it go on
 *   stop-after-acme-order          the primary SIGSTOPs itself when the CA has issued a certificate,
 *                                  before storing it: a holder that stalls past its lease
 *   crash-worker-slot:N            the worker in slot N exits with code 70 soon after it listens
 *   no-scheduled-renewal           the keyring sets no renewal timer, as if the machine slept
 *                                  through it: only the check on use can notice expiry
 */
export type Fault = 'slow-acme-challenge' | 'stop-after-acme-order' | `crash-worker-slot:${number}` | 'no-scheduled-renewal';

export function isFaultActive(fault: Fault): boolean {
  return (process.env.PORTICO_TEST_FAULT ?? '').split(',').includes(fault);
}
