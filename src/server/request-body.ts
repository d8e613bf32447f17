import { Readable } from 'node:stream';

/**
 * An HTTP/2 stream's request body as a Readable of its own. The stream is also the response's
 * writable, and a consumer that is done with a body destroys it (undici does, once it has sent
 * the body upstream): handed the stream itself, it reset the exchange before any answer could go
 * out. Backpressure is kept (the stream is paused while the body is full); a client that resets
 * the stream mid-body errors the body (ERR_CLIENT_BODY_ABORTED), so a consumer never waits for an
 * end that will not come; destroying the body leaves the stream alone.
 */
export function requestBody(source: Readable): Readable {
  let ended = false;
  const body = new Readable({
    read: () => void source.resume(),
    destroy: (error, callback) => {
      source.off('data', onData);
      callback(error);
    },
  });
  // The failure is the reader's to see (a stream that errored hands its error to whoever reads it
  // later); until one reads, or when none ever will (an answer came first), it must not become an
  // uncaught 'error' that ends the worker.
  body.on('error', () => undefined);
  const onData = (chunk: Buffer): void => {
    if (!body.push(chunk)) source.pause();
  };
  source.on('data', onData);
  const abandoned = (): void => {
    if (!ended && !body.destroyed) body.destroy(Object.assign(new Error('the client abandoned the request body'), { code: 'ERR_CLIENT_BODY_ABORTED' }));
  };
  // A reset stream says `aborted`, then ends its readable side as if the body were whole: the
  // body fails at `aborted`, so a cut body never reaches anyone as complete.
  source.once('aborted', abandoned);
  source.once('end', () => {
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
