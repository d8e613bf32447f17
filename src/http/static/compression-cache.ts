import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Coding } from './content-coding.js';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);
type ZstdCompress = (data: Buffer, callback: (error: Error | null, result: Buffer) => void) => void;
/** Present where the runtime has Zstandard (content-coding.ts offers zstd only then). */
const zstdCompress = (zlib as { zstdCompress?: ZstdCompress }).zstdCompress;
const zstd = zstdCompress ? promisify(zstdCompress) : undefined;

/** Files in this size window are compressed on the fly (smaller ones gain nothing). */
export const ON_THE_FLY_MIN_BYTES = 1024;
export const ON_THE_FLY_MAX_BYTES = 8 * 1024 * 1024;
/** The cache's cap per worker, in compressed bytes. */
export const COMPRESSION_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Compressed bodies, kept so a file is compressed once, not on every request. Keyed by the
 * file's identity and version (path, size, mtime, coding), so a changed file is a new key and a
 * stale body can never be served; least recently used entries go first once the byte cap is
 * reached. Concurrent requests for the same body share one compression.
 */
export class CompressionCache {
  private readonly entries = new Map<string, Buffer>();
  private readonly pending = new Map<string, Promise<Buffer>>();
  private bytes = 0;

  constructor(private readonly maxBytes = COMPRESSION_CACHE_BYTES) {}

  async get(key: string, coding: Coding, read: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    let job = this.pending.get(key);
    if (!job) {
      job = read().then((data) => compress(data, coding));
      this.pending.set(key, job);
      job.then((body) => this.store(key, body)).catch(() => undefined).finally(() => this.pending.delete(key));
    }
    return job;
  }

  /** A cached body, without compressing on a miss (the fast path never waits). */
  peek(key: string): Buffer | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.bytes;
  }

  private store(key: string, body: Buffer): void {
    if (body.length > this.maxBytes) return;
    this.entries.set(key, body);
    this.bytes += body.length;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.length;
    }
  }
}

export function compressionKey(path: string, size: number, mtimeMs: number, coding: Coding): string {
  return `${coding}:${size}:${mtimeMs}:${path}`;
}

function compress(data: Buffer, coding: Coding): Promise<Buffer> {
  if (coding === 'gzip') return gzipAsync(data, { level: 6 });
  // Level 3, zstd's default: fast, and about gzip's ratio at a fraction of its time.
  if (coding === 'zstd') return zstd!(data);
  // Quality 5: close to the best ratio for text at a fraction of quality 11's time.
  return brotli(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } });
}
