import { Readable } from 'node:stream';

/**
 * A request body as a Readable of its own, over an HTTP/2 stream or an HTTP/1.1 request. The
 * stream is also the response's writable, and a consumer that is done with a body destroys it
 * (undici does, once it has sent the body upstream): handed the stream itself, it reset the
 * exchange before any answer could go out. Backpressure is kept (the stream is paused while the
 * body is full); a client that resets the stream mid-body errors the body
 * (ERR_CLIENT_BODY_ABORTED), so a consumer never waits for an end that will not come; destroying
 * the body leaves the stream alone.
 */
export function requestBody(source: Readable, idleMs: number, onIdle: () => void = () => undefined): Readable {
  let ended = false;
  let held = false;
  // A client that stops sending its body (a Content-Length it never fills, a chunked body without
  // its end) would hold the reader for ever: after idleMs without a byte the body fails with
  // ERR_CLIENT_BODY_TIMEOUT, which the reader answers 408 (nginx's client_body_timeout). Only while
  // the reader wants more: a body paused by backpressure is waiting on the reader, not the client.
  const idle = setTimeout(() => {
    if (ended || body.destroyed) return;
    if (held) return void idle.refresh();
    onIdle();
    body.destroy(Object.assign(new Error(`the client sent nothing of its request body for ${idleMs / 1000} s`), { code: 'ERR_CLIENT_BODY_TIMEOUT' }));
  }, idleMs);
  idle.unref();
  const body = new Readable({
    read: () => {
      held = false;
      idle.refresh();
      source.resume();
    },
    destroy: (error, callback) => {
      clearTimeout(idle);
      source.off('data', onData);
      callback(error);
    },
  });
  // The failure is the reader's to see (a stream that errored hands its error to whoever reads it
  // later); until one reads, or when none ever will (an answer came first), it must not become an
  // uncaught 'error' that ends the worker.
  body.on('error', () => undefined);
  const onData = (chunk: Buffer): void => {
    idle.refresh();
    if (!body.push(chunk)) {
      held = true;
      source.pause();
    }
  };
  source.on('data', onData);
  const abandoned = (): void => {
    if (!ended && !body.destroyed) body.destroy(Object.assign(new Error('the client abandoned the request body'), { code: 'ERR_CLIENT_BODY_ABORTED' }));
  };
  // A reset stream says `aborted`, then ends its readable side as if the body were whole: the
  // body fails at `aborted`, so a cut body never reaches anyone as complete.
  source.once('aborted', abandoned);
  source.once('end', () => {
    clearTimeout(idle);
    if (body.destroyed) return;
    ended = true;
    body.push(null);
  });
  // A stream error (nghttp2 refused the body: longer or shorter than its Content-Length) or a
  // reset: the body fails, with the stream's error where there is one.
  source.once('error', (error: Error) => {
    if (!body.destroyed) body.destroy(error);
  });
  source.once('close', abandoned);
  return body;
}
