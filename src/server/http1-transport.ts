import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Limits } from '../config/plan.js';
import { type Exchange, headerGetter, splitTarget } from '../http/exchange.js';
import type { Response } from '../http/response.js';
import type { Dispatch, ResponseWriter } from './dispatch.js';

interface Connection {
  /** Requests whose response has not closed yet. */
  active: number;
  /** The header deadline: one timer per connection, re-armed with refresh() after each response. */
  readonly timer: NodeJS.Timeout;
}

const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';

/**
 * HTTP/1.1 for every binding of a worker, plain or TLS: connections are handed to Node's parser
 * (`emit('connection')`, as node:http documents for injecting any Duplex), and each request
 * becomes an Exchange for the dispatcher. The header deadline and idle-connection bookkeeping
 * are Portico's own, because Node arms its own only for a server that listens itself.
 */
export class Http1Transport implements ResponseWriter<ServerResponse> {
  private readonly server: Server;
  private readonly connections = new Map<Duplex, Connection>();
  private stopping = false;

  constructor(
    private readonly limits: Limits,
    private readonly dispatch: Dispatch,
  ) {
    this.server = createServer({ maxHeaderSize: limits.maxHeaderBytes, requestTimeout: 0, headersTimeout: 0 }, (req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    this.server.on('clientError', (error, socket) => rejectBadRequest(error, socket, limits.maxRequestTargetBytes));
  }

  /**
   * A client must send a request's headers within the header timeout of connecting or of its
   * previous response (slowloris); otherwise it gets a 408 and the connection is closed. While a
   * request is being answered the deadline does not apply; it is re-armed when the response ends.
   */
  accept(socket: Duplex): void {
    const timer = setTimeout(() => {
      if (connection.active === 0 && !socket.destroyed) socket.end(REQUEST_TIMEOUT);
    }, this.limits.headerTimeoutMs);
    timer.unref();
    const connection: Connection = { active: 0, timer };
    this.connections.set(socket, connection);
    socket.once('close', () => {
      clearTimeout(timer);
      this.connections.delete(socket);
    });
    this.server.emit('connection', socket);
  }

  /** Closes idle keep-alive connections now and the others after their response. */
  stop(): void {
    this.stopping = true;
    for (const [socket, connection] of this.connections) if (connection.active === 0) socket.destroy();
  }

  writeHead(res: ServerResponse, response: Response, endStream: boolean): void {
    res.writeHead(response.status, this.stopping ? { ...response.headers, connection: 'close' } : response.headers);
    if (endStream) res.end();
  }

  /** A response is over: once its connection is idle, it closes when stopping, else waits for headers again. */
  ended(res: ServerResponse): void {
    const socket = res.req.socket;
    const connection = this.connections.get(socket);
    if (connection === undefined) return;
    connection.active -= 1;
    if (socket.destroyed || connection.active > 0) return;
    if (this.stopping) socket.end();
    else connection.timer.refresh();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const connection = this.connections.get(socket);
    if (connection) connection.active += 1;
    const target = req.url ?? '/';
    const { path, query } = splitTarget(target);
    const exchange: Exchange = { method: req.method ?? 'GET', target, path, query, protocol: 'HTTP/1.1', remoteAddress: socket.remoteAddress, header: headerGetter(req.headers) };
    this.dispatch(exchange, res, this);
  }
}

/**
 * Answers what Node's HTTP/1.1 parser refused. A header overflow whose first line is longer
 * than the request-target limit is a request line that is too long (414); otherwise the
 * header fields are (431).
 */
function rejectBadRequest(error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex, maxTargetBytes: number): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const firstLineEnd = error.rawPacket?.indexOf('\r\n') ?? -1;
  const firstLineLength = firstLineEnd === -1 ? (error.rawPacket?.length ?? 0) : firstLineEnd;
  const longLine = error.code === 'HPE_HEADER_OVERFLOW' && firstLineLength > maxTargetBytes;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? (longLine ? '414 URI Too Long' : '431 Request Header Fields Too Large') : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}
