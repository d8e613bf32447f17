/**
 * Test-only fault switches, set through the PORTICO_TEST_FAULT environment variable and listed
 * in docs/design.md. They exist so tests can produce, on demand, failures that real machines
 * produce by chance: a crash between two writes, a worker that keeps dying.
 *
 *   die-between-leaf-key-and-cert  the primary SIGKILLs itself after storing a new leaf key and
 *                                  before storing its certificate
 *   crash-worker-slot:N            the worker in slot N exits with code 70 soon after it listens
 *   no-scheduled-renewal           the keyring sets no renewal timer, as if the machine slept
 *                                  through it: only the check on use can notice expiry
 */
export type Fault = 'die-between-leaf-key-and-cert' | `crash-worker-slot:${number}` | 'no-scheduled-renewal';

export function isFaultActive(fault: Fault): boolean {
  return (process.env.PORTICO_TEST_FAULT ?? '').split(',').includes(fault);
}
