import type { Writable } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import type { Response, Traffic } from '../http/response.js';

/** What the endpoint needs of a transport to send a response on one of its writables. */
export interface ResponseWriter<Out extends Writable> {
  /** Writes the status and headers (a status line, or a HEADERS frame); ends the exchange if `endStream`. May throw for a head the protocol cannot carry. */
  writeHead(out: Out, response: Response, endStream: boolean): void;
  /**
   * Whether the exchange on `out` ran to its end, asked once it is over. Without it, the
   * writable's `writableFinished`; a transport whose writables can say finished when the client
   * abandoned them (an HTTP/2 stream the client reset) answers itself.
   */
  completed?(out: Out): boolean;
  /** The exchange on `out` is over, whichever way it ended; `complete` is false when it was cut short or abandoned. */
  ended?(out: Out, complete: boolean): void;
  /**
   * Hands the connection of an upgrade exchange to an `upgrade` response (HTTP/1.1 only); `done`
   * runs once the tunnel is over. False when this exchange cannot be upgraded.
   */
  upgrade?(out: Out, response: Response, done: (traffic: Traffic | undefined) => void): boolean;
}

/**
 * How a transport hands over an exchange: the writable its response goes to, and the writer
 * for it; `answer` when the transport already refused the request (a bad Host, a body too
 * large). The endpoint does the rest, the same for every transport.
 */
export type Dispatch = <Out extends Writable>(exchange: Exchange, out: Out, writer: ResponseWriter<Out>, answer?: Response) => void;

/** What the transports ask the sites before dispatching: whose handler streams a request body. */
export interface BodyPolicy {
  streamsBody(exchange: Exchange): boolean;
}
