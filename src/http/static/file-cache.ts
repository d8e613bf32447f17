import type { Stats } from 'node:fs';

/** Bodies up to this size are kept in memory; larger files are streamed from disk. */
export const MAX_CACHED_BODY_BYTES = 128 * 1024;
/** The cache's cap per worker: bodies plus a nominal cost per entry. */
export const FILE_CACHE_BYTES = 32 * 1024 * 1024;
const ENTRY_OVERHEAD_BYTES = 1024;
/** How long a URL's mapping to a file (symbolic links, default documents) is trusted. */
export const MAPPING_TTL_MS = 1_000;

/** What serving one URL needs, computed once: the file's identity, its headers, maybe its bytes. */
export interface CachedFile {
  readonly realPath: string;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
  readonly type: string;
  readonly compressible: boolean;
  /** Headers of a 200 identity response, Content-Length included. */
  readonly headers: Readonly<Record<string, string>>;
  /** The whole file, for files up to MAX_CACHED_BODY_BYTES. */
  readonly body: Buffer | undefined;
  readonly resolvedAt: number;
  /** Compressed representations seen so far: their headers; bodies stay in the compression cache. */
  readonly variants: Map<string, CompressedVariant>;
}

export interface CompressedVariant {
  readonly cacheKey: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly etag: string;
}

/**
 * A bounded, least-recently-used cache of files by site and URL path, one per worker, shared by
 * every site. Correctness does not depend on timing: the caller checks every hit against the
 * file's current metadata (`isCurrent`) before using it — a stat() for a body served from
 * memory, the fstat() of the opened file otherwise — and any change of inode, size or
 * modification time (a rewrite, an atomic replace, a delete) evicts the entry, so a changed file
 * is never served from it. The URL→file mapping itself (which can change when a symbolic link or
 * a default document changes) is re-resolved after MAPPING_TTL_MS.
 */
export class FileCache {
  private readonly entries = new Map<string, CachedFile>();
  private bytes = 0;

  constructor(private readonly maxBytes = FILE_CACHE_BYTES) {}

  /** The entry for `key` while its URL→file mapping is fresh; the caller still checks `isCurrent`. */
  lookup(key: string, now: number): CachedFile | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now - entry.resolvedAt > MAPPING_TTL_MS) {
      this.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Whether `stats` (just read from disk) describe the same file, unchanged, as `entry`. */
  static isCurrent(entry: CachedFile, stats: Stats | undefined): boolean {
    return stats !== undefined && stats.ino === entry.ino && stats.size === entry.size && stats.mtimeMs === entry.mtimeMs && stats.isFile();
  }

  store(key: string, entry: CachedFile): void {
    this.delete(key);
    const cost = costOf(entry);
    if (cost > this.maxBytes) return;
    this.entries.set(key, entry);
    this.bytes += cost;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= costOf(value);
    }
  }

  get size(): number {
    return this.bytes;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= costOf(entry);
  }
}

function costOf(entry: CachedFile): number {
  return ENTRY_OVERHEAD_BYTES + (entry.body?.length ?? 0);
}
