import { constants, type Stats, statSync } from 'node:fs';
import { type FileHandle, open, realpath, stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { systemErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { errorPage } from '../error-page.js';
import type { Exchange } from '../exchange.js';
import type { Handler } from '../handler.js';
import { refusePath } from '../path-refusal.js';
import { type MappedPath, mapPath } from '../map-path.js';
import { bytesResponse, type FileSlice, NO_BODY, type Response } from '../response.js';
import { type ByteRange, contentRange, parseRange } from './byte-range.js';
import { CompressionCache, compressionKey, ON_THE_FLY_MAX_BYTES, ON_THE_FLY_MIN_BYTES } from './compression-cache.js';
import { type ConditionalHeaders, evaluatePreconditions, ifRangeAllows } from './conditional.js';
import { CODINGS, type Coding, negotiateCoding } from './content-coding.js';
import { contentTypeFor, isCompressibleType } from './content-type.js';
import { parseListingSort, readListing, renderListingHtml, renderListingJson, sortListing } from './directory-listing.js';
import { fileEntityTag } from './entity-tag.js';
import { type CachedFile, type CompressedVariant, FileCache, MAX_CACHED_BODY_BYTES } from './file-cache.js';
import { multipartLayout } from './multipart-byteranges.js';
import { afterNextPoll } from './poll-barrier.js';

export interface StaticOptions {
  /** List folders that have no default document (otherwise 403). */
  readonly browse: boolean;
  readonly cacheControl: string;
  /** A virtual directory's URL prefix (`/downloads`): what follows it names a path under the root. */
  readonly mount?: string;
  /** Serve symbolic links that lead outside the root (nginx's and Caddy's default); otherwise 404. */
  readonly followSymlinks?: boolean;
}

/**
 * The static caches of one worker, shared by every site it serves, so their memory is one
 * budget per worker however many sites there are: file metadata and small bodies, and
 * compressed bodies. Keys include each site's real root, so sites never see each other's entries.
 */
export interface StaticCaches {
  readonly files: FileCache;
  readonly compressed: CompressionCache;
}

export function createStaticCaches(log?: Logger): StaticCaches {
  return { files: new FileCache(undefined, log), compressed: new CompressionCache() };
}

const DEFAULT_DOCUMENTS = ['index.html', 'index.htm', 'default.htm', 'default.html'] as const;
const ROOT_RECHECK_MS = 1_000;
const ALLOW = 'GET, HEAD, OPTIONS';
/** O_NONBLOCK: opening a FIFO left in the root must not block a thread-pool thread forever. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

interface Context {
  readonly realRoot: string;
  /** Prefix of this site's keys in the shared file cache. */
  readonly keyPrefix: string;
  /** Leading URL segments that name the mount point, not a path under the root. */
  readonly mountDepth: number;
  readonly options: StaticOptions;
  readonly caches: StaticCaches;
  readonly log: Logger;
}

/**
 * Serves files under `root` with the semantics of RFC 9110 (docs/static-files.md maps each
 * behaviour to its section). A path served before is answered synchronously from memory when
 * its bytes are cached; everything else is answered after opening the file. Both go through one
 * decision (`respond`): preconditions, ranges, then 200.
 */
export async function createStaticHandler(root: string, options: StaticOptions, caches: StaticCaches, log: Logger): Promise<Handler> {
  const rooted = (realRoot: string): Context => ({ realRoot, keyPrefix: `${realRoot}\0${options.mount ?? ''}\0`, mountDepth: (options.mount ?? '').split('/').filter(Boolean).length, options, caches, log });
  let context = rooted(await realpath(root));
  let rootCheckedAt = Date.now();
  return (exchange) => {
    const { method } = exchange;
    if (method === 'OPTIONS') return bytesResponse(204, { allow: ALLOW }, undefined);
    if (method !== 'GET' && method !== 'HEAD') return errorPage(405, false, { allow: ALLOW });
    const now = Date.now();
    // A root that is a symbolic link (/srv/app/current → a release) may be switched to another
    // release: it is resolved again at most once a second, and cached entries are keyed by the
    // resolved root, so a request is served wholly from the old release or wholly from the new.
    if (now - rootCheckedAt >= ROOT_RECHECK_MS) {
      rootCheckedAt = now;
      realpath(root).then(
        (real) => {
          if (real !== context.realRoot) context = rooted(real);
        },
        (error: unknown) => log.warn(`the site root ${root} cannot be resolved (${systemErrorCode(error) ?? String(error)}); still serving ${context.realRoot}`),
      );
    }
    const key = context.keyPrefix + exchange.path;
    const known = caches.files.lookup(key, now);
    if (known?.body !== undefined) {
      const fromMemory = respondFromMemory(context, exchange, key, known, known.body);
      if (fromMemory !== undefined) return fromMemory;
    }
    if (known !== undefined) return serve(context, exchange, key, known);
    const served = serve(context, exchange, key, undefined);
    void served.finally(() => caches.files.settleRemap(key)).catch(() => undefined);
    return served;
  };
}

/**
 * A cached body, if it is still the file's: a watched entry is answered once the filesystem
 * events queued before this request have been read (any of them would have dropped it), any
 * other is checked against the file with one stat(). Undefined when the entry is stale (it is
 * dropped) or the wanted representation is not in memory yet (a compressed body).
 */
function respondFromMemory(context: Context, exchange: Exchange, key: string, file: CachedFile, body: Buffer): Response | Promise<Response> | undefined {
  if (file.watched) {
    return afterNextPoll().then(() => {
      if (!context.caches.files.holds(key, file)) return serve(context, exchange, key, undefined);
      return fromMemory(context, exchange, file, body) ?? serve(context, exchange, key, file);
    });
  }
  if (!FileCache.isCurrent(file, statSync(file.realPath, { throwIfNoEntry: false }))) {
    context.caches.files.delete(key);
    return undefined;
  }
  return fromMemory(context, exchange, file, body);
}

function fromMemory(context: Context, exchange: Exchange, file: CachedFile, body: Buffer): Response | undefined {
  let representation: Representation = { etag: file.etag, lastModified: file.mtimeMs, size: file.size, coding: undefined, headers: file.headers, body };
  if (file.compressible && exchange.header('range') === undefined && file.size >= ON_THE_FLY_MIN_BYTES && file.size <= ON_THE_FLY_MAX_BYTES) {
    const coding = negotiateCoding(exchange.header('accept-encoding'), CODINGS);
    if (coding !== undefined) {
      const variant = compressedVariant(context, file, coding);
      const compressed = variant && context.caches.compressed.peek(variant.cacheKey);
      if (variant === undefined || compressed === undefined) return undefined;
      representation = { etag: variant.etag, lastModified: file.mtimeMs, size: compressed.length, coding, headers: variant.headers, body: compressed };
    }
  }
  return respond(exchange, representation, file.type, undefined, file.urlPath);
}

async function serve(context: Context, exchange: Exchange, key: string, known: CachedFile | undefined): Promise<Response> {
  const isHead = exchange.method === 'HEAD';
  const mapped = mapPath(exchange.target);
  if (!mapped.ok) return refusePath(exchange, mapped, context.log);
  const reopened = known && (await reopen(context, key, known));
  if (reopened) return respondWithFile(context, exchange, { ...reopened, urlPath: known.urlPath }, key, known);
  const target = await resolveTarget(context, mapped);
  if ('status' in target) {
    if (target.outside) context.log.warn(`${exchange.method} ${JSON.stringify(exchange.target)} from ${exchange.remoteAddress} refused with 404: a symbolic link leads outside the root`);
    return errorPage(target.status, isHead, target.headers);
  }
  if ('folder' in target) return listFolder(context, exchange, mapped, target.folder);
  return respondWithFile(context, exchange, target, key, undefined);
}

/**
 * Opens a file whose URL mapping is cached and still fresh, without resolving the path again;
 * its fstat() is the one metadata read of this request. Undefined when the file changed.
 */
async function reopen(context: Context, key: string, known: CachedFile): Promise<OpenFile | undefined> {
  const found = await openFile(known.realPath).catch(() => undefined);
  if (typeof found === 'object' && FileCache.isCurrent(known, found.stats)) return found;
  if (typeof found === 'object') await found.handle.close();
  context.caches.files.delete(key);
  return undefined;
}

/** The headers of a compressed representation, once its body is in the compression cache. */
function compressedVariant(context: Context, file: CachedFile, coding: Coding): CompressedVariant | undefined {
  const known = file.variants.get(coding);
  if (known !== undefined) return known;
  const cacheKey = compressionKey(file.realPath, file.size, file.mtimeMs, coding);
  const body = context.caches.compressed.peek(cacheKey);
  if (body === undefined) return undefined;
  const etag = fileEntityTag(file.size, file.mtimeMs, coding);
  const variant = { cacheKey, etag, headers: { ...file.headers, etag, 'content-encoding': coding, 'content-length': String(body.length) } };
  file.variants.set(coding, variant);
  return variant;
}

/** A 304 carries the validators and caching headers of the 200 it stands for (RFC 9110 §15.4.5). */
function notModifiedHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const { etag, 'cache-control': cacheControl, vary } = headers;
  return { etag: etag!, 'cache-control': cacheControl!, ...(vary ? { vary } : {}) };
}

function conditionalHeaders(exchange: Exchange): ConditionalHeaders {
  const get = (name: string): string | undefined => exchange.header(name);
  return { method: exchange.method, ifMatch: get('if-match'), ifNoneMatch: get('if-none-match'), ifModifiedSince: get('if-modified-since'), ifUnmodifiedSince: get('if-unmodified-since') };
}

/** The headers of a 200 for one representation of a file. */
function fileHeaders(options: StaticOptions, etag: string, lastModified: number, size: number, type: string, compressible: boolean, coding: Coding | undefined): Record<string, string> {
  return {
    etag,
    'cache-control': options.cacheControl,
    ...(compressible ? { vary: 'Accept-Encoding' } : {}),
    'last-modified': new Date(lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    'content-type': type,
    'x-content-type-options': 'nosniff',
    ...(coding ? { 'content-encoding': coding } : {}),
    'content-length': String(size),
  };
}

interface OpenFile {
  readonly handle: FileHandle;
  readonly path: string;
  readonly stats: Stats;
}

/** A file a request resolved to, with the decoded URL path it is served as (a folder's default document has its own). */
interface ServedFile extends OpenFile {
  readonly urlPath: string;
}

interface Refusal {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** The path exists but resolves outside the root: worth a log line. */
  readonly outside?: boolean;
}

const OUTSIDE = 'outside';

/** What a request names: a file (or a folder's default document), a folder to list, or a refusal. */
async function resolveTarget(context: Context, mapped: Extract<MappedPath, { ok: true }>): Promise<ServedFile | { folder: string } | Refusal> {
  const found = await openInside(containment(context), join(context.realRoot, ...mapped.segments.slice(context.mountDepth)));
  if (found === OUTSIDE) return { status: 404, outside: true };
  if (typeof found === 'number') return { status: found };
  const urlPath = `/${mapped.segments.join('/')}`;
  // A file asked for as a folder (`/p.txt/`) is not found, as nginx answers: one canonical URL per
  // file, so a rule that names the file is never walked around by another spelling of it.
  if (found.stats.isFile() && !mapped.trailingSlash) return { ...found, urlPath };
  await found.handle.close();
  if (!found.stats.isDirectory()) return { status: 404 };
  if (!mapped.trailingSlash) return { status: 301, headers: { location: folderLocation(mapped.segments, mapped.query) } };
  for (const name of DEFAULT_DOCUMENTS) {
    const document = await openInside(containment(context), join(found.path, name));
    if (typeof document !== 'object') continue;
    if (document.stats.isFile()) return { ...document, urlPath: `${urlPath === '/' ? '' : urlPath}/${name}` };
    await document.handle.close();
  }
  return context.options.browse ? { folder: found.path } : { status: 403 };
}

/** The bytes a response carries: the file itself, a precompressed sibling, or a compressed copy. */
interface Representation {
  readonly etag: string;
  readonly lastModified: number;
  readonly size: number;
  readonly coding: Coding | undefined;
  /** Headers of a 200 for this representation, Content-Length included. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: FileHandle | Buffer;
}

/**
 * The one decision for a file, whether its bytes are in memory or on disk: preconditions
 * (RFC 9110 §13.2.2), then Range (§14), then 200. Synchronous, so a cache hit goes out at once.
 * `release` closes what was opened; it goes with the response, or is called here if unused.
 */
function respond(exchange: Exchange, representation: Representation, type: string, release: (() => void) | undefined, servedPath: string): Response {
  const isHead = exchange.method === 'HEAD';
  const { headers, size } = representation;
  const outcome = evaluatePreconditions(conditionalHeaders(exchange), representation);
  if (outcome !== 'proceed') {
    release?.();
    return outcome === 'not-modified' ? { status: 304, headers: notModifiedHeaders(headers), body: NO_BODY, servedPath } : { ...errorPage(412, isHead), servedPath };
  }
  const rangeHeader = exchange.method === 'GET' ? exchange.header('range') : undefined;
  if (rangeHeader !== undefined && representation.coding === undefined && ifRangeAllows(exchange.header('if-range'), representation)) {
    const request = parseRange(rangeHeader, size);
    if (request.kind === 'unsatisfiable') {
      release?.();
      return { ...errorPage(416, false, { 'content-range': `bytes */${size}` }), servedPath };
    }
    const [only, ...more] = request.kind === 'ranges' ? request.ranges : [];
    if (only && more.length === 0) {
      return { status: 206, headers: { ...headers, 'content-range': contentRange(only, size), 'content-length': String(only.end - only.start + 1) }, body: { kind: 'segments', segments: [slice(representation, only)] }, release, servedPath };
    }
    if (request.kind === 'ranges') {
      const layout = multipartLayout(request.ranges, size, type);
      const segments = layout.parts.flatMap((part) => [part.head, slice(representation, part.range)]);
      return { status: 206, headers: { ...headers, 'content-type': layout.contentType, 'content-length': String(layout.length) }, body: { kind: 'segments', segments: [...segments, layout.tail] }, release, servedPath };
    }
  }
  if (isHead || size === 0) {
    release?.();
    return { status: 200, headers, body: NO_BODY, servedPath };
  }
  const { body } = representation;
  if (Buffer.isBuffer(body)) {
    release?.();
    return { status: 200, headers, body: { kind: 'bytes', data: body }, servedPath };
  }
  return { status: 200, headers, body: { kind: 'segments', segments: [slice(representation, { start: 0, end: size - 1 })] }, release, servedPath };
}

function slice(representation: Representation, range: ByteRange): Buffer | FileSlice {
  const { body } = representation;
  return Buffer.isBuffer(body) ? body.subarray(range.start, range.end + 1) : { handle: body, start: range.start, end: range.end };
}

/** `known`: the cache entry `file` was reopened from, still current; it is kept as it is (its mapping ages on). */
async function respondWithFile(context: Context, exchange: Exchange, file: ServedFile, key: string, known: CachedFile | undefined): Promise<Response> {
  const opened: FileHandle[] = [file.handle];
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    for (const handle of opened) handle.close().catch(() => undefined);
  };
  try {
    const type = contentTypeFor(basename(file.path));
    const compressible = isCompressibleType(type);
    const siblings = compressible ? await findPrecompressed(file.path) : NO_SIBLINGS;
    // Files with precompressed siblings always take this path (the siblings can change apart).
    const body = siblings.size > 0 ? undefined : known ? known.body : await cacheFile(context, key, file, type, compressible);
    // Ranges are always of the identity representation: they are never compressed.
    const wantsRange = exchange.method === 'GET' && exchange.header('range') !== undefined;
    const representation = compressible && !wantsRange ? await chooseCoding(context, exchange, file, siblings, opened, body, type) : identity(context, file, body, type, compressible);
    return respond(exchange, representation, type, release, file.urlPath);
  } catch (error) {
    release();
    throw error;
  }
}

function identity(context: Context, file: OpenFile, body: Buffer | undefined, type: string, compressible: boolean): Representation {
  const { size, mtimeMs } = file.stats;
  const etag = fileEntityTag(size, mtimeMs);
  return { etag, lastModified: mtimeMs, size, coding: undefined, headers: fileHeaders(context.options, etag, mtimeMs, size, type, compressible, undefined), body: body ?? file.handle };
}

/**
 * Remembers a file for the fast path; for a small file, reads it whole and returns its bytes.
 * Bytes that do not match the size just checked (the file is being rewritten) are not kept.
 */
async function cacheFile(context: Context, key: string, file: ServedFile, type: string, compressible: boolean): Promise<Buffer | undefined> {
  const { size, mtimeMs, ino } = file.stats;
  let body: Buffer | undefined;
  if (size <= MAX_CACHED_BODY_BYTES) {
    body = await file.handle.readFile();
    if (body.length !== size) return undefined;
  }
  const etag = fileEntityTag(size, mtimeMs);
  const headers = fileHeaders(context.options, etag, mtimeMs, size, type, compressible, undefined);
  // A file with other names may change through them, which no watch of this path sees.
  const watchRoot = file.stats.nlink === 1 ? context.realRoot : undefined;
  context.caches.files.store(key, { realPath: file.path, urlPath: file.urlPath, ino, size, mtimeMs, etag, type, compressible, headers, body, resolvedAt: Date.now(), variants: new Map(), watched: false }, watchRoot);
  return body;
}

const NO_SIBLINGS: ReadonlyMap<Coding, Stats> = new Map();

/** Precompressed siblings of a file (`file.br`, `file.zst`, `file.gz`) that exist now. */
async function findPrecompressed(path: string): Promise<ReadonlyMap<Coding, Stats>> {
  const siblings = new Map<Coding, Stats>();
  for (const coding of CODINGS) {
    const info = await stat(siblingPath(path, coding)).catch(() => undefined);
    if (info?.isFile()) siblings.set(coding, info);
  }
  return siblings;
}

function siblingPath(path: string, coding: Coding): string {
  return `${path}.${coding === 'gzip' ? 'gz' : coding === 'zstd' ? 'zst' : coding}`;
}

/**
 * Picks the representation for Accept-Encoding: a precompressed sibling (`file.br`,
 * `file.gz`) if there is one, else a compressed copy from the cache for mid-sized files.
 */
async function chooseCoding(context: Context, exchange: Exchange, file: OpenFile, siblings: ReadonlyMap<Coding, Stats>, opened: FileHandle[], body: Buffer | undefined, type: string): Promise<Representation> {
  const compressOnTheFly = file.stats.size >= ON_THE_FLY_MIN_BYTES && file.stats.size <= ON_THE_FLY_MAX_BYTES;
  const available = CODINGS.filter((coding) => siblings.has(coding) || compressOnTheFly);
  const coding = negotiateCoding(exchange.header('accept-encoding'), available);
  if (coding === undefined) return identity(context, file, body, type, true);
  const { size, mtimeMs } = file.stats;
  if (siblings.has(coding)) {
    const sibling = await openInside(containment(context), siblingPath(file.path, coding));
    if (typeof sibling === 'object') opened.push(sibling.handle);
    if (typeof sibling === 'object' && sibling.stats.isFile()) {
      const etag = fileEntityTag(sibling.stats.size, sibling.stats.mtimeMs, coding);
      const lastModified = Math.max(sibling.stats.mtimeMs, mtimeMs);
      return { etag, lastModified, size: sibling.stats.size, coding, headers: fileHeaders(context.options, etag, lastModified, sibling.stats.size, type, true, coding), body: sibling.handle };
    }
    if (!compressOnTheFly) return identity(context, file, body, type, true);
  }
  const buffer = await context.caches.compressed.get(compressionKey(file.path, size, mtimeMs, coding), coding, () => (body ? Promise.resolve(body) : file.handle.readFile()));
  const etag = fileEntityTag(size, mtimeMs, coding);
  return { etag, lastModified: mtimeMs, size: buffer.length, coding, headers: fileHeaders(context.options, etag, mtimeMs, buffer.length, type, true, coding), body: buffer };
}

async function listFolder(context: Context, exchange: Exchange, mapped: Extract<MappedPath, { ok: true }>, folder: string): Promise<Response> {
  const sort = parseListingSort(mapped.query);
  const entries = sortListing(await readListing(context.realRoot, folder), sort);
  const wantsJson = /\bapplication\/json\b/i.test(exchange.header('accept') ?? '');
  const body = wantsJson ? renderListingJson(mapped.segments, entries) : renderListingHtml(mapped.segments, entries, sort);
  const headers = {
    'content-type': wantsJson ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-cache',
    vary: 'Accept',
    'x-content-type-options': 'nosniff',
  };
  return bytesResponse(200, headers, exchange.method === 'HEAD' ? undefined : body);
}

/**
 * The slash form of a folder's URL, built from the checked segments (each encoded), so it is
 * always a path on this site: never `//host/`, never cut short by a `?` or `#` in a name.
 */
function folderLocation(segments: readonly string[], query: string): string {
  return `/${segments.map(encodeURIComponent).join('/')}/${query}`;
}

/** The root a path must stay inside once its links are resolved; undefined with `symlinks: follow`. */
function containment(context: Context): string | undefined {
  return context.options.followSymlinks ? undefined : context.realRoot;
}

/** Opens a path only if, with every symbolic link resolved, it is still inside the root (when there is one to keep to). */
async function openInside(realRoot: string | undefined, path: string): Promise<OpenFile | typeof OUTSIDE | 403 | 404> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    return statusForError(error);
  }
  if (realRoot !== undefined && real !== realRoot && !real.startsWith(realRoot + sep)) return OUTSIDE;
  return openFile(real);
}

async function openFile(real: string): Promise<OpenFile | 403 | 404> {
  let handle: FileHandle;
  try {
    handle = await open(real, OPEN_FLAGS);
  } catch (error) {
    return statusForError(error);
  }
  try {
    return { handle, path: real, stats: await handle.stat() };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function statusForError(error: unknown): 403 | 404 {
  const code = systemErrorCode(error);
  if (code === 'EACCES' || code === 'EPERM') return 403;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP' || code === 'ENXIO') return 404;
  throw error;
}
