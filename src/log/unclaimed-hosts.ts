import type { ExchangeEnd } from '../http/exchange-observer.js';
import type { Logger } from './logger.js';
import { escapeValue } from './w3c-fields.js';

/** Hosts named one by one per minute; the rest of a flood of names is summed up in one count. */
const NAMED_PER_WINDOW = 10;
/** Hosts counted one by one per minute (memory stays bounded whatever the flood). */
const COUNTED_PER_WINDOW = 1_000;
const WINDOW_MS = 60_000;

export interface UnclaimedHostsOptions {
  /** Injected in tests; a minute otherwise. */
  readonly windowMs?: number;
}

/**
 * Requests that no site answers (a host no site claims, without a default site; a TLS handshake
 * for no site) have no site log to go to: they go to the operator log instead, as IIS's HTTPERR
 * log holds what no site took. The first request for a host is logged at once, as one INFO line
 * with what was asked; further ones are counted and summed up in one line a minute later, so a
 * removed site's traffic is seen without a flood of host names flooding the log.
 */
export class UnclaimedHosts {
  private readonly counts = new Map<string, number>();
  private others = 0;
  private named = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly windowMs: number;

  constructor(
    private readonly log: Logger,
    options: UnclaimedHostsOptions = {},
  ) {
    this.windowMs = options.windowMs ?? WINDOW_MS;
  }

  record(end: Pick<ExchangeEnd, 'exchange' | 'status'>, reason: string): void {
    const { exchange, status } = end;
    const host = exchange.host === '' ? '-' : escapeValue(exchange.host);
    const count = this.counts.get(host);
    if (count !== undefined) this.counts.set(host, count + 1);
    else if (this.counts.size >= COUNTED_PER_WINDOW) this.others += 1;
    else {
      this.counts.set(host, 0);
      if (this.named < NAMED_PER_WINDOW) {
        this.named += 1;
        this.log.info(`no site claims host ${host} (${reason}): ${exchange.method} ${escapeValue(exchange.path)} from ${exchange.remoteAddress} answered ${status}; further requests for unclaimed hosts are counted once a minute`);
      } else this.counts.set(host, 1);
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.report(), this.windowMs);
      this.timer.unref();
    }
  }

  /** Logs what the window counted beyond its first lines, and starts a new window. */
  report(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const counted = [...this.counts].filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]);
    const total = counted.reduce((sum, [, count]) => sum + count, 0) + this.others;
    this.counts.clear();
    this.named = 0;
    const others = this.others;
    this.others = 0;
    if (total === 0) return;
    const shown = counted.slice(0, NAMED_PER_WINDOW).map(([host, count]) => `${count} for ${host}`);
    const rest = counted.slice(NAMED_PER_WINDOW).reduce((sum, [, count]) => sum + count, 0) + others;
    if (rest > 0) shown.push(`${rest} for other hosts`);
    this.log.info(`${total} more request(s) for hosts no site claims in the last ${Math.round(this.windowMs / 1000)} s: ${shown.join(', ')}`);
  }
}
