import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { Pool } from 'undici';
import type { ProxyRoute } from '../config/plan.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/**
 * undici's errors that say nothing of the upstream's health: a request it refused to send, a
 * request body that did not match its Content-Length (the client's), a request aborted on this
 * side, and a response body slower than the timeout (the response was under way: it answered).
 */
const NOT_THE_UPSTREAM = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_ABORTED', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Whether undici failed because the upstream's response was not valid HTTP: a head llhttp cannot
 * parse (or a status under 100, which undici asserts against), a head over undici's size limit,
 * a 101 to a request that did not ask to upgrade, a lone 1xx, framing that does not add up (two
 * Content-Lengths, a list in one, a body shorter than its length). The upstream is up and answering:
 * that one request is a 502, and nothing counts against the upstream (nginx's default, without
 * `invalid_header` in proxy_next_upstream). Some of these a client can provoke (an application that
 * echoes a query into a header), so counting them would let one client take the upstream down.
 */
export function isInvalidResponse(error: unknown): boolean {
  const { name, code, message } = error as { name?: string; code?: string; message?: string };
  if (name === 'HTTPParserError' || code === 'ERR_ASSERTION' || code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return true;
  return code === 'UND_ERR_SOCKET' && (message === 'bad upgrade' || message === 'bad response');
}

/** One upstream: its connection pool (undici, HTTP/1.1 keep-alive) and what is known of its health. */
export interface Upstream {
  /** `http://127.0.0.1:3001`. */
  readonly origin: string;
  /** `127.0.0.1:3001`: for Host when the route says `host: upstream`, and for the log. */
  readonly hostPort: string;
  readonly pool: Pool;
  /** Requests in flight through this worker (least_conn). */
  active: number;
  /** Not tried before this time: it refused, reset or failed its health check. */
  downUntil: number;
  /** The active check's verdict, when there is one. */
  healthy: boolean;
}

/**
 * A route's upstreams and how a request picks one (round_robin, least_conn, first, ip_hash).
 * Passive health: an upstream that refuses or resets is left alone for `downFor`, then tried
 * again. Active health (optional): GET `health.path` on each every `interval`; 2xx and 3xx are up.
 * Each worker keeps its own view, as nginx and Caddy do per process.
 */
export class UpstreamGroup {
  readonly upstreams: readonly Upstream[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly route: ProxyRoute,
    private readonly log: Logger,
    /** undici's Pool, imported only by workers whose sites proxy (it is a large module). */
    PoolClass: typeof Pool,
  ) {
    this.upstreams = route.to.map((origin) => {
      const url = new URL(origin);
      const pool = new PoolClass(origin, {
        connections: 256,
        keepAliveTimeout: 4_000,
        headersTimeout: route.responseTimeoutMs,
        bodyTimeout: route.responseTimeoutMs,
        // An https:// upstream is verified as the name in `to`, not as the Host the client sent
        // (undici's default), which the upstream's certificate need not cover.
        connect: {
          timeout: route.connectTimeoutMs,
          ...(route.ca ? { ca: route.ca } : {}),
          ...(url.protocol === 'https:' ? { ...(isIP(url.hostname) === 0 ? { servername: url.hostname } : {}), checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(url.hostname.replace(/^\[|\]$/g, ''), cert) } : {}),
        },
      });
      return { origin, hostPort: url.host, pool, active: 0, downUntil: 0, healthy: true };
    });
    if (route.health) {
      this.timer = setInterval(() => void this.check(), route.health.intervalMs);
      this.timer.unref();
      void this.check();
    }
  }

  /** The upstream for a request, skipping those tried already and those down; undefined when none is up. */
  pick(clientAddress: string | undefined, tried: ReadonlySet<Upstream>): Upstream | undefined {
    const now = Date.now();
    const up = this.upstreams.filter((upstream) => !tried.has(upstream) && upstream.healthy && upstream.downUntil <= now);
    if (up.length === 0) return undefined;
    switch (this.route.balance) {
      case 'first':
        return up[0];
      case 'least_conn':
        return up.reduce((best, upstream) => (upstream.active < best.active ? upstream : best));
      case 'ip_hash': {
        // Over every upstream, so a client keeps its upstream while the set is up; the next one up if not.
        const start = createHash('sha1').update(clientAddress ?? '').digest().readUInt32BE(0) % this.upstreams.length;
        for (let i = 0; i < this.upstreams.length; i += 1) {
          const candidate = this.upstreams[(start + i) % this.upstreams.length]!;
          if (up.includes(candidate)) return candidate;
        }
        return up[0];
      }
      default: {
        const chosen = up[this.next % up.length]!;
        this.next = (this.next + 1) % 1_000_000;
        return chosen;
      }
    }
  }

  /**
   * Passive health after a request through `upstream` failed: the upstream's own failures
   * (refused, timed out connecting, reset or closed while it owed a response) mark it down;
   * errors that are not its doing do not. A failure of the client's body is told apart before
   * this is called (client-body.ts) and never reaches it.
   */
  failed(upstream: Upstream, error: unknown): void {
    if (!NOT_THE_UPSTREAM.has((error as { code?: string }).code ?? '')) this.markDown(upstream, describeError(error));
  }

  /** Passive health: it refused or reset; tried again after `downFor`. */
  markDown(upstream: Upstream, why: string): void {
    if (upstream.downUntil > Date.now()) return;
    upstream.downUntil = Date.now() + this.route.downForMs;
    this.log.warn(`proxy ${this.route.path}: upstream ${upstream.origin} is down for ${this.route.downForMs / 1000} s: ${why}`);
  }

  close(): void {
    clearInterval(this.timer);
    for (const upstream of this.upstreams) void upstream.pool.close().catch(() => undefined);
  }

  private async check(): Promise<void> {
    const health = this.route.health!;
    await Promise.all(
      this.upstreams.map(async (upstream) => {
        let healthy: boolean;
        let why = '';
        try {
          const answer = await upstream.pool.request({ method: 'GET', path: health.path, headers: { host: upstream.hostPort, 'user-agent': 'portico-health-check' }, headersTimeout: Math.min(health.intervalMs, this.route.responseTimeoutMs) });
          await answer.body.dump();
          healthy = answer.statusCode >= 200 && answer.statusCode < 400;
          why = `${health.path} answered ${answer.statusCode}`;
        } catch (error) {
          healthy = false;
          why = describeError(error);
        }
        if (healthy !== upstream.healthy) this.log[healthy ? 'info' : 'warn'](`proxy ${this.route.path}: upstream ${upstream.origin} is ${healthy ? 'up again' : `down: ${why}`} (health check)`);
        upstream.healthy = healthy;
        if (healthy) upstream.downUntil = 0;
      }),
    );
  }
}
