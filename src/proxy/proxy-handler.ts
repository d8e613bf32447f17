import type { BlockList } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { ProxyRoute } from '../config/plan.js';
import type { CompiledKind } from '../routes/kind.js';
import { describeError } from '../errors.js';
import { errorPage } from '../http/error-page.js';
import { clientGone, type Exchange } from '../http/exchange.js';
import { ANSWERING_UPSTREAM } from '../http/request-state.js';
import { NO_BODY, type Response, type Traffic } from '../http/response.js';
import { loggedTarget } from '../log/logged-target.js';
import type { Logger } from '../log/logger.js';
import { clientAddress, isTrusted } from '../http/client-address.js';
import { watchClientBody } from './client-body.js';
import { clientResponseHeaders, type ForwardFacts, MAX_PORTICO_HOPS, porticoHops, upstreamRequestHeaders } from './forward-headers.js';
import { isInvalidResponse, type Upstream, UpstreamGroup } from './upstream-group.js';

/** Methods that may be sent twice (RFC 9110 §9.2.2): retried on another upstream when one fails. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Failures before anything was sent: safe to try another upstream whatever the method, if there is no body. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** How long a tunnel one side has ended waits for the other side to end too. */
const TUNNEL_LINGER_MS = 5_000;

/** Bodies up to this size, with a Content-Length, are read whole before they are sent. */
const SMALL_BODY_BYTES = 64 * 1024;

/**
 * One reverse-proxy route's handler (a route of the `proxy` kind), after the site rules (so
 * auth, CORS and header rules apply): it sends the request to one of its upstreams, streaming
 * both ways, and answers with the upstream's response. 502 when no upstream can be reached, 504
 * when one does not answer in time, each logged with the upstream and the reason. The route's
 * matcher decided it is this handler's; it always answers.
 */
export async function createProxyRoute(route: ProxyRoute, log: Logger, trusted: BlockList | undefined): Promise<CompiledKind> {
  const { Pool } = await import('undici');
  const group = new UpstreamGroup(route, log, Pool);

  /** What the forwarding fields are made from: the TCP peer, whether it is a trusted proxy, the authority routed by. */
  const forwardFacts = (exchange: Exchange, upstream: Upstream): ForwardFacts => {
    const peer = exchange.remoteAddress;
    return { peer, trustedPeer: trusted !== undefined && peer !== undefined && isTrusted(trusted, peer), host: exchange.authority || undefined, upstreamHost: upstream.hostPort };
  };

  const fail = (exchange: Exchange, route: ProxyRoute, status: 502 | 504, why: string): Response => {
    log.warn(`proxy ${route.path}: ${exchange.method} ${loggedTarget(exchange.target)}: ${why} (${status})`);
    return errorPage(status, exchange.method === 'HEAD');
  };

  const forward = async (group: UpstreamGroup, exchange: Exchange): Promise<Response> => {
    const { route } = group;
    const tried = new Set<Upstream>();
    let lastFailure = '';
    // Only ip_hash needs the client's address (through trusted proxies): not computed otherwise.
    const client = route.balance === 'ip_hash' ? clientAddress(exchange, trusted) : undefined;
    // Whether a failure is the client's (its body) or the upstream's is told from the body itself.
    const body = exchange.body === undefined ? undefined : watchClientBody(exchange.body);
    // A client that leaves unanswered cancels its upstream request (nginx does the same), so a
    // burst of abandoned requests to a slow path does not hold the upstream's pool for the
    // response timeout.
    const signal = clientGone(exchange);
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
        const headers = upstreamRequestHeaders(exchange, route, forwardFacts(exchange, upstream));
        // undici sends Expect itself or not at all; the client's 100-continue was answered by the transport.
        delete headers.expect;
        // undici takes an AsyncIterable body (its docs/api/Dispatcher.md); its types name Readable only.
        const answer = await upstream.pool.request({ method: exchange.method as 'GET', path: exchange.target, headers, body: (body?.chunks ?? null) as Readable | null, ...(signal ? { signal } : {}) });
        exchange.state.set(ANSWERING_UPSTREAM, { address: upstream.hostPort, ms: Date.now() - started });
        const { headers: out, cookies } = clientResponseHeaders(answer.headers, route, exchange, upstream.origin, siteOrigin(exchange));
        const status = answer.statusCode;
        // RFC 9110 §15: a final status is three digits from 200 to 599 (undici has handled 1xx).
        // Anything else is an invalid response, which a gateway answers with 502 (§15.6.3).
        if (status < 200 || status > 599) {
          await answer.body.dump().catch(() => undefined);
          done();
          return fail(exchange, route, 502, `upstream ${upstream.origin} answered with the invalid status ${status}`);
        }
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
          let data: Buffer;
          try {
            data = Buffer.from(await answer.body.arrayBuffer());
          } catch (error) {
            // The head came, the body was cut short: that request is a 502, but the upstream was up
            // and answering, so nothing counts against it and nothing is retried (nginx's rule too).
            done();
            return fail(exchange, route, 502, `upstream ${upstream.origin} cut its response body short: ${describeError(error)}`);
          }
          done();
          return { status, headers: out, ...(cookies ? { cookies } : {}), body: { kind: 'bytes', data } };
        }
        const stream = answer.body;
        // Destroyed when the client leaves (release): undici then errors it, with nobody to tell.
        // An error before that is the upstream's (a reset, a body that stopped past the timeout):
        // the head is out, so the client sees its response cut, and the log says why.
        let released = false;
        stream.on('error', (error) => {
          if (released) return;
          log.warn(`proxy ${route.path}: ${exchange.method} ${loggedTarget(exchange.target)}: upstream ${upstream.origin} cut its response body after the head (${status}) was sent: ${describeError(error)}; the client's response is cut`);
        });
        stream.once('close', done);
        const release = (): void => {
          released = true;
          stream.destroy();
        };
        return { status, headers: out, ...(cookies ? { cookies } : {}), body: { kind: 'stream', stream }, release };
      } catch (error) {
        done();
        exchange.state.set(ANSWERING_UPSTREAM, { address: upstream.hostPort, ms: Date.now() - started });
        const code = (error as { code?: string }).code ?? '';
        // The client's body failed (malformed, abandoned, reset) or did not match its Content-Length:
        // that exchange is answered 400 (nothing goes out if the client is gone) and the upstream
        // is not to blame.
        // A client that leaves with its body unsent (its FIN came first) spoilt its body too.
        const clientFault = body?.failure ?? (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' ? error : undefined) ?? (signal?.aborted && body !== undefined ? (signal.reason ?? new Error('the client went away')) : undefined);
        if ((clientFault as { code?: string } | undefined)?.code === 'ERR_CLIENT_BODY_TIMEOUT') {
          log.info(`proxy ${route.path}: ${exchange.method} ${loggedTarget(exchange.target)}: ${describeError(clientFault)} (408); upstream ${upstream.origin} is not marked down`);
          return errorPage(408, exchange.method === 'HEAD');
        }
        if (clientFault !== undefined) {
          log.info(`proxy ${route.path}: ${exchange.method} ${loggedTarget(exchange.target)}: the client's request body failed: ${describeError(clientFault)} (400); upstream ${upstream.origin} is not marked down`);
          return errorPage(400, exchange.method === 'HEAD');
        }
        body?.abandon();
        if (signal?.aborted) {
          log.debug(`proxy ${route.path}: ${exchange.method} ${loggedTarget(exchange.target)}: the client went away before upstream ${upstream.origin} answered; its request was cancelled`);
          return errorPage(502, exchange.method === 'HEAD');
        }
        const why = `upstream ${upstream.origin}: ${describeError(error)}${code ? ` (${code})` : ''}`;
        if (code === 'UND_ERR_HEADERS_TIMEOUT') return fail(exchange, route, 504, `${why}: no response within ${route.responseTimeoutMs / 1000} s`);
        if (isInvalidResponse(error)) return fail(exchange, route, 502, `upstream ${upstream.origin} sent an invalid response (${describeError(error)})`);
        group.failed(upstream, error);
        const retry = exchange.body === undefined && (NOT_SENT.has(code) || IDEMPOTENT.has(exchange.method));
        if (!retry) return fail(exchange, route, 502, why);
        lastFailure = why;
        log.info(`proxy ${route.path}: ${exchange.method} ${loggedTarget(exchange.target)}: ${why}; trying another upstream`);
      }
    }
  };

  /**
   * A WebSocket upgrade on a proxied path, once every rule before this handler let it through:
   * the upstream is asked first, and only its 101 becomes an `upgrade` answer, whose tunnel the
   * transport starts once the head is out. An upstream that refuses or cannot be reached is 502.
   */
  const upgrade = async (group: UpstreamGroup, exchange: Exchange): Promise<Response> => {
    const { route } = group;
    const upstream = group.pick(route.balance === 'ip_hash' ? clientAddress(exchange, trusted) : undefined, new Set());
    if (upstream === undefined) return fail(exchange, route, 502, `WebSocket: no upstream is up (${route.to.join(', ')})`);
    const headers = upstreamRequestHeaders(exchange, route, forwardFacts(exchange, upstream));
    const started = Date.now();
    let answer: Awaited<ReturnType<typeof upstream.pool.upgrade>>;
    try {
      const signal = clientGone(exchange);
      answer = await upstream.pool.upgrade({ path: exchange.target, method: 'GET', headers, protocol: 'websocket', ...(signal ? { signal } : {}) });
    } catch (error) {
      exchange.state.set(ANSWERING_UPSTREAM, { address: upstream.hostPort, ms: Date.now() - started });
      const code = (error as { code?: string }).code ?? '';
      if (NOT_SENT.has(code)) group.markDown(upstream, describeError(error));
      // No head within the response timeout is a gateway timeout, for an upgrade as for a request.
      if (code === 'UND_ERR_HEADERS_TIMEOUT') return fail(exchange, route, 504, `WebSocket: upstream ${upstream.origin}: ${describeError(error)}: no response within ${route.responseTimeoutMs / 1000} s`);
      return fail(exchange, route, 502, `WebSocket: upstream ${upstream.origin}: ${describeError(error)}`);
    }
    exchange.state.set(ANSWERING_UPSTREAM, { address: upstream.hostPort, ms: Date.now() - started });
    const { socket: upstreamSocket } = answer;
    upstreamSocket.on('error', () => undefined);
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) out[name] = [value].flat().join(', ');
    return { status: 101, headers: out, body: { kind: 'upgrade', take: (socket, head) => tunnel(socket, head, upstreamSocket, route.idleTimeoutMs) }, release: () => upstreamSocket.destroy() };
  };

  return {
    handler: (exchange) => {
      const hops = porticoHops(exchange);
      if (hops >= MAX_PORTICO_HOPS) {
        log.warn(`proxy ${route.path}: ${exchange.method} ${loggedTarget(exchange.target)}: the request has passed through Portico ${hops} times already (its CDN-Loop field): a proxy loop, such as an upstream that is this server; check the route's \`to\` (508)`);
        return errorPage(508, exchange.method === 'HEAD');
      }
      return exchange.upgrade === 'websocket' ? upgrade(group, exchange) : forward(group, exchange);
    },
    readsBody: () => true,
    close: () => group.close(),
  };
}

/** Where the client reached this site: for Location headers that pointed at the upstream. */
function siteOrigin(exchange: Exchange): string {
  return `${exchange.secure ? 'https' : 'http'}://${exchange.authority || exchange.host}`;
}

/**
 * Carries bytes both ways between the client's socket and the upstream's until either side closes
 * (or ends, and the other does not follow within a linger) or both are silent for `idleMs`;
 * resolves with the bytes carried each way (the access log's).
 */
function tunnel(socket: Duplex, head: Buffer, upstreamSocket: Duplex, idleMs: number): Promise<Traffic> {
  return new Promise((resolve) => {
    let sent = 0;
    let received = head.length;
    if (head.length > 0) upstreamSocket.write(head);
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    upstreamSocket.on('data', (chunk: Buffer) => (sent += chunk.length));
    socket.pipe(upstreamSocket);
    upstreamSocket.pipe(socket);
    const close = (): void => {
      socket.destroy();
      upstreamSocket.destroy();
      resolve({ sent, received });
    };
    socket.once('close', close);
    upstreamSocket.once('close', close);
    // One side's FIN is passed on (pipe ends the other); a WebSocket peer answers it by closing,
    // and one that does not is cut after a short linger, so a half-closed tunnel holds nothing.
    const linger = (): void => void setTimeout(close, TUNNEL_LINGER_MS).unref();
    socket.once('end', linger);
    upstreamSocket.once('end', linger);
    (socket as Duplex & { setTimeout?: (ms: number, callback: () => void) => void }).setTimeout?.(idleMs, close);
  });
}
