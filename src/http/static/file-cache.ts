import { type Stats, statSync } from 'node:fs';
import type { Logger } from '../../log/logger.js';
import { FolderWatch } from './folder-watch.js';

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
  /** The decoded URL path it is served as (a folder's default document has its own): the response's servedPath. */
  readonly urlPath: string;
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
  /** Set by the cache: filesystem events, not a stat per hit, say when the file changes. */
  watched: boolean;
  /** Set by the cache: one request is resolving this URL again; the others are served meanwhile. */
  remapping?: boolean;
}

export interface CompressedVariant {
  readonly cacheKey: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly etag: string;
}

/**
 * A bounded, least-recently-used cache of files by site and URL path, one per worker, shared by
 * every site. A changed file is never served from it (a rewrite, an atomic replace, a delete, a
 * folder on its path renamed or deleted), and that does not depend on timing:
 *
 * - a watched entry (`watched`) is dropped by the filesystem event of any change to its file
 *   (folder-watch.ts), and a hit is answered only once the events queued before it arrived have
 *   been read (poll-barrier.ts): no stat per hit;
 * - any other entry (not Linux, a network filesystem, a file with several hard links, whose
 *   other names no watch sees) is checked by the caller against the file's current metadata
 *   (`isCurrent`) on each hit, a stat() for a body served from memory.
 *
 * Either way a large file's hit opens the file, and its fstat() is checked too. The URL→file
 * mapping itself (which can change when a symbolic link or a default document changes) is
 * re-resolved after MAPPING_TTL_MS.
 */
export class FileCache {
  private readonly entries = new Map<string, CachedFile>();
  private bytes = 0;
  private readonly watch: FolderWatch;

  constructor(
    private readonly maxBytes = FILE_CACHE_BYTES,
    log?: Logger,
  ) {
    this.watch = new FolderWatch((key) => this.delete(key), log);
  }

  /**
   * The entry for `key`; the caller still checks it is current (`isCurrent`, or the watch).
   * Once its URL→file mapping is older than MAPPING_TTL_MS, the first caller gets undefined and
   * resolves the URL again (then `settleRemap`), while the others are served the entry: under
   * load, dropping it made every request of that moment a miss.
   */
  lookup(key: string, now: number): CachedFile | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now - entry.resolvedAt > MAPPING_TTL_MS && !entry.remapping) {
      entry.remapping = true;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** After a miss: an entry whose URL was resolved again without replacing it (now a 404, a folder) goes. */
  settleRemap(key: string): void {
    if (this.entries.get(key)?.remapping) this.delete(key);
  }

  /** Whether `stats` (just read from disk) describe the same file, unchanged, as `entry`. */
  static isCurrent(entry: CachedFile, stats: Stats | undefined): boolean {
    return stats !== undefined && stats.ino === entry.ino && stats.size === entry.size && stats.mtimeMs === entry.mtimeMs && stats.isFile();
  }

  /**
   * Keeps `entry`; with `watchRoot` (the real root the file lies under, for a file with one
   * name) its changes are followed by events rather than checked on each hit where that can be
   * trusted.
   */
  store(key: string, entry: CachedFile, watchRoot?: string): void {
    this.delete(key);
    const cost = costOf(entry);
    if (cost > this.maxBytes) return;
    entry.watched = false;
    if (watchRoot !== undefined && this.watch.watch(key, entry.realPath, watchRoot)) {
      // A change between the file's fstat and the start of the watch raised no event for it: one
      // stat now, with the watch in place, closes that gap.
      if (!FileCache.isCurrent(entry, statSync(entry.realPath, { throwIfNoEntry: false }))) return this.watch.forget(key);
      entry.watched = true;
    }
    this.entries.set(key, entry);
    this.bytes += cost;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.forget(oldest, value);
    }
  }

  /** Whether `entry` is still the one kept for `key`: nothing changed it since it was looked up. */
  holds(key: string, entry: CachedFile): boolean {
    return this.entries.get(key) === entry;
  }

  get size(): number {
    return this.bytes;
  }

  /** Folders watched for changes now. */
  get watchedFolders(): number {
    return this.watch.size;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.forget(key, entry);
  }

  private forget(key: string, entry: CachedFile): void {
    this.entries.delete(key);
    this.bytes -= costOf(entry);
    if (entry.watched) this.watch.forget(key);
  }
}

function costOf(entry: CachedFile): number {
  return ENTRY_OVERHEAD_BYTES + (entry.body?.length ?? 0);
}
