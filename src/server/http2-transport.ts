import { constants, createServer, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Limits } from '../config/plan.js';
import { describeError } from '../errors.js';
import { errorPage } from '../http/error-page.js';
import { type Exchange, headerGetter, splitTarget } from '../http/exchange.js';
import type { Logger } from '../log/logger.js';
import type { Response } from '../http/response.js';
import type { Dispatch, ResponseWriter } from './dispatch.js';

const { HTTP2_HEADER_STATUS } = constants;

/**
 * HTTP/2 for the TLS bindings of a worker, on the core stream API for every stream: a TLS socket
 * that negotiated `h2` is handed to a session, and each stream becomes an Exchange. No
 * compatibility layer: the response goes out with `respond()` and the stream itself.
 */
export class Http2Transport implements ResponseWriter<ServerHttp2Stream> {
  private readonly server: Http2Server;
  private readonly sessions = new Set<Http2Session>();

  constructor(limits: Limits, dispatch: Dispatch, log: Logger) {
    this.server = createServer({
      maxHeaderListPairs: 128,
      settings: { maxConcurrentStreams: limits.maxHttp2Streams, maxHeaderListSize: limits.maxHeaderBytes },
    });
    this.server.setTimeout(limits.http2IdleTimeoutMs);
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    this.server.on('sessionError', (error) => log.debug(`HTTP/2 session error: ${describeError(error)}`));
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      // A stream error (the client reset it) must end here, not reach the process.
      stream.on('error', () => undefined);
      const method = headers[':method'] ?? 'GET';
      const target = headers[':path'];
      if (typeof target !== 'string') return this.writeHead(stream, errorPage(400, method === 'HEAD'), true);
      const { path, query } = splitTarget(target);
      const exchange: Exchange = { method, target, path, query, protocol: 'HTTP/2', remoteAddress: stream.session?.socket?.remoteAddress, header: headerGetter(headers) };
      dispatch(exchange, stream, this);
    });
  }

  writeHead(stream: ServerHttp2Stream, response: Response, endStream: boolean): void {
    if (!stream.destroyed && !stream.closed) stream.respond({ [HTTP2_HEADER_STATUS]: response.status, ...response.headers }, { endStream });
  }

  accept(socket: Duplex): void {
    this.server.emit('connection', socket);
  }

  /** Asks every client to go away once its open streams are done (GOAWAY). */
  stop(): void {
    for (const session of this.sessions) session.close();
  }
}
