import { constants } from 'node:http2';
import { systemErrorCode } from '../errors.js';

/** A connection the client reset, closed under a write, or lost (its network went): the peer left. */
const PEER_LEFT = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Whether a connection's error is its client hanging up (a tab closed on an EventSource, a phone
 * off the network, a download cancelled), which is an ordinary end of the exchange and no
 * fault of anyone's, rather than a client that broke the protocol, which is worth a WARN. Over
 * HTTP/2 a client's GOAWAY with CANCEL is the same hang-up, said politely: Node reports it as
 * `ERR_HTTP2_SESSION_ERROR`, "Session closed with error code 8".
 */
export function clientWentAway(error: unknown): boolean {
  const code = systemErrorCode(error);
  if (code !== undefined && PEER_LEFT.has(code)) return true;
  if (code !== 'ERR_HTTP2_SESSION_ERROR' || !(error instanceof Error)) return false;
  return Number(/error code (\d+)$/.exec(error.message)?.[1]) === constants.NGHTTP2_CANCEL;
}
