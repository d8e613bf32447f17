import type { BlockList } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { ProxyRoute, SitePlan } from '../config/plan.js';
import { describeError } from '../errors.js';
import { errorPage } from '../http/error-page.js';
import type { Exchange } from '../http/exchange.js';
import type { Handler } from '../http/handler.js';
import { NO_BODY, type Response } from '../http/response.js';
import { normalisedPath } from '../http/rules/path-pattern.js';
import type { Logger } from '../log/logger.js';
import { clientAddress, isTrusted } from '../sites/client-address.js';
import { watchClientBody } from './client-body.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.js';
import { type Upstream, UpstreamGroup } from './upstream-group.js';

/** Methods that may be sent twice (RFC 9110 §9.2.2): retried on another upstream when one fails. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Failures before anything was sent: safe to try another upstream whatever the method, if there is no body. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Bodies up to this size, with a Content-Length, are read whole before they are sent. */
const SMALL_BODY_BYTES = 64 * 1024;

export interface ProxyHandler {
  readonly handler: Handler;
  /** Whether this exchange is proxied: then its body streams to the upstream. */
  streamsBody(exchange: Exchange): boolean;
  /** A WebSocket upgrade on a proxied path: tunnelled both ways; false when not ours. */
  tunnel(exchange: Exchange, socket: Duplex, head: Buffer): boolean;
  /** Closes the pools (after their requests in flight) and stops health checks: the site was replaced. */
  close(): void;
}

/**
 * A site's reverse-proxy routes as one handler, after the site rules (so auth, CORS and header
 * rules apply) and before its files: the first route whose path prefix matches sends the request
 * to one of its upstreams, streaming both ways, and answers with the upstream's response; other
 * requests pass on to the files. 502 when no upstream can be reached, 504 when one does not
 * answer in time, each logged with the upstream and the reason.
 */
export async function createProxyHandler(site: SitePlan, log: Logger, trusted: BlockList | undefined): Promise<ProxyHandler | undefined> {
  if (site.proxy.length === 0) return undefined;
  const { Pool } = await import('undici');
  const groups = site.proxy.map((route) => new UpstreamGroup(route, log, Pool));
  const groupOf = (exchange: Exchange): UpstreamGroup | undefined => {
    const path = normalisedPath(exchange);
    return path === undefined ? undefined : groups.find((group) => path.startsWith(group.route.path) || `${path}/` === group.route.path);
  };

  const fail = (exchange: Exchange, route: ProxyRoute, status: 502 | 504, why: string): Response => {
    log.warn(`proxy ${route.path}: ${exchange.method} ${exchange.target}: ${why} (${status})`);
    return errorPage(status, exchange.method === 'HEAD');
  };

  const forward = async (group: UpstreamGroup, exchange: Exchange): Promise<Response> => {
    const { route } = group;
    const tried = new Set<Upstream>();
    let lastFailure = '';
    const peer = exchange.remoteAddress;
    const trustedPeer = trusted !== undefined && peer !== undefined && isTrusted(trusted, peer);
    // Only ip_hash needs the client's address (through trusted proxies): not computed otherwise.
    const client = route.balance === 'ip_hash' ? clientAddress(exchange, trusted) : undefined;
    // Whether a failure is the client's (its body) or the upstream's is told from the body itself.
    const body = exchange.body === undefined ? undefined : watchClientBody(exchange.body);
    for (;;) {
      const upstream = group.pick(client, tried);
      if (upstream === undefined) return fail(exchange, route, 502, tried.size === 0 ? `no upstream is up (${route.to.join(', ')})` : `every upstream failed; the last: ${lastFailure}`);
      tried.add(upstream);
      const started = Date.now();
      upstream.active += 1;
      let counted = true;
      const done = (): void => {
        if (!counted) return;
        counted = false;
        upstream.active -= 1;
      };
      try {
        const headers = upstreamRequestHeaders(exchange, route, { peer, trustedPeer, host: exchange.header('host') ?? exchange.header(':authority'), upstreamHost: upstream.hostPort });
        // undici sends Expect itself or not at all; the client's 100-continue was answered by the transport.
        delete headers.expect;
        // undici takes an AsyncIterable body (its docs/api/Dispatcher.md); its types name Readable only.
        const answer = await upstream.pool.request({ method: exchange.method as 'GET', path: exchange.target, headers, body: (body?.chunks ?? null) as Readable | null });
        exchange.upstream = { address: upstream.hostPort, ms: Date.now() - started };
        const { headers: out, cookies } = clientResponseHeaders(answer.headers, route, exchange, upstream.origin, siteOrigin(exchange));
        const status = answer.statusCode;
        if (exchange.method === 'HEAD' || status === 204 || status === 304) {
          await answer.body.dump().catch(() => undefined);
          done();
          return { status, headers: out, ...(cookies ? { cookies } : {}), body: NO_BODY };
        }
        // A small body of known length is read whole and sent with the head in one write: fewer
        // packets and no stream plumbing for the common API answer. Anything larger, or of unknown
        // length (server-sent events), streams.
        const length = Number(answer.headers['content-length'] ?? Number.NaN);
        if (length <= SMALL_BODY_BYTES) {
          const data = Buffer.from(await answer.body.arrayBuffer());
          done();
          return { status, headers: out, ...(cookies ? { cookies } : {}), body: { kind: 'bytes', data } };
        }
        const stream = answer.body;
        stream.once('close', done);
        return { status, headers: out, ...(cookies ? { cookies } : {}), body: { kind: 'stream', stream }, release: () => stream.destroy() };
      } catch (error) {
        done();
        exchange.upstream = { address: upstream.hostPort, ms: Date.now() - started };
        const code = (error as { code?: string }).code ?? '';
        // The client's body failed (malformed, abandoned, reset) or did not match its Content-Length:
        // that exchange is answered 400 (nothing goes out if the client is gone) and the upstream
        // is not to blame.
        const clientFault = body?.failure ?? (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' ? error : undefined);
        if (clientFault !== undefined) {
          log.info(`proxy ${route.path}: ${exchange.method} ${exchange.target}: the client's request body failed: ${describeError(clientFault)} (400); upstream ${upstream.origin} is not marked down`);
          return errorPage(400, exchange.method === 'HEAD');
        }
        body?.abandon();
        const why = `upstream ${upstream.origin}: ${describeError(error)}${code ? ` (${code})` : ''}`;
        if (code === 'UND_ERR_HEADERS_TIMEOUT') return fail(exchange, route, 504, `${why}: no response within ${route.responseTimeoutMs / 1000} s`);
        group.failed(upstream, error);
        const retry = exchange.body === undefined && (NOT_SENT.has(code) || IDEMPOTENT.has(exchange.method));
        if (!retry) return fail(exchange, route, 502, why);
        lastFailure = why;
        log.info(`proxy ${route.path}: ${exchange.method} ${exchange.target}: ${why}; trying another upstream`);
      }
    }
  };

  const tunnel = (exchange: Exchange, socket: Duplex, head: Buffer): boolean => {
    const group = groupOf(exchange);
    if (group === undefined || (exchange.header('upgrade') ?? '').toLowerCase() !== 'websocket') return false;
    const { route } = group;
    const refuse = (status: string, why: string): void => {
      log.warn(`proxy ${route.path}: WebSocket ${exchange.target}: ${why} (${status.slice(0, 3)})`);
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    const upstream = group.pick(route.balance === 'ip_hash' ? clientAddress(exchange, trusted) : undefined, new Set());
    if (upstream === undefined) {
      refuse('502 Bad Gateway', 'no upstream is up');
      return true;
    }
    const peer = exchange.remoteAddress;
    const headers = upstreamRequestHeaders(exchange, route, { peer, trustedPeer: trusted !== undefined && peer !== undefined && isTrusted(trusted, peer), host: exchange.header('host'), upstreamHost: upstream.hostPort });
    socket.on('error', () => undefined);
    upstream.pool.upgrade({ path: exchange.target, method: 'GET', headers, protocol: 'websocket' }).then(
      ({ headers: answer, socket: upstreamSocket }) => {
        if (socket.destroyed) return void upstreamSocket.destroy();
        const lines = ['HTTP/1.1 101 Switching Protocols'];
        for (const [name, value] of Object.entries(answer)) for (const one of [value ?? []].flat()) lines.push(`${name}: ${one}`);
        socket.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length > 0) upstreamSocket.write(head);
        upstreamSocket.on('error', () => undefined);
        // Either side ending ends the other; silence both ways for `idle` closes both.
        socket.pipe(upstreamSocket);
        upstreamSocket.pipe(socket);
        const close = (): void => {
          socket.destroy();
          upstreamSocket.destroy();
        };
        socket.once('close', close);
        upstreamSocket.once('close', close);
        (socket as Duplex & { setTimeout?: (ms: number, callback: () => void) => void }).setTimeout?.(route.idleTimeoutMs, close);
      },
      (error: unknown) => {
        const code = (error as { code?: string }).code ?? '';
        if (NOT_SENT.has(code)) group.markDown(upstream, describeError(error));
        refuse('502 Bad Gateway', `upstream ${upstream.origin}: ${describeError(error)}`);
      },
    );
    return true;
  };

  return {
    handler: (exchange, next) => {
      const group = groupOf(exchange);
      return group === undefined ? next(exchange) : forward(group, exchange);
    },
    streamsBody: (exchange) => groupOf(exchange) !== undefined,
    tunnel,
    close: () => {
      for (const group of groups) group.close();
    },
  };
}

/** Where the client reached this site: for Location headers that pointed at the upstream. */
function siteOrigin(exchange: Exchange): string {
  return `${exchange.secure ? 'https' : 'http'}://${exchange.header('host') ?? exchange.header(':authority') ?? exchange.host}`;
}
