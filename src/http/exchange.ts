import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { RequestState } from './request-state.js';

/**
 * One request as every handler sees it, whichever transport carried it (HTTP/1.1 on a plain or
 * TLS socket, or an HTTP/2 stream). Transports build it; handlers never see a socket.
 */
export interface Exchange {
  readonly method: string;
  /** The request-target exactly as sent: path and query. */
  readonly target: string;
  /** The raw path, without the query. */
  readonly path: string;
  /** The query with its leading `?`, or ''. */
  readonly query: string;
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly remoteAddress: string | undefined;
  /** The host the request names (Host, `:authority` or an absolute-form target): lower-cased, no port, no trailing dot; '' if none. */
  readonly host: string;
  /**
   * The authority the request was routed by, as sent (with its port): the absolute-form target's
   * (RFC 9112 §3.2.2), else `:authority` (HTTP/2), else Host; '' if none. A proxy forwards this as
   * Host, never a Host line that disagrees with it.
   */
  readonly authority: string;
  /**
   * The protocol an HTTP/1.1 request asks to switch to (`Upgrade: websocket`, lower-cased), set
   * only where the transport can hand the connection over; a handler may then answer with an
   * `upgrade` body. Undefined for every other request, and always on HTTP/2.
   */
  readonly upgrade?: string;
  /** Whether it came over TLS. */
  readonly secure: boolean;
  /** The name the client asked for in its TLS handshake (SNI); undefined without TLS or without SNI. */
  readonly servername: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** The request's header fields as parsed (read-only; names lower-case). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** One header's value; repeated fields are joined as RFC 9110 §5.3 allows. */
  header(name: string): string | undefined;
  /**
   * Where the answer goes, seen only as whether the client is still there: a handler that works
   * elsewhere on the client's behalf (the proxy's upstream request) stops when it closes before
   * the response has finished (`clientGone`). Set by the transports.
   */
  readonly reply?: ReplyEnd;
  /**
   * What handlers learned about this request on the way (who signed in, which upstream
   * answered), under typed keys (request-state.ts); also its decoded, normalised path, once.
   */
  readonly state: RequestState;
  /**
   * The request body as it arrives, for a handler that reads it (the reverse proxy, an
   * application): set when the route that takes the exchange has a kind whose `readsBody` says
   * so (src/routes/kind.ts); then no body limit applies. Undefined otherwise, and without a body.
   */
  readonly body?: Readable;
}

/** The decoded, normalised path of an exchange (RequestState.pathOf), computed once per request-target. */
export function decodedPath(exchange: Exchange): string | undefined {
  return exchange.state.pathOf(exchange.target);
}

/** The writable a response goes to (an HTTP/1.1 response, an HTTP/2 stream), as far as a handler may see it. */
export interface ReplyEnd {
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  readonly headersSent: boolean;
  /** HTTP/2: how the stream was reset; non-zero when the client cancelled it (it may still say finished). */
  readonly rstCode?: number;
  /** HTTP/1.1: the connection, whose `end` is the client's FIN. */
  readonly socket?: { once(event: 'end', listener: () => void): unknown; off(event: 'end', listener: () => void): unknown } | null;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Says when the client leaves before it is answered: its stream or connection closed before the
 * response finished, or (HTTP/1.1) it sent its FIN before the response began, which nginx takes
 * for the client giving up too (`proxy_ignore_client_abort off`). An EventEmitter that emits
 * `abort` with `aborted` and `reason` set, which undici takes as a request's `signal` as it takes
 * an AbortSignal: an AbortSignal is an EventTarget, whose listeners cost several times more, on
 * every proxied request.
 */
export class ClientGone extends EventEmitter {
  aborted = false;
  reason: Error | undefined = undefined;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = Object.assign(new Error('the client went away before it was answered'), { code: 'ERR_CLIENT_GONE' });
    this.emit('abort');
  }
}

/** A ClientGone for an exchange, made on demand by a handler that works elsewhere on the client's behalf; undefined without a reply. */
export function clientGone(exchange: Exchange): ClientGone | undefined {
  const { reply } = exchange;
  if (reply === undefined) return undefined;
  const gone = new ClientGone();
  const finished = (): boolean => reply.headersSent && reply.writableFinished && !reply.rstCode;
  if (reply.destroyed) {
    if (!finished()) gone.abort();
    return gone;
  }
  const socket = reply.socket ?? undefined;
  const onEnd = (): void => {
    if (!reply.headersSent) gone.abort();
  };
  socket?.once('end', onEnd);
  reply.once('close', () => {
    socket?.off('end', onEnd);
    if (!finished()) gone.abort();
  });
  return gone;
}

/** What the transport knows of a connection once, for every exchange on it. */
export interface ConnectionFacts {
  readonly remoteAddress: string | undefined;
  readonly secure: boolean;
  readonly servername: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
}

/** Reads a socket's facts once per connection, so no exchange touches the socket. */
export function connectionFacts(socket: { remoteAddress?: string; localAddress?: string; localPort?: number; encrypted?: boolean; servername?: string | false | null }): ConnectionFacts {
  const servername = socket.encrypted ? socket.servername : undefined;
  return { remoteAddress: socket.remoteAddress, secure: socket.encrypted === true, servername: typeof servername === 'string' && servername.length > 0 ? servername.toLowerCase() : undefined, localAddress: socket.localAddress, localPort: socket.localPort };
}

/** Splits a request-target into its raw path and its query (with the `?`). */
export function splitTarget(target: string): { path: string; query: string } {
  const queryAt = target.indexOf('?');
  return queryAt === -1 ? { path: target, query: '' } : { path: target.slice(0, queryAt), query: target.slice(queryAt) };
}

/** A header getter over Node's parsed headers (HTTP/1.1 and HTTP/2 both give this shape). */
export function headerGetter(headers: Readonly<Record<string, string | string[] | undefined>>): (name: string) => string | undefined {
  return (name) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
}
