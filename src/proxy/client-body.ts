import type { Readable } from 'node:stream';

/**
 * A proxied request's body as the upstream call reads it, and who spoilt it if it went wrong.
 *
 * The client's stream is handed to undici as an async iterable of its chunks: a failure of the
 * client's stream (an error such as a malformed chunked body, an `aborted` connection, a
 * premature close such as an HTTP/2 stream reset mid-body) is recorded in `failure` before undici
 * sees it, so the failure path can tell the client's fault from the upstream's. Listeners on the
 * client's stream alone cannot: when the upstream fails, undici destroys a stream it was given
 * with the upstream's error, and the stream then emits `aborted`, `error` and `close` just as it
 * does when the client fails.
 */
export interface ClientBody {
  /** What undici sends: the client's chunks as they arrive (undici documents AsyncIterable bodies). */
  readonly chunks: AsyncIterable<Buffer>;
  /** The client's stream failed (recorded before undici is told): its fault, not the upstream's. */
  readonly failure: Error | undefined;
  /**
   * The upstream call failed while the body was being read: the client's stream is destroyed, as
   * undici does with a stream it was given (an iterable's source it leaves to its owner).
   */
  abandon(): void;
}

export function watchClientBody(body: Readable): ClientBody {
  let reading = false;
  let finished = false;
  let abandoned = false;
  let failure: Error | undefined;
  async function* chunks(): AsyncGenerator<Buffer> {
    reading = true;
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } catch (error) {
      if (!abandoned) failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      finished = true;
    }
  }
  return {
    chunks: chunks(),
    get failure() {
      return failure;
    },
    abandon: () => {
      abandoned = true;
      if (reading && !finished) body.destroy();
    },
  };
}
