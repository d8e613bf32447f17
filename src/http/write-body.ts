import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Body, type FileSlice, isFileSlice } from './response.js';

/** Body bytes handed to the writable so far: what the access log's sc-bytes reports, however the body ends. */
export interface Sent {
  bytes: number;
}

const LARGE_BODY_BYTES = 1024 * 1024;
const LARGE_READ_BYTES = 512 * 1024;

/**
 * Writes a body to a transport's writable (an HTTP/1.1 response or an HTTP/2 stream) and ends
 * it, with backpressure: a slow client holds a few socket buffers, never the file. Resolves
 * false when the bytes promised could not all be sent (a file shrank mid-stream): the caller
 * must then destroy the exchange rather than end it short of its Content-Length. Rejects when
 * the client goes away.
 */
export async function writeBody(out: Writable, body: Body, sent: Sent = { bytes: 0 }): Promise<boolean> {
  if (body.kind === 'none' || body.kind === 'upgrade') {
    out.end();
    return true;
  }
  if (body.kind === 'bytes') {
    sent.bytes += typeof body.data === 'string' ? Buffer.byteLength(body.data) : body.data.length;
    out.end(body.data);
    return true;
  }
  if (body.kind === 'stream') {
    body.stream.on('data', (chunk: Buffer | string) => (sent.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length));
    await pipeline(body.stream, out);
    return true;
  }
  for (const segment of body.segments) {
    if (!isFileSlice(segment)) {
      sent.bytes += typeof segment === 'string' ? Buffer.byteLength(segment) : segment.length;
      await writeChunk(out, segment);
    } else if (!(await writeSlice(out, segment, sent))) return false;
  }
  out.end();
  return true;
}

async function writeSlice(out: Writable, slice: FileSlice, sent: Sent): Promise<boolean> {
  if (slice.end < slice.start) return true;
  if (slice.end - slice.start >= LARGE_BODY_BYTES) return pumpSlice(out, slice, sent);
  const stream = slice.handle.createReadStream({ start: slice.start, end: slice.end, autoClose: false });
  try {
    await pipeline(stream, out, { end: false });
  } finally {
    sent.bytes += stream.bytesRead;
  }
  return stream.bytesRead === slice.end - slice.start + 1;
}

/** Read buffers of large bodies that writables are done with, kept for the next reads. */
const spareBuffers: Buffer[] = [];
const MAX_SPARE_BUFFERS = 8;

/**
 * A large slice, read 512 KiB at a time (fewer thread-pool round trips than 64 KiB) into
 * buffers that are used again: a new buffer per read left two thousand a second per gigabyte
 * to the garbage collector, a quarter of a worker's time (docs/performance.md). A buffer goes
 * back to the spares only once the writable's callback says it is done with it (the Writable
 * contract), and the next read runs while a chunk is being written. False when the file
 * ended early (it shrank).
 */
async function pumpSlice(out: Writable, slice: FileSlice, sent: Sent): Promise<boolean> {
  const end = slice.end + 1;
  let position = slice.start;
  let reading = readAt(slice.handle, position, end);
  for (;;) {
    const { buffer, bytes } = await reading;
    if (bytes === 0) {
      spare(buffer);
      return false;
    }
    position += bytes;
    const last = position >= end;
    if (!last) {
      reading = readAt(slice.handle, position, end);
      // Handled now: it may fail while the write below is awaited (it is awaited after).
      reading.catch(() => undefined);
    }
    try {
      await writeBuffer(out, buffer, bytes);
      sent.bytes += bytes;
    } catch (error) {
      if (!last) reading.then(({ buffer: unused }) => spare(unused), () => undefined);
      throw error;
    }
    if (last) return true;
  }
}

async function readAt(handle: FileSlice['handle'], position: number, end: number): Promise<{ buffer: Buffer; bytes: number }> {
  const buffer = spareBuffers.pop() ?? Buffer.allocUnsafeSlow(LARGE_READ_BYTES);
  try {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
    return { buffer, bytes: bytesRead };
  } catch (error) {
    spare(buffer);
    throw error;
  }
}

function spare(buffer: Buffer): void {
  if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(buffer);
}

/** Writes one chunk; resolves once the writable is done with its buffer (which then is spare). */
function writeBuffer(out: Writable, buffer: Buffer, bytes: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // A writable destroyed with the write pending may never call back: its close decides.
    const onClose = (): void => reject(new Error('the client closed the connection'));
    out.once('close', onClose);
    out.write(bytes === buffer.length ? buffer : buffer.subarray(0, bytes), (error) => {
      out.off('close', onClose);
      if (error) return reject(error);
      spare(buffer);
      resolve();
    });
  });
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
