import type { Writable } from 'node:stream';
import type { Response } from '../http/response.js';
import { writeBody } from '../http/write-body.js';
import type { ResponseWriter } from './dispatch.js';

/**
 * Sends a response on a transport's writable (an HTTP/1.1 response or an HTTP/2 stream):
 * `head` writes the status line or HEADERS frame, then the body follows with backpressure.
 * `done` runs exactly once, when the exchange is over — finished, cut short, or abandoned by
 * the client — and the response's files are released then, so a reset stream never leaves a
 * descriptor open.
 */
export function deliver<Out extends Writable>(out: Out, response: Response, writer: ResponseWriter<Out>, done: (complete: boolean) => void): void {
  let settled = false;
  const settle = (): void => {
    if (settled) return;
    settled = true;
    response.release?.();
    done(writer.completed ? writer.completed(out) : out.writableFinished);
  };
  // 'close' comes once per exchange; on() spares once()'s wrapper on the hot path.
  out.on('close', settle);
  if (out.destroyed) return settle();
  const { body } = response;
  writer.writeHead(out, response, body.kind === 'none');
  if (body.kind === 'none') return;
  if (body.kind === 'bytes') {
    out.end(body.data);
    return;
  }
  writeBody(out, body).then(
    (complete) => {
      // The file came up short: ending now would leave the client waiting for bytes its
      // Content-Length promised. Cut this exchange; the worker carries on.
      if (!complete) out.destroy();
    },
    () => out.destroy(),
  );
}
