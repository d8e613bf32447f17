import { createServer, type IncomingMessage, type Server, ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Limits } from '../config/plan.js';
import { describeError } from '../errors.js';
import { errorPage } from '../http/error-page.js';
import { type ConnectionFacts, connectionFacts, type Exchange, headerGetter, splitTarget } from '../http/exchange.js';
import { RequestState } from '../http/request-state.js';
import { parseHost, splitAbsoluteForm } from '../http/host.js';
import type { Response, Traffic } from '../http/response.js';
import type { Logger } from '../log/logger.js';
import type { BodyPolicy, Dispatch, ResponseWriter } from './dispatch.js';
import { endConnection, lingerAfterEnd } from './linger.js';
import { requestBody } from './request-body.js';

interface Connection {
  /** Requests whose response has not closed yet. */
  active: number;
  /** Requests received on this connection, for the per-connection cap. */
  requests: number;
  /** The latest request: a parse error while its body is still arriving belongs to it. */
  last: IncomingMessage | undefined;
  /** The last Host value found valid on this connection, and its name: a keep-alive client repeats it. */
  validHost: string | undefined;
  hostName: string;
  /** Read from the socket once, when the first request arrives. */
  facts: ConnectionFacts | undefined;
  /** The header deadline: one timer per connection, re-armed with refresh() after each response. */
  readonly timer: NodeJS.Timeout;
  /** A parse error's status line, held until the responses owed before it are out; then the connection closes. */
  refusal: string | undefined;
  /** An upgrade pipelined behind requests still being answered: it is taken up once they are. */
  upgrade: (() => void) | undefined;
}

const CLOSE = { connection: 'close' } as const;

/**
 * HTTP/1.1 for every binding of a worker, plain or TLS: connections are handed to Node's parser
 * (`emit('connection')`, as node:http documents for injecting any Duplex), and each request
 * becomes an Exchange for the dispatcher. Portico checks what the parser lets through (Host,
 * version, absolute-form, body size) and owns the header deadline and idle-connection
 * bookkeeping, because Node arms its own only for a server that listens itself.
 */
export class Http1Transport implements ResponseWriter<ServerResponse> {
  private readonly server: Server;
  private readonly connections = new Map<Duplex, Connection>();
  /** Responses after which the connection closes (an unread body, the request cap, a refusal). */
  private readonly closing = new WeakSet<ServerResponse>();
  /** Responses to an upgrade request, with the bytes that followed its head. */
  private readonly upgrades = new WeakMap<ServerResponse, Buffer>();
  private stopping = false;

  constructor(
    private readonly limits: Limits,
    private readonly dispatch: Dispatch,
    private readonly log: Logger,
    private readonly policy: BodyPolicy,
  ) {
    this.server = createServer({ maxHeaderSize: limits.maxHeaderBytes, requestTimeout: 0, headersTimeout: 0, requireHostHeader: false }, (req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    // A request followed at once by the client's FIN (`printf … | nc`) is answered, then the
    // connection closed. Node's default aborts the request; this property is how node:http
    // itself turns that off (there is no option for it).
    (this.server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    // Expect: 100-continue is not answered before the request is judged: a refusal (405, 413)
    // goes out first and the body is never invited (RFC 9110 §10.1.1).
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    // CONNECT asks for a tunnel, which an origin server does not offer.
    this.server.on('connect', (req: IncomingMessage, socket: Duplex) => {
      const page = errorPage(405, false, { allow: 'GET, HEAD, OPTIONS', ...CLOSE });
      socket.end(`HTTP/1.1 405 Method Not Allowed\r\n${Object.entries(page.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${page.body.kind === 'bytes' ? page.body.data : ''}`);
      this.log.debug(`refused CONNECT ${req.url} from ${req.socket.remoteAddress ?? '?'}`);
    });
    this.server.on('clientError', (error, socket) => this.onClientError(error, socket));
    // Upgrade (WebSocket): through the site's chain like any request (onUpgrade).
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  /**
   * A client must send a request's headers within the header timeout of connecting or of its
   * previous response (slowloris); otherwise it gets a 408 and the connection is closed. While a
   * request is being answered the deadline does not apply; it is re-armed when the response ends.
   * However a connection ends (a 408, a refusal, `connection: close`, shutdown), its descriptor
   * is released within the linger bound, whether or not the peer reads or sends its FIN.
   */
  accept(socket: Duplex): void {
    const timer = setTimeout(() => {
      if (connection.active === 0) refuse(socket, '408 Request Timeout');
    }, this.limits.headerTimeoutMs);
    timer.unref();
    const connection: Connection = { active: 0, requests: 0, last: undefined, validHost: undefined, hostName: '', facts: undefined, timer, refusal: undefined, upgrade: undefined };
    this.connections.set(socket, connection);
    socket.once('close', () => {
      clearTimeout(timer);
      this.connections.delete(socket);
    });
    // A tunnel has left `connections` and owns the socket's end itself.
    lingerAfterEnd(socket, () => this.connections.has(socket));
    this.server.emit('connection', socket);
  }

  /** Closes idle keep-alive connections now and the others after their response. */
  stop(): void {
    this.stopping = true;
    for (const [socket, connection] of this.connections) if (connection.active === 0) socket.destroy();
  }

  writeHead(res: ServerResponse, response: Response, endStream: boolean): void {
    // A client that stops reading a body streamed from a file is dropped after the send timeout
    // (nginx's send_timeout). Armed only for those: a socket timer costs on every read and write,
    // and a small body is handed to the kernel at once, after which keep-alive's timeout applies.
    if (response.body.kind === 'segments' || response.body.kind === 'stream') res.setTimeout(this.limits.sendTimeoutMs, () => res.destroy());
    const headers = response.cookies ? { ...response.headers, 'set-cookie': [...response.cookies] } : response.headers;
    res.writeHead(response.status, this.stopping || this.closing.has(res) ? { ...headers, ...CLOSE } : headers);
    if (endStream) res.end();
    // A streamed response of unknown length (server-sent events, a long computation) has its head
    // sent now, not with its first chunk, so the client learns at once that it is answered.
    else if (response.body.kind === 'stream' && response.headers['content-length'] === undefined) res.flushHeaders();
  }

  /**
   * A response is over: once its connection is idle, a parse error held back goes out and the
   * connection closes; else it closes when stopping, or waits for headers again.
   */
  ended(res: ServerResponse): void {
    const socket = res.req.socket;
    const connection = this.connections.get(socket);
    if (connection === undefined) return;
    connection.active -= 1;
    if (socket.destroyed || connection.active > 0) return;
    if (connection.upgrade !== undefined) {
      const upgrade = connection.upgrade;
      connection.upgrade = undefined;
      return upgrade();
    }
    if (connection.refusal !== undefined) refuse(socket, connection.refusal);
    else if (this.stopping) socket.end();
    else connection.timer.refresh();
  }

  /**
   * An upgrade (WebSocket) is a request like any other: it goes through the site's whole chain,
   * so every rule that runs before a handler (HTTPS redirect, redirects, auth, the 414 check)
   * runs before a tunnel. A handler that takes it answers with an `upgrade` body (`upgrade()`
   * below); any other answer is written as usual, and the connection ends after it.
   */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Bytes the client sends before a tunnel is set up wait in the socket, unread.
    socket.pause();
    const connection = this.connections.get(socket);
    // Pipelined behind requests still being answered (their response holds the socket): answered
    // in order once they are, as every pipelined request is (RFC 9112 §9.3.2).
    if (connection !== undefined && connection.active > 0) {
      connection.upgrade = () => this.onUpgrade(req, socket, head);
      return;
    }
    try {
      this.answerUpgrade(req, socket, head);
    } catch (error) {
      // Whatever goes wrong costs this connection only, never the worker.
      this.log.warn(`an upgrade request from ${(socket as Socket).remoteAddress ?? 'a client'} could not be answered (${describeError(error)}); its connection was closed`);
      socket.destroy();
    }
  }

  private answerUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    // node:http wires a response it made itself to end its exchange; this one is ours to wire:
    // once the answer is written, the connection ends and the exchange is over.
    res.once('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
      res.emit('close');
    });
    this.closing.add(res);
    this.upgrades.set(res, head);
    this.onRequest(req, res);
  }

  /**
   * Hands the connection of an upgrade exchange to the response's tunnel: the head is written
   * raw (101 and its fields), the connection leaves the keep-alive bookkeeping and the header
   * deadline, and the exchange ends when the tunnel does. False for a request that did not ask to
   * upgrade (a handler that answered `upgrade` to it has a bug): the caller answers 500.
   */
  upgrade(res: ServerResponse, response: Response, done: (traffic: Traffic | undefined) => void): boolean {
    const head = this.upgrades.get(res);
    if (head === undefined || response.body.kind !== 'upgrade') return false;
    const socket = res.socket as Socket;
    res.detachSocket(socket);
    const connection = this.connections.get(socket);
    if (connection) clearTimeout(connection.timer);
    this.connections.delete(socket);
    const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Switching Protocols'}`];
    for (const [name, value] of Object.entries(response.headers)) lines.push(`${name}: ${value}`);
    socket.on('error', () => undefined);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    response.body.take(socket, head).then(done, () => done(undefined));
    return true;
  }

  /** The exchange of a request; `absolute` is its absolute-form target, split (RFC 9112 §3.2.2), if it has one. */
  private exchangeOf(req: IncomingMessage, res: ServerResponse, connection: Connection | undefined, absolute: AbsoluteForm | undefined, upgrade: boolean): Exchange {
    const socket = req.socket;
    const method = req.method ?? 'GET';
    const target = absolute?.target ?? req.url ?? '/';
    const { path, query } = splitTarget(target);
    const facts = connection ? (connection.facts ??= connectionFacts(socket)) : connectionFacts(socket);
    // The target's authority stands for Host.
    const host = absolute?.authority ?? req.headers.host;
    const hostName = host === undefined ? '' : connection !== undefined && host === connection.validHost ? connection.hostName : (parseHost(host)?.name ?? '');
    const { headers } = req;
    const exchange: Exchange = { method, target, path, query, protocol: 'HTTP/1.1', ...facts, state: new RequestState(), host: hostName, authority: host ?? '', headers, header: headerGetter(headers), reply: res };
    return upgrade ? { ...exchange, upgrade: (headers.upgrade ?? '').trim().toLowerCase() } : exchange;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const connection = this.connections.get(socket);
    if (connection) {
      connection.active += 1;
      connection.requests += 1;
      connection.last = req;
      if (connection.requests >= this.limits.maxRequestsPerConnection) this.closing.add(res);
    }
    const absolute = absoluteForm(req);
    const parsed = this.exchangeOf(req, res, connection, absolute, this.upgrades.has(res));
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const streams = hasBody && this.policy.streamsBody(parsed);
    const refusal = this.judge(req, absolute?.authority, connection, streams);
    // A body that stalls is cut after the body timeout (408), and its connection closed after that answer.
    const exchange = streams ? { ...parsed, body: requestBody(req, this.limits.bodyTimeoutMs, () => this.closing.add(res)) } : parsed;
    // A body that is streamed on is invited at once (RFC 9110 §10.1.1); others only after the answer.
    if (streams && refusal === undefined && /100-continue/i.test(req.headers.expect ?? '')) res.writeContinue();
    if (!streams && hasUnboundedBody(req)) this.closing.add(res);
    if (refusal) this.closing.add(res);
    this.dispatch(exchange, res, this, refusal);
  }

  /** What the parser lets through but the RFCs refuse: a status to answer with, or undefined. */
  private judge(req: IncomingMessage, authority: string | undefined, connection: Connection | undefined, streamsBody = false): Response | undefined {
    const isHead = req.method === 'HEAD';
    // RFC 9110 §2.5 / RFC 9112 §2.3: HTTP/2.0 and HTTP/0.9 request lines are not HTTP/1.x.
    if (req.httpVersionMajor !== 1) return errorPage(505, isHead);
    const hosts = countHostLines(req.rawHeaders);
    // RFC 9112 §3.2: 400 for a 1.1 request without Host, for several Host lines, or an invalid one.
    if (hosts > 1 || (hosts === 0 && authority === undefined && req.httpVersionMinor >= 1)) return errorPage(400, isHead);
    const host = authority ?? req.headers.host;
    if (host !== undefined && host !== connection?.validHost) {
      const parsed = parseHost(host);
      if (parsed === undefined) return errorPage(400, isHead);
      if (connection) {
        connection.validHost = host;
        connection.hostName = parsed.name;
      }
    }
    // RFC 9112 §6.3: a request whose last transfer coding is not chunked has no knowable length
    // (400, as is chunked applied twice, §6.1). Any coding before it (gzip, chunked) is one this
    // server does not implement: 501 (§6.1), never dropped while the body is passed on.
    const codings = req.headers['transfer-encoding'];
    if (codings !== undefined) {
      const list = codings.toLowerCase().split(',').map((coding) => coding.trim()).filter((coding) => coding !== '');
      if (list.length === 0 || list.indexOf('chunked') !== list.length - 1) return errorPage(400, isHead);
      if (list.length > 1) return errorPage(501, isHead);
    }
    const length = req.headers['content-length'];
    if (length !== undefined && !streamsBody && Number(length) > this.limits.maxBodyBytes) {
      this.log.warn(`refused a ${length}-byte body from ${req.socket.remoteAddress} with 413: the limit is ${this.limits.maxBodyBytes} bytes`);
      return errorPage(413, isHead);
    }
    return undefined;
  }

  /**
   * Answers what Node's HTTP/1.1 parser refused, once: an error in the body of a request that
   * was already answered (or is being answered) ends the connection without a second response.
   * A malformed request pipelined behind requests still being answered gets its status after
   * their responses, in request order (RFC 9112 §9.3.2), and the connection closes then.
   */
  private onClientError(error: Error & ParseError, socket: Duplex): void {
    const connection = this.connections.get(socket);
    // The parser, once failed, reports the same error again for every later read.
    if (connection?.refusal !== undefined) return;
    const last = connection?.last;
    if (!socket.writable || error.code === 'ECONNRESET' || (last !== undefined && !last.complete)) {
      // What was already written (a response) still goes out; then the connection is gone.
      socket.end(() => socket.destroy());
      return;
    }
    const status = statusForParseError(error, this.limits.maxRequestTargetBytes);
    if (connection !== undefined && connection.active > 0) connection.refusal = status;
    else refuse(socket, status);
  }
}

/** What Node's parser tells of an error: its code, the packet it failed in, and where in it it stopped. */
export interface ParseError {
  readonly code?: string;
  readonly rawPacket?: Buffer;
  readonly bytesParsed?: number;
}

/** A status for a request that never became one, then the end of the connection. */
function refuse(socket: Duplex, status: string): void {
  endConnection(socket, `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

type AbsoluteForm = NonNullable<ReturnType<typeof splitAbsoluteForm>>;

function absoluteForm(req: IncomingMessage): AbsoluteForm | undefined {
  return req.url === undefined || req.url[0] === '/' ? undefined : splitAbsoluteForm(req.url);
}

/**
 * A chunked body nobody reads could be endless: the connection closes after the response. A
 * body with a Content-Length is bounded by the 413 check, and Node discards it unread.
 */
function hasUnboundedBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined;
}

function countHostLines(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.length === 4 && rawHeaders[i]!.toLowerCase() === 'host') count += 1;
  return count;
}

/**
 * The status for a request Node's parser refused. A header overflow is a request line that is
 * too long (414) when the chunk that overflowed starts a request and has no line end within the
 * target limit; otherwise the header fields are too large (431). An unknown method is 501
 * (RFC 9110 §9.1); anything else malformed is 400.
 */
/** method SP request-target SP HTTP-version CRLF (RFC 9112 §3), the method any token. */
const WELL_FORMED_REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ \r\n]+ HTTP\/\d\.\d\r?\n/;

export function statusForParseError(error: ParseError, maxTargetBytes: number): string {
  const packet = failedRequest(error);
  // A version Node's parser does not take (HTTP/1.2, HTTP/3.0): RFC 9110 §2.5 would have a 1.x
  // minor version handled as 1.1, but the parser refuses it before Portico sees the request, and
  // only its all-or-nothing lenient mode (which also allows request smuggling) would accept it.
  if (error.code === 'HPE_INVALID_VERSION') return /^[^\r\n]* HTTP\/\d\.\d\r\n/.test(packet.subarray(0, maxTargetBytes + 64).toString('latin1')) ? '505 HTTP Version Not Supported' : '400 Bad Request';
  if (error.code === 'HPE_INVALID_METHOD') return WELL_FORMED_REQUEST_LINE.test(packet.subarray(0, maxTargetBytes + 64).toString('latin1')) ? '501 Not Implemented' : '400 Bad Request';
  if (error.code !== 'HPE_HEADER_OVERFLOW') return '400 Bad Request';
  const startsRequest = /^[A-Z]+ \S/.test(packet.subarray(0, 32).toString('latin1'));
  const lineEnd = packet.indexOf('\r\n');
  const longLine = startsRequest && (lineEnd === -1 ? packet.length : lineEnd) > maxTargetBytes;
  return longLine ? '414 URI Too Long' : '431 Request Header Fields Too Large';
}

/** A request line's start: a method token and a space (a header line has a colon before any space). */
const REQUEST_LINE_START = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ /;

/**
 * The bytes of the packet from the start of the request that failed: a packet may begin with
 * valid requests pipelined before it. A method or version error is on the line where the parser
 * stopped (`bytesParsed`); a header overflow is in that request's header block, whose request
 * line is the nearest before it. Without a position, the whole packet.
 */
function failedRequest(error: ParseError): Buffer {
  const packet = error.rawPacket ?? Buffer.alloc(0);
  const at = error.bytesParsed;
  if (typeof at !== 'number' || at <= 0 || at > packet.length) return packet;
  const before = packet.subarray(0, at).toString('latin1');
  let start = before.lastIndexOf('\n') + 1;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    while (start > 0 && !REQUEST_LINE_START.test(before.slice(start, start + 64))) start = before.lastIndexOf('\n', start - 2) + 1;
  }
  return packet.subarray(start);
}
