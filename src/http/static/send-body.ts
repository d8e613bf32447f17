import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ServerResponse } from '../response.js';
import type { ByteRange } from './byte-range.js';

const LARGE_BODY_BYTES = 1024 * 1024;
const LARGE_READ_BYTES = 512 * 1024;

/**
 * Streams bytes `range.start`..`range.end` of an open file into the response, with
 * backpressure (a slow client holds a few socket buffers, never the file). Resolves with
 * whether every byte was there: a file that shrank mid-stream yields false, and the caller must
 * then destroy the response rather than end it short of its Content-Length.
 */
export async function sendFileRange(res: ServerResponse, handle: FileHandle, range: ByteRange): Promise<boolean> {
  // Large reads for large bodies: fewer thread-pool round trips per MiB (the default is 64 KiB).
  const highWaterMark = range.end - range.start >= LARGE_BODY_BYTES ? LARGE_READ_BYTES : undefined;
  const stream = handle.createReadStream({ start: range.start, end: range.end, autoClose: false, highWaterMark });
  await pipeline(stream, res as unknown as Writable, { end: false });
  return stream.bytesRead === range.end - range.start + 1;
}

/** Writes a chunk, waiting for the socket to drain when it is full. */
export async function sendChunk(res: ServerResponse, chunk: string | Buffer): Promise<void> {
  // Both HTTP/1.1 and HTTP/2 responses are Writables; their typings differ only in overloads.
  const out = res as unknown as Writable;
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
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
