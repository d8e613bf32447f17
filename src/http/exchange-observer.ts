import type { Exchange } from './exchange.js';

/** What answered an exchange: a site's own chain, or one of the answers the worker gives itself. */
export type AnsweredBy = 'site' | 'not-found' | 'misdirected' | 'acme';

const ANSWERERS: readonly AnsweredBy[] = ['site', 'not-found', 'misdirected', 'acme'];

/** One exchange's end, as listeners see it. */
export interface ExchangeEnd {
  readonly exchange: Exchange;
  /** The site it belonged to; undefined when no site claimed it. */
  readonly site: string | undefined;
  readonly answeredBy: AnsweredBy;
  readonly status: number;
  /** Body bytes written to the client (a tunnel's: every byte to the client). */
  readonly bytesSent: number;
  /** A tunnel's bytes from the client; otherwise the request as sent (`requestBytes`). */
  readonly bytesReceived: number;
  /** Whether it was a tunnel (an `upgrade` answer, a WebSocket session). */
  readonly tunnel: boolean;
  /** False when the client left, or the body was cut short. */
  readonly complete: boolean;
  readonly startedAt: number;
  readonly endedAt: number;
}

export type ExchangeListener = (end: ExchangeEnd) => void;

/**
 * Who answers a pipeline's exchanges, and the log they end in: chosen when the pipeline is built,
 * so an exchange in flight across a reload ends in the log of the site it started on.
 */
export interface ExchangeLabel {
  readonly site: string | undefined;
  readonly answeredBy: AnsweredBy;
  /** Where this label's exchanges are logged (a site's access log, the unclaimed hosts), if anywhere. */
  readonly log?: ExchangeListener | undefined;
}

/** How an exchange ended, as the transport tells it (src/server/deliver.ts's Delivered). */
export interface ExchangeOutcome {
  readonly status: number;
  readonly bytesSent: number;
  /** A tunnel's bytes from the client; undefined for an ordinary exchange. */
  readonly bytesReceived?: number;
  readonly complete: boolean;
}

/** A worker's counters of exchanges, as plain JSON. */
export interface ExchangeCounts {
  readonly total: number;
  /** By status class: `1xx` … `5xx` (a tunnel's 101 is `1xx`). */
  readonly byStatus: Readonly<Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>>;
  readonly byAnswer: Readonly<Record<AnsweredBy, number>>;
  readonly tunnels: number;
  /** Exchanges the client left, or whose body was cut short. */
  readonly incomplete: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

/**
 * The one seam every exchange of a worker ends at, whichever transport carried it and whatever
 * answered it (a site, the 404 no site gives, a 421, an ACME challenge, a tunnel, a transport's
 * refusal): the endpoint reports each end once. It counts every one (a few integer additions),
 * and builds an `ExchangeEnd` only when someone listens: the label's log, or a worker-wide
 * listener (metrics). Without either, transports skip timing too (`timed`).
 */
export class ExchangeObserver {
  private readonly listeners: ExchangeListener[] = [];
  private total = 0;
  private readonly statusClasses = [0, 0, 0, 0, 0];
  private readonly answers = [0, 0, 0, 0];
  private tunnels = 0;
  private incomplete = 0;
  private bytesSent = 0;
  private bytesReceived = 0;

  /** Every exchange's end, whatever answered it. */
  listen(listener: ExchangeListener): void {
    this.listeners.push(listener);
  }

  /** Whether an exchange under this label needs its start time: only what listens reads it. */
  timed(label: ExchangeLabel): boolean {
    return label.log !== undefined || this.listeners.length > 0;
  }

  /** An exchange is over; `startedAt` is 0 when it was not `timed`. */
  finished(label: ExchangeLabel, exchange: Exchange, outcome: ExchangeOutcome, startedAt: number): void {
    const tunnel = outcome.bytesReceived !== undefined;
    const received = outcome.bytesReceived ?? requestBytes(exchange);
    this.total += 1;
    const statusClass = (outcome.status / 100) | 0;
    this.statusClasses[statusClass < 1 ? 0 : statusClass > 5 ? 4 : statusClass - 1]! += 1;
    this.answers[ANSWERERS.indexOf(label.answeredBy)]! += 1;
    if (tunnel) this.tunnels += 1;
    if (!outcome.complete) this.incomplete += 1;
    this.bytesSent += outcome.bytesSent;
    this.bytesReceived += received;
    const { log } = label;
    if (log === undefined && this.listeners.length === 0) return;
    const endedAt = Date.now();
    const end: ExchangeEnd = { exchange, site: label.site, answeredBy: label.answeredBy, status: outcome.status, bytesSent: outcome.bytesSent, bytesReceived: received, tunnel, complete: outcome.complete, startedAt: startedAt === 0 ? endedAt : startedAt, endedAt };
    log?.(end);
    for (const listener of this.listeners) listener(end);
  }

  counts(): ExchangeCounts {
    const [s1, s2, s3, s4, s5] = this.statusClasses as [number, number, number, number, number];
    const [site, notFound, misdirected, acme] = this.answers as [number, number, number, number];
    return {
      total: this.total,
      byStatus: { '1xx': s1, '2xx': s2, '3xx': s3, '4xx': s4, '5xx': s5 },
      byAnswer: { site, 'not-found': notFound, misdirected, acme },
      tunnels: this.tunnels,
      incomplete: this.incomplete,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
    };
  }
}

/** The request as sent, uncompressed: request line, header lines, blank line, and the body its Content-Length declares. */
export function requestBytes(exchange: Exchange): number {
  let bytes = exchange.method.length + exchange.target.length + exchange.protocol.length + 4 + 2;
  const { headers } = exchange;
  // for…in: no array of entries per exchange (this runs for every one, logged or not).
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name.charCodeAt(0) === 0x3a) continue;
    if (typeof value === 'string') bytes += name.length + value.length + 4;
    else for (const one of value) bytes += name.length + one.length + 4;
  }
  const declared = Number(exchange.header('content-length') ?? 0);
  // A counter must never turn NaN: a length that is not a number counts nothing.
  return declared > 0 ? bytes + declared : bytes;
}
