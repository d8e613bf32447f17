import type { Writable } from 'node:stream';
import { errorPage } from '../http/error-page.js';
import type { Response, Traffic } from '../http/response.js';
import { type Sent, writeBody } from '../http/write-body.js';
import type { ResponseWriter } from './dispatch.js';

/** How an exchange ended, for the observer: whether it ran to its end, and the body bytes carried. */
export interface Delivered {
  readonly complete: boolean;
  /** Body bytes handed to the transport (a tunnel's: bytes to the client). */
  readonly bytesSent: number;
  /** A tunnel's bytes from the client; undefined for an ordinary exchange. */
  readonly bytesReceived?: number;
  /** The status that went out: the response's, or 500 when writing its head failed. */
  readonly status: number;
}

/**
 * Sends a response on a transport's writable (an HTTP/1.1 response or an HTTP/2 stream):
 * `head` writes the status line or HEADERS frame, then the body follows with backpressure.
 * `done` runs exactly once, when the exchange is over — finished, cut short, or abandoned by
 * the client — and the response's files are released then, so a reset stream never leaves a
 * descriptor open. Never throws: a head the transport refuses to write (a status or a field the
 * protocol cannot carry) is reported to `failed` and answered 500 instead, or the exchange is cut
 * if even that cannot go out; the connection's other exchanges go on.
 */
export function deliver<Out extends Writable>(out: Out, response: Response, writer: ResponseWriter<Out>, done: (delivered: Delivered) => void, failed: (error: unknown) => void): void {
  let settled = false;
  let status = response.status;
  const sent: Sent = { bytes: 0 };
  const settle = (traffic?: Traffic): void => {
    if (settled) return;
    settled = true;
    response.release?.();
    const complete = traffic !== undefined || (writer.completed ? writer.completed(out) : out.writableFinished);
    done(traffic ? { complete, status, bytesSent: traffic.sent, bytesReceived: traffic.received } : { complete, status, bytesSent: sent.bytes });
  };
  const { body } = response;
  if (body.kind === 'upgrade') {
    // The exchange ends with the tunnel, not with the writable, which the tunnel leaves behind.
    try {
      if (writer.upgrade?.(out, response, (traffic) => settle(traffic ?? { sent: 0, received: 0 })) === true) return;
      failed(new Error(`a ${response.status} upgrade answer to a request that cannot be upgraded`));
    } catch (error) {
      failed(error);
    }
    settled = true;
    response.release?.();
    return deliver(out, errorPage(500, false), writer, done, () => out.destroy());
  }
  // 'close' comes once per exchange; on() spares once()'s wrapper on the hot path.
  out.on('close', () => settle());
  if (out.destroyed) return settle();
  try {
    writer.writeHead(out, response, body.kind === 'none');
  } catch (error) {
    failed(error);
    status = 500;
    try {
      writer.writeHead(out, errorPage(500, true), true);
    } catch {
      out.destroy();
    }
    return;
  }
  if (body.kind === 'none') return;
  if (body.kind === 'bytes') {
    sent.bytes = typeof body.data === 'string' ? Buffer.byteLength(body.data) : body.data.length;
    out.end(body.data);
    return;
  }
  writeBody(out, body, sent).then(
    (complete) => {
      // The file came up short: ending now would leave the client waiting for bytes its
      // Content-Length promised. Cut this exchange; the worker carries on.
      if (!complete) out.destroy();
    },
    () => out.destroy(),
  );
}
