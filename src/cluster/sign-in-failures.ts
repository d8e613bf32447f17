import { FailureCounter } from '../limits/failure-limit.js';
import type { PrimaryMessage } from './messages.js';

/**
 * Sign-in failures counted across workers (a client's connections land on any of them): each
 * worker reports its failures; past the limit, every worker is told to refuse the address.
 */
export class SignInFailures {
  private readonly counter = new FailureCounter();

  constructor(private readonly broadcast: (message: PrimaryMessage) => void) {}

  record(address: string, now = Date.now()): void {
    const until = this.counter.record(address, now);
    if (until !== undefined) this.broadcast({ type: 'auth-blocked', address, until });
  }
}
