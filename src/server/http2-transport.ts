import { constants, createServer, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Limits } from '../config/plan.js';
import { describeError } from '../errors.js';
import { errorPage } from '../http/error-page.js';
import { type ConnectionFacts, connectionFacts, type Exchange, headerGetter, splitTarget } from '../http/exchange.js';
import { RequestState } from '../http/request-state.js';
import { parseHost, type RequestHost } from '../http/host.js';
import type { Response } from '../http/response.js';
import { clientWentAway } from '../log/client-gone.js';
import type { Logger } from '../log/logger.js';
import { OnceAMinute } from '../log/once-a-minute.js';
import type { BodyPolicy, Dispatch, ResponseWriter } from './dispatch.js';
import { requestBody } from './request-body.js';
import { lingerAfterEnd } from './linger.js';

const { HTTP2_HEADER_STATUS, NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_FLAG_END_STREAM } = constants;
const RESET_WINDOW_MS = 10_000;

interface SessionState {
  readonly facts: ConnectionFacts;
  streams: number;
  resets: number;
  resetWindowStart: number;
}

/**
 * HTTP/2 for the TLS bindings of a worker, on the core stream API for every stream: a TLS socket
 * that negotiated `h2` is handed to a session, and each stream becomes an Exchange. No
 * compatibility layer: the response goes out with `respond()` and the stream itself. A client
 * that resets streams faster than any browser does (rapid reset) gets GOAWAY ENHANCE_YOUR_CALM
 * and its connection is destroyed at once.
 */
export class Http2Transport implements ResponseWriter<ServerHttp2Stream> {
  private readonly server: Http2Server;
  private readonly sessions = new Map<Http2Session, SessionState>();
  /** Protocol errors, a WARN line per address per minute. */
  private readonly warnings: OnceAMinute;
  /** A stream's session: Node forgets it once the stream is destroyed, which a reset does. */
  private readonly sessionOf = new WeakMap<ServerHttp2Stream, Http2Session>();

  constructor(
    private readonly limits: Limits,
    dispatch: Dispatch,
    private readonly log: Logger,
    private readonly policy: BodyPolicy,
  ) {
    this.warnings = new OnceAMinute(log);
    this.server = createServer({
      maxHeaderListPairs: 128,
      settings: { maxConcurrentStreams: limits.maxHttp2Streams, maxHeaderListSize: limits.maxHeaderBytes },
    });
    this.server.setTimeout(limits.http2IdleTimeoutMs);
    this.server.on('session', (session: Http2Session) => {
      this.sessions.set(session, { facts: connectionFacts(session.socket as TLSSocket), streams: 0, resets: 0, resetWindowStart: Date.now() });
      session.once('close', () => this.sessions.delete(session));
      // A client that opens a session and asks for nothing within the header timeout is told to
      // go away (GOAWAY), as HTTP/1.1 answers 408: otherwise only the idle timeout (120 s) would
      // free a connection that never sends a request (nginx uses client_header_timeout here too).
      const firstRequest = setTimeout(() => session.close(), this.limits.headerTimeoutMs);
      firstRequest.unref();
      session.once('stream', () => clearTimeout(firstRequest));
      session.once('close', () => clearTimeout(firstRequest));
      session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => this.onStream(session, stream, headers, flags, dispatch));
      // A session that failed (a protocol error, a flood nghttp2 refused) is over: close its
      // socket now rather than when the idle timeout notices.
      session.on('error', (error) => {
        // nghttp2 refused the client (newer Node versions cut a reset flood off here themselves,
        // before any stream reaches Portico): worth a WARN, once a minute per address.
        const address = this.sessions.get(session)?.facts.remoteAddress ?? session.socket?.remoteAddress ?? 'a client';
        // A client hanging up mid-response (its connection reset, a GOAWAY CANCEL) is an ordinary end, not a protocol error.
        if (clientWentAway(error)) this.log.debug(`HTTP/2 client ${address} went away (${describeError(error)})`);
        else this.warnings.warn(address, `HTTP/2 client ${address} broke the protocol (nghttp2: ${describeError(error)}); its connection was closed`);
        session.destroy();
      });
    });
  }

  private onStream(session: Http2Session, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, dispatch: Dispatch): void {
    // A stream error (the client reset it) must end here, not reach the process.
    stream.on('error', () => undefined);
    // Reset in the same read as its HEADERS: Node hands it over already destroyed. Nothing is
    // answered or opened for it; it only counts toward the rapid-reset limit.
    if (stream.destroyed) return this.countReset(session);
    const state = this.sessions.get(session);
    if (state && ++state.streams === this.limits.maxRequestsPerConnection) session.close();
    this.sessionOf.set(stream, session);
    const method = headers[':method'] ?? 'GET';
    const target = headers[':path'];
    const { path, query } = splitTarget(typeof target === 'string' ? target : '/');
    const authority = headers[':authority'] ?? headers.host;
    const host = authority === undefined ? undefined : parseHost(authority);
    const facts = state?.facts ?? connectionFacts(session.socket as TLSSocket);
    const exchange: Exchange = { method, target: target ?? '', path, query, protocol: 'HTTP/2', ...facts, state: new RequestState(), host: host?.name ?? '', authority: authority ?? '', headers, header: headerGetter(headers), reply: stream };
    const invalid = typeof target !== 'string' || (authority !== undefined && host === undefined) || (host !== undefined && !sameEntity(host, headers.host));
    if (invalid) return dispatch(exchange, stream, this, errorPage(400, method === 'HEAD'));
    // A handler that streams the body on (the proxy) gets it as it arrives, without a limit of ours.
    if ((flags & NGHTTP2_FLAG_END_STREAM) === 0 && this.policy.streamsBody(exchange)) return dispatch({ ...exchange, body: requestBody(stream, this.limits.bodyTimeoutMs, () => closeOnceAnswered(stream)) }, stream, this, undefined);
    if (Number(headers['content-length'] ?? 0) > this.limits.maxBodyBytes) return dispatch(exchange, stream, this, this.bodyTooLarge(exchange));
    if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) return dispatch(exchange, stream, this, undefined);
    this.afterBody(stream, exchange, (answer) => dispatch(exchange, stream, this, answer));
  }

  /**
   * A request with a body is answered once the body has arrived: no handler reads bodies yet, so
   * it is read and dropped (within the body limit, and the header timeout), and the answer goes
   * to a whole request. Answering first would close the stream under the client, and then
   * nghttp2 would ignore what is wrong in the rest (trailers with pseudo-headers, a body longer
   * than its Content-Length) instead of refusing it. A stream the client resets is never answered.
   */
  private afterBody(stream: ServerHttp2Stream, exchange: Exchange, answer: (response: Response | undefined) => void): void {
    let received = 0;
    let settled = false;
    const settle = (response: Response | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!stream.destroyed && !stream.closed) answer(response);
    };
    const timer = setTimeout(() => settle(errorPage(408, exchange.method === 'HEAD')), this.limits.headerTimeoutMs);
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // Once: a body goes on arriving after its 413, and each DATA frame would log again.
      if (received > this.limits.maxBodyBytes && !settled) settle(this.bodyTooLarge(exchange));
    });
    stream.once('end', () => settle(undefined));
    stream.once('close', () => {
      settled = true;
      clearTimeout(timer);
    });
  }

  private bodyTooLarge(exchange: Exchange): Response {
    this.log.warn(`refused a request body over ${this.limits.maxBodyBytes} bytes from ${exchange.remoteAddress} with 413 (HTTP/2)`);
    return errorPage(413, exchange.method === 'HEAD');
  }

  /** A session that closes ends its socket; the socket is then released within the linger bound, whatever the peer does. */
  accept(socket: Duplex): void {
    lingerAfterEnd(socket);
    this.server.emit('connection', socket);
  }

  writeHead(stream: ServerHttp2Stream, response: Response, endStream: boolean): void {
    if (stream.destroyed || stream.closed) return;
    // A stream whose client stops reading holds a file open: cut it after the send timeout.
    if (response.body.kind === 'segments' || response.body.kind === 'stream') stream.setTimeout(this.limits.sendTimeoutMs, () => stream.close(NGHTTP2_CANCEL));
    stream.respond({ [HTTP2_HEADER_STATUS]: response.status, ...response.headers, ...(response.cookies ? { 'set-cookie': [...response.cookies] } : {}) }, { endStream });
  }

  /** A stream the client reset reports itself finished; its reset code says otherwise. */
  completed(stream: ServerHttp2Stream): boolean {
    return stream.writableFinished && !stream.rstCode;
  }

  /** An exchange the client abandoned (it reset the stream) counts toward the rapid-reset limit. */
  ended(stream: ServerHttp2Stream, complete: boolean): void {
    if (complete) return;
    const session = this.sessionOf.get(stream);
    if (session) this.countReset(session);
  }

  private countReset(session: Http2Session): void {
    const state = this.sessions.get(session);
    if (!state) return;
    const now = Date.now();
    if (now - state.resetWindowStart > RESET_WINDOW_MS) {
      state.resetWindowStart = now;
      state.resets = 0;
    }
    if (++state.resets <= this.limits.maxHttp2ResetsPer10s) return;
    this.log.warn(`HTTP/2 client ${session.socket?.remoteAddress} reset more than ${this.limits.maxHttp2ResetsPer10s} streams in ${RESET_WINDOW_MS / 1000} s (rapid reset): sent GOAWAY ENHANCE_YOUR_CALM and closed the connection`);
    this.sessions.delete(session);
    session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
  }

  /** Asks every client to go away once its open streams are done (GOAWAY). */
  stop(): void {
    for (const session of this.sessions.keys()) session.close();
  }
}

/**
 * RFC 9113 §8.3.1: a `host` field beside `:authority` must name the same entity (name and port,
 * a missing port being HTTPS's 443), or the request is malformed (400, as nginx answers): the
 * upstream of a proxied route must never be told a host Portico did not route by.
 */
function sameEntity(authority: RequestHost, host: string | string[] | undefined): boolean {
  if (host === undefined) return true;
  const other = typeof host === 'string' ? parseHost(host) : undefined;
  return other !== undefined && other.name === authority.name && (other.port ?? 443) === (authority.port ?? 443);
}

/**
 * A stream whose body timed out gets its 408 and then RST_STREAM NO_ERROR (RFC 9113 §8.1: a
 * server that answered before the whole request asks the client to stop sending). Node does this
 * itself only for a stream whose body nobody read; left open, the client could go on filling a
 * body nobody reads until the connection's idle timeout.
 */
function closeOnceAnswered(stream: ServerHttp2Stream): void {
  const close = (): void => {
    if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
  };
  if (stream.writableFinished) return void setImmediate(close);
  stream.once('finish', () => setImmediate(close));
}
