import type { Logger } from './logger.js';

/**
 * A warning whose cause repeats (an address over a limit, a client breaking the protocol) is
 * logged once a minute per cause, however many times it happens: a flood must not also flood the
 * log. Bounded: past 10,000 causes the memory of them starts over.
 */
export class OnceAMinute {
  private readonly last = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  warn(cause: string, message: string): void {
    const now = Date.now();
    if ((this.last.get(cause) ?? 0) > now - 60_000) return;
    if (this.last.size >= 10_000) this.last.clear();
    this.last.set(cause, now);
    this.log.warn(message);
  }
}
