import { createTicketKeys, TICKET_KEY_LIFETIME_MS } from '../tls/ticket-keys.js';
import type { PrimaryMessage } from './messages.js';

/**
 * The TLS session-ticket key every worker shares, so a session resumes on any worker: made in
 * the primary, sent to each worker when it starts, and replaced on all of them every 12 h.
 */
export class TicketKeyRotation {
  private keys = createTicketKeys();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly broadcast: (message: PrimaryMessage) => void) {}

  start(): void {
    this.timer = setInterval(() => {
      this.keys = createTicketKeys();
      this.broadcast(this.message());
    }, TICKET_KEY_LIFETIME_MS);
    this.timer.unref();
  }

  /** The current key, for a worker that starts now. */
  message(): PrimaryMessage {
    return { type: 'ticket-keys', keys: this.keys };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
