import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Body, type FileSlice, isFileSlice } from './response.js';

const LARGE_BODY_BYTES = 1024 * 1024;
const LARGE_READ_BYTES = 512 * 1024;

/**
 * Writes a body to a transport's writable (an HTTP/1.1 response or an HTTP/2 stream) and ends
 * it, with backpressure: a slow client holds a few socket buffers, never the file. Resolves
 * false when the bytes promised could not all be sent (a file shrank mid-stream): the caller
 * must then destroy the exchange rather than end it short of its Content-Length. Rejects when
 * the client goes away.
 */
export async function writeBody(out: Writable, body: Body): Promise<boolean> {
  if (body.kind === 'none') {
    out.end();
    return true;
  }
  if (body.kind === 'bytes') {
    out.end(body.data);
    return true;
  }
  if (body.kind === 'stream') {
    await pipeline(body.stream, out);
    return true;
  }
  for (const segment of body.segments) {
    if (!isFileSlice(segment)) await writeChunk(out, segment);
    else if (!(await writeSlice(out, segment))) return false;
  }
  out.end();
  return true;
}

async function writeSlice(out: Writable, slice: FileSlice): Promise<boolean> {
  if (slice.end < slice.start) return true;
  // Large reads for large bodies: fewer thread-pool round trips per MiB (the default is 64 KiB).
  const highWaterMark = slice.end - slice.start >= LARGE_BODY_BYTES ? LARGE_READ_BYTES : undefined;
  const stream = slice.handle.createReadStream({ start: slice.start, end: slice.end, autoClose: false, highWaterMark });
  await pipeline(stream, out, { end: false });
  return stream.bytesRead === slice.end - slice.start + 1;
}

/** Writes a chunk, waiting for the socket to drain when it is full. */
function writeChunk(out: Writable, chunk: Buffer | string): Promise<void> | undefined {
  if (out.write(chunk)) return undefined;
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error): void => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new Error('the client closed the connection'));
    out.once('drain', onDrain);
    out.once('close', onClose);
  });
}
