import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext } from 'node:tls';
import type { ServeConfig } from '../config/serve-config.js';
import { describeError, PorticoError, systemErrorCode } from '../errors.js';
import { sendError } from '../http/error-page.js';
import { headerValue, type PreparedResponse, type RequestHandler, type SiteHandler } from '../http/response.js';
import type { Logger } from '../log/logger.js';
import type { TlsBundle } from '../tls/bundle.js';
import { HandshakeGate } from './handshake-gate.js';

export type ListenerName = 'http' | 'https';

type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

export interface OpenListener {
  readonly name: ListenerName;
  readonly port: number;
}

/** The listeners of one worker: plain HTTP, and HTTPS (HTTP/2 with HTTP/1.1 fallback). */
export class Listeners {
  private readonly listening: NetServer[] = [];
  private readonly sessions = new Set<Http2Session>();
  private readonly gate: HandshakeGate;
  private readonly secure: Http2SecureServer;
  private readonly plain: HttpServer;
  private ticketKeys: Buffer | undefined;

  constructor(
    private readonly config: ServeConfig,
    private readonly site: SiteHandler,
    private readonly track: (exchange: EventEmitter) => void,
    private readonly log: Logger,
    onExpired: (bundle: TlsBundle) => void,
  ) {
    const limited: RequestHandler = (req, res) => {
      track(res);
      if ((req.url?.length ?? 0) > MAX_REQUEST_TARGET_BYTES) return sendError(res, 414, req.method === 'HEAD');
      site.handle(req, res);
    };
    this.plain = createHttpServer({ ...httpLimits(config), maxHeaderSize: MAX_HEADER_BYTES }, limited);
    this.plain.on('clientError', (error, socket) => rejectBadRequest(error, socket));
    this.secure = createSecureServer(
      {
        allowHTTP1: true,
        minVersion: 'TLSv1.2',
        handshakeTimeout: config.headerTimeoutMs,
        maxHeaderListPairs: 128,
        settings: { maxConcurrentStreams: MAX_HTTP2_STREAMS, maxHeaderListSize: MAX_HEADER_BYTES },
      },
      limited,
    );
    this.answerCacheHitsOnStreams();
    // HTTP/1.1 over TLS is served by this same server: give it the plain listener's limits.
    Object.assign(this.secure, httpLimits(config));
    this.secure.setTimeout(HTTP2_IDLE_TIMEOUT_MS);
    this.secure.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    this.secure.on('tlsClientError', (error) => log.debug(`TLS handshake failed: ${describeError(error)}`));
    this.secure.on('sessionError', (error) => log.debug(`HTTP/2 session error: ${describeError(error)}`));
    this.secure.on('clientError', (error, socket) => rejectBadRequest(error, socket));
    this.gate = new HandshakeGate((socket) => this.secure.emit('connection', socket), config.handshakeHoldMs, log, onExpired);
  }

  /**
   * HTTP/2 cache hits are answered with the core stream API (respond + end), skipping the
   * compatibility layer's request and response objects; every other stream goes to Node's own
   * compatibility listener, unchanged, and from there to the full handler.
   */
  private answerCacheHitsOnStreams(): void {
    const [compatibility] = this.secure.listeners('stream') as StreamListener[];
    if (compatibility === undefined) return;
    this.secure.removeListener('stream', compatibility);
    this.secure.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      if (!this.respondOnStream(stream, headers)) compatibility.call(this.secure, stream, headers, flags, rawHeaders);
    });
  }

  private respondOnStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    const path = headers[':path'];
    if (typeof path !== 'string' || path.length > MAX_REQUEST_TARGET_BYTES) return false;
    let prepared: PreparedResponse | undefined;
    try {
      prepared = this.site.respondFast(String(headers[':method']), path, (name) => headerValue(headers, name));
    } catch {
      return false;
    }
    if (prepared === undefined) return false;
    // A stream error (the client reset it) must end here, not reach the process.
    stream.on('error', () => undefined);
    this.track(stream);
    stream.respond({ ':status': prepared.status, ...prepared.headers }, { endStream: prepared.body === undefined });
    if (prepared.body !== undefined) stream.end(prepared.body);
    return true;
  }

  async open(): Promise<OpenListener[]> {
    const opened: OpenListener[] = [];
    if (this.config.httpPort !== 0) {
      await this.listen(this.plain, 'http', this.config.httpPort);
      opened.push({ name: 'http', port: this.config.httpPort });
    }
    if (this.config.httpsPort !== 0) {
      // pauseOnConnect: a held connection's ClientHello stays unread until TLS takes the socket.
      const tcp = createNetServer({ pauseOnConnect: true }, (socket) => this.gate.admit(socket));
      await this.listen(tcp, 'https', this.config.httpsPort);
      // The secure server never listens itself (the gate hands it connections), but Node starts
      // its HTTP/1.1 header-timeout checks on 'listening': without this, slowloris over TLS.
      this.secure.emit('listening');
      opened.push({ name: 'https', port: this.config.httpsPort });
    }
    return opened;
  }

  /**
   * Serves a new bundle. The context is built first, so a bundle that does not work is refused
   * here and the old one stays; then it replaces the old context in one step: a handshake gets
   * the old certificate or the new one, never none (caddy#5589).
   */
  publish(bundle: TlsBundle): void {
    const options = { key: bundle.keyPem, cert: bundle.certPem };
    try {
      createSecureContext(options);
    } catch (error) {
      this.log.error(`refused certificate ${bundle.serialNumber}: ${describeError(error)}`);
      return;
    }
    this.secure.setSecureContext(options);
    // A new context starts with keys of its own: give it the shared ones before any handshake.
    if (this.ticketKeys) this.secure.setTicketKeys(this.ticketKeys);
    this.gate.publish(bundle);
  }

  /** Uses the primary's session-ticket key, so sessions resume across workers. */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    this.secure.setTicketKeys(keys);
  }

  /** Stops accepting connections and asks HTTP/2 clients to go away after their streams. */
  stopAccepting(): void {
    for (const server of this.listening) server.close();
    this.gate.close();
    this.plain.close();
    this.plain.closeIdleConnections();
    for (const session of this.sessions) session.close();
  }

  private listen(server: NetServer, name: ListenerName, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(listenError(name, port, error));
      server.once('error', onError);
      server.listen({ port, host: this.config.bindAddress }, () => {
        server.off('error', onError);
        server.on('error', (error) => this.log.error(`${name} listener: ${describeError(error)}`));
        this.listening.push(server);
        resolve();
      });
    });
  }
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_REQUEST_TARGET_BYTES = 8 * 1024;
const MAX_HTTP2_STREAMS = 100;
const HTTP2_IDLE_TIMEOUT_MS = 120_000;

function httpLimits(config: ServeConfig) {
  return {
    headersTimeout: config.headerTimeoutMs,
    requestTimeout: Math.max(config.headerTimeoutMs, 60_000),
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // How often Node checks header and request timeouts: the cut-off is at most this late.
    connectionsCheckingInterval: Math.min(1_000, config.headerTimeoutMs),
  };
}

export function listenError(name: ListenerName, port: number, error: unknown): PorticoError {
  const code = systemErrorCode(error);
  if (code === 'EADDRINUSE') {
    return new PorticoError('ERR_PORT_IN_USE', `port ${port} (--${name}) is already in use: stop the program using it or choose another port with --${name}`, { cause: error });
  }
  if (code === 'EACCES') {
    return new PorticoError('ERR_PORT_ACCESS', `port ${port} (--${name}) was refused by the operating system: ports below 1024 need privileges; choose a port above 1023`, { cause: error });
  }
  return new PorticoError('ERR_LISTEN_FAILED', `could not listen on port ${port} (--${name}): ${describeError(error)}`, { cause: error });
}

/**
 * Answers what Node's HTTP/1.1 parser refused. A header overflow whose first line is longer
 * than the request-target limit is a request line that is too long (414); otherwise the
 * header fields are (431).
 */
function rejectBadRequest(error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const firstLineEnd = error.rawPacket?.indexOf('\r\n') ?? -1;
  const firstLineLength = firstLineEnd === -1 ? (error.rawPacket?.length ?? 0) : firstLineEnd;
  const longLine = error.code === 'HPE_HEADER_OVERFLOW' && firstLineLength > MAX_REQUEST_TARGET_BYTES;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? (longLine ? '414 URI Too Long' : '431 Request Header Fields Too Large') : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}
