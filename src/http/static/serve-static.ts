import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, realpath, stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { describeError, systemErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { errorPage, sendError } from '../error-page.js';
import { type MappedPath, mapPath } from '../map-path.js';
import { type FastResponder, headerValue, type PreparedResponse, type RequestHandler, type ServerRequest, type ServerResponse, type SiteHandler, writePrepared } from '../response.js';
import { contentRange, parseRange } from './byte-range.js';
import { CompressionCache, compressionKey, ON_THE_FLY_MAX_BYTES, ON_THE_FLY_MIN_BYTES } from './compression-cache.js';
import { type ConditionalHeaders, evaluatePreconditions, ifRangeAllows } from './conditional.js';
import { CODINGS, type Coding, negotiateCoding } from './content-coding.js';
import { contentTypeFor, isCompressibleType } from './content-type.js';
import { parseListingSort, readListing, renderListingHtml, renderListingJson, sortListing } from './directory-listing.js';
import { fileEntityTag } from './entity-tag.js';
import { type CachedFile, type CompressedVariant, FileCache, MAX_CACHED_BODY_BYTES } from './file-cache.js';
import { multipartLayout } from './multipart-byteranges.js';
import { sendChunk, sendFileRange } from './send-body.js';

export interface StaticOptions {
  /** List folders that have no default document (otherwise 403). */
  readonly browse: boolean;
  readonly cacheControl: string;
}

const DEFAULT_DOCUMENTS = ['index.html', 'index.htm', 'default.htm', 'default.html'] as const;
const ALLOW = 'GET, HEAD, OPTIONS';
/** O_NONBLOCK: opening a FIFO left in the root must not block a thread-pool thread forever. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

interface Context {
  readonly realRoot: string;
  readonly options: StaticOptions;
  readonly cache: CompressionCache;
  readonly files: FileCache;
  readonly log: Logger;
}

/**
 * Serves files under `root` with the semantics of RFC 9110 (docs/static-files.md maps each
 * behaviour to its section). Every failure ends in a status code, or, once headers are sent,
 * in destroying that one response; none escapes to the process.
 */
export async function createStaticHandler(root: string, options: StaticOptions, log: Logger): Promise<SiteHandler> {
  const context: Context = { realRoot: await realpath(root), options, cache: new CompressionCache(), files: new FileCache(), log };
  const fail = (req: ServerRequest, res: ServerResponse, error: unknown): void => {
    log.error(`${req.method} ${req.url}: ${describeError(error)}`);
    if (!res.headersSent) sendError(res, 500, req.method === 'HEAD');
    else res.destroy();
  };
  const respondFast: FastResponder = (method, url, get) => respondFromCache(context, method, url, get);
  const handle: RequestHandler = (req, res) => {
    try {
      const prepared = respondFast(req.method ?? 'GET', req.url ?? '/', (name) => header(req, name));
      if (prepared !== undefined) return writePrepared(res, prepared);
    } catch (error) {
      return fail(req, res, error);
    }
    serve(context, req, res).catch((error: unknown) => fail(req, res, error));
  };
  return { handle, respondFast };
}

/**
 * The fast path, decided synchronously and in memory: a GET or HEAD whose path was served
 * before. The key is the raw path, which mapPath() already accepted when the entry was made, so
 * it is not parsed again; the entry itself is checked against the file on disk
 * (FileCache.lookup). Undefined when the request needs the full path (a range, a large file, a
 * compressed body not compressed yet).
 */
function respondFromCache(context: Context, method: string, url: string, get: (name: string) => string | undefined): PreparedResponse | undefined {
  if ((method !== 'GET' && method !== 'HEAD') || get('range') !== undefined) return undefined;
  const file = context.files.lookup(rawPath(url), Date.now());
  if (file === undefined) return undefined;
  let body = file.body;
  let headers = file.headers;
  let etag = file.etag;
  if (file.compressible && file.size >= ON_THE_FLY_MIN_BYTES && file.size <= ON_THE_FLY_MAX_BYTES) {
    const coding = negotiateCoding(get('accept-encoding'), CODINGS);
    if (coding !== undefined) {
      const variant = compressedVariant(context, file, coding);
      body = variant && context.cache.peek(variant.cacheKey);
      if (variant === undefined || body === undefined) return undefined;
      ({ headers, etag } = variant);
    }
  }
  if (body === undefined) return undefined;
  const outcome = evaluatePreconditions(conditionalHeaders(method, get), { etag, lastModified: file.mtimeMs });
  if (outcome === 'not-modified') return { status: 304, headers: notModifiedHeaders(headers), body: undefined };
  if (outcome === 'precondition-failed') return errorPage(412, method === 'HEAD');
  return { status: 200, headers, body: method === 'HEAD' ? undefined : body };
}

function rawPath(url: string | undefined): string {
  const target = url ?? '/';
  const queryAt = target.indexOf('?');
  return queryAt === -1 ? target : target.slice(0, queryAt);
}

async function serve(context: Context, req: ServerRequest, res: ServerResponse): Promise<void> {
  const isHead = req.method === 'HEAD';
  if (req.method === 'OPTIONS') {
    res.writeHead(204, { allow: ALLOW });
    res.end();
    return;
  }
  if (req.method !== 'GET' && !isHead) return sendError(res, 405, false, { allow: ALLOW });
  const mapped = mapPath(req.url ?? '/');
  if (!mapped.ok) {
    context.log.warn(`${req.method} ${JSON.stringify(req.url)} from ${req.socket?.remoteAddress} refused with ${mapped.status}: ${mapped.reason}`);
    return sendError(res, mapped.status, isHead);
  }
  const target = await resolveTarget(context, mapped);
  if ('status' in target) {
    if (target.outside) context.log.warn(`${req.method} ${JSON.stringify(req.url)} from ${req.socket?.remoteAddress} refused with 404: a symbolic link leads outside the root`);
    return sendError(res, target.status, isHead, target.headers);
  }
  if ('folder' in target) return sendListing(context, req, res, mapped, target.folder);
  await sendFile(context, req, res, target, rawPath(req.url));
}

/** The headers of a compressed representation, once its body is in the compression cache. */
function compressedVariant(context: Context, file: CachedFile, coding: Coding): CompressedVariant | undefined {
  const known = file.variants.get(coding);
  if (known !== undefined) return known;
  const cacheKey = compressionKey(file.realPath, file.size, file.mtimeMs, coding);
  const body = context.cache.peek(cacheKey);
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

function conditionalHeaders(method: string, get: (name: string) => string | undefined): ConditionalHeaders {
  return { method, ifMatch: get('if-match'), ifNoneMatch: get('if-none-match'), ifModifiedSince: get('if-modified-since'), ifUnmodifiedSince: get('if-unmodified-since') };
}

/** The headers of a 200 for one representation of a file, all but Content-Length; a 304 takes its subset. */
function fileHeaders(options: StaticOptions, etag: string, lastModified: number, type: string, compressible: boolean, coding: Coding | undefined): Record<string, string> {
  return {
    etag,
    'cache-control': options.cacheControl,
    ...(compressible ? { vary: 'Accept-Encoding' } : {}),
    'last-modified': new Date(lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    'content-type': type,
    'x-content-type-options': 'nosniff',
    ...(coding ? { 'content-encoding': coding } : {}),
  };
}

interface OpenFile {
  readonly handle: FileHandle;
  readonly path: string;
  readonly stats: Stats;
}

interface Refusal {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** The path exists but resolves outside the root: worth a log line. */
  readonly outside?: boolean;
}

const OUTSIDE = 'outside';

/** What a request names: a file (or a folder's default document), a folder to list, or a refusal. */
async function resolveTarget(context: Context, mapped: Extract<MappedPath, { ok: true }>): Promise<OpenFile | { folder: string } | Refusal> {
  const found = await openInside(context.realRoot, join(context.realRoot, ...mapped.segments));
  if (found === OUTSIDE) return { status: 404, outside: true };
  if (typeof found === 'number') return { status: found };
  if (found.stats.isFile()) return found;
  await found.handle.close();
  if (!found.stats.isDirectory()) return { status: 404 };
  if (!mapped.trailingSlash) return { status: 301, headers: { location: folderLocation(mapped.segments, mapped.query) } };
  for (const name of DEFAULT_DOCUMENTS) {
    const document = await openInside(context.realRoot, join(found.path, name));
    if (typeof document !== 'object') continue;
    if (document.stats.isFile()) return document;
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
  readonly body: { readonly handle: FileHandle } | { readonly buffer: Buffer };
}

async function sendFile(context: Context, req: ServerRequest, res: ServerResponse, file: OpenFile, key: string): Promise<void> {
  const opened: FileHandle[] = [file.handle];
  try {
    const type = contentTypeFor(basename(file.path));
    const compressible = isCompressibleType(type);
    const siblings = compressible ? await findPrecompressed(file.path) : NO_SIBLINGS;
    // Files with precompressed siblings always take this path (the siblings can change apart).
    const body = siblings.size === 0 ? await cacheFile(context, key, file, type, compressible) : undefined;
    // Ranges are always of the identity representation: they are never compressed.
    const wantsRange = req.method === 'GET' && req.headers.range !== undefined;
    const representation = compressible && !wantsRange ? await chooseCoding(context, req, file, siblings, opened, body) : identity(file, body);
    const headers = fileHeaders(context.options, representation.etag, representation.lastModified, type, compressible, representation.coding);
    const outcome = evaluatePreconditions(conditionalHeaders(req.method ?? 'GET', (name) => header(req, name)), representation);
    if (outcome === 'not-modified') {
      res.writeHead(304, notModifiedHeaders(headers));
      res.end();
      return;
    }
    if (outcome === 'precondition-failed') return sendError(res, 412, req.method === 'HEAD');
    if (wantsRange && ifRangeAllows(header(req, 'if-range'), representation)) {
      const handled = await sendRanges(res, header(req, 'range'), representation, type, headers);
      if (handled) return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(representation.size) });
    if (req.method === 'HEAD') return void res.end();
    await sendBody(res, representation, { start: 0, end: representation.size - 1 });
  } finally {
    await Promise.all(opened.map((handle) => handle.close().catch(() => undefined)));
  }
}

/** Answers a Range request with 206 or 416; false when the header is to be ignored (send 200). */
async function sendRanges(res: ServerResponse, rangeHeader: string | undefined, representation: Representation, type: string, headers: Record<string, string>): Promise<boolean> {
  const request = parseRange(rangeHeader, representation.size);
  if (request.kind === 'ignore') return false;
  if (request.kind === 'unsatisfiable') {
    sendError(res, 416, false, { 'content-range': `bytes */${representation.size}` });
    return true;
  }
  const [only, ...more] = request.ranges;
  if (only && more.length === 0) {
    res.writeHead(206, { ...headers, 'content-range': contentRange(only, representation.size), 'content-length': String(only.end - only.start + 1) });
    await sendBody(res, representation, only);
    return true;
  }
  const layout = multipartLayout(request.ranges, representation.size, type);
  res.writeHead(206, { ...headers, 'content-type': layout.contentType, 'content-length': String(layout.length) });
  for (const part of layout.parts) {
    await sendChunk(res, part.head);
    if (!(await sendRange(res, representation, part.range))) return true;
  }
  await sendChunk(res, layout.tail);
  res.end();
  return true;
}

/** Sends one range and ends the response, or destroys it if the file came up short. */
async function sendBody(res: ServerResponse, representation: Representation, range: { start: number; end: number }): Promise<void> {
  if (range.end < range.start) return void res.end();
  if (await sendRange(res, representation, range)) res.end();
}

async function sendRange(res: ServerResponse, representation: Representation, range: { start: number; end: number }): Promise<boolean> {
  const { body } = representation;
  if ('buffer' in body) {
    await sendChunk(res, body.buffer.subarray(range.start, range.end + 1));
    return true;
  }
  const complete = await sendFileRange(res, body.handle, range);
  // The file shrank while it was being sent: ending now would leave the client waiting for
  // bytes its Content-Length promised. Cut this response; the worker carries on.
  if (!complete) res.destroy();
  return complete;
}

function identity(file: OpenFile, body: Buffer | undefined): Representation {
  return { etag: fileEntityTag(file.stats.size, file.stats.mtimeMs), lastModified: file.stats.mtimeMs, size: file.stats.size, coding: undefined, body: body ? { buffer: body } : { handle: file.handle } };
}

/**
 * Remembers a file for the fast path; for a small file, reads it whole and returns its bytes.
 * Bytes that do not match the size just checked (the file is being rewritten) are not kept.
 */
async function cacheFile(context: Context, key: string, file: OpenFile, type: string, compressible: boolean): Promise<Buffer | undefined> {
  const { size, mtimeMs, ino } = file.stats;
  let body: Buffer | undefined;
  if (size <= MAX_CACHED_BODY_BYTES) {
    body = await file.handle.readFile();
    if (body.length !== size) return undefined;
  }
  const etag = fileEntityTag(size, mtimeMs);
  const headers = { ...fileHeaders(context.options, etag, mtimeMs, type, compressible, undefined), 'content-length': String(size) };
  context.files.store(key, { realPath: file.path, ino, size, mtimeMs, etag, type, compressible, headers, body, resolvedAt: Date.now(), variants: new Map() });
  return body;
}

const NO_SIBLINGS: ReadonlyMap<Coding, Stats> = new Map();

/** Precompressed siblings of a file (`file.br`, `file.gz`) that exist now. */
async function findPrecompressed(path: string): Promise<ReadonlyMap<Coding, Stats>> {
  const siblings = new Map<Coding, Stats>();
  for (const coding of CODINGS) {
    const info = await stat(siblingPath(path, coding)).catch(() => undefined);
    if (info?.isFile()) siblings.set(coding, info);
  }
  return siblings;
}

function siblingPath(path: string, coding: Coding): string {
  return `${path}.${coding === 'gzip' ? 'gz' : coding}`;
}

/**
 * Picks the representation for Accept-Encoding: a precompressed sibling (`file.br`,
 * `file.gz`) if there is one, else a compressed copy from the cache for mid-sized files.
 */
async function chooseCoding(context: Context, req: ServerRequest, file: OpenFile, siblings: ReadonlyMap<Coding, Stats>, opened: FileHandle[], body: Buffer | undefined): Promise<Representation> {
  const compressOnTheFly = file.stats.size >= ON_THE_FLY_MIN_BYTES && file.stats.size <= ON_THE_FLY_MAX_BYTES;
  const available = CODINGS.filter((coding) => siblings.has(coding) || compressOnTheFly);
  const coding = negotiateCoding(header(req, 'accept-encoding'), available);
  if (coding === undefined) return identity(file, body);
  if (siblings.has(coding)) {
    const sibling = await openInside(context.realRoot, siblingPath(file.path, coding));
    if (typeof sibling === 'object' && sibling.stats.isFile()) {
      opened.push(sibling.handle);
      const { size, mtimeMs } = sibling.stats;
      return { etag: fileEntityTag(size, mtimeMs, coding), lastModified: Math.max(mtimeMs, file.stats.mtimeMs), size, coding, body: { handle: sibling.handle } };
    }
    if (typeof sibling === 'object') opened.push(sibling.handle);
    if (!compressOnTheFly) return identity(file, body);
  }
  const { size, mtimeMs } = file.stats;
  const buffer = await context.cache.get(compressionKey(file.path, size, mtimeMs, coding), coding, () => (body ? Promise.resolve(body) : file.handle.readFile()));
  return { etag: fileEntityTag(size, mtimeMs, coding), lastModified: mtimeMs, size: buffer.length, coding, body: { buffer } };
}

async function sendListing(context: Context, req: ServerRequest, res: ServerResponse, mapped: Extract<MappedPath, { ok: true }>, folder: string): Promise<void> {
  const sort = parseListingSort(mapped.query);
  const entries = sortListing(await readListing(context.realRoot, folder), sort);
  const wantsJson = /\bapplication\/json\b/i.test(header(req, 'accept') ?? '');
  const body = wantsJson ? renderListingJson(mapped.segments, entries) : renderListingHtml(mapped.segments, entries, sort);
  res.writeHead(200, {
    'content-type': wantsJson ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-cache',
    vary: 'Accept',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}

function header(req: ServerRequest, name: string): string | undefined {
  return headerValue(req.headers, name);
}

/**
 * The slash form of a folder's URL, built from the checked segments (each encoded), so it is
 * always a path on this site: never `//host/`, never cut short by a `?` or `#` in a name.
 */
function folderLocation(segments: readonly string[], query: string): string {
  return `/${segments.map(encodeURIComponent).join('/')}/${query}`;
}

/** Opens a path only if, with every symbolic link resolved, it is still inside the root. */
async function openInside(realRoot: string, path: string): Promise<OpenFile | typeof OUTSIDE | 403 | 404> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    return statusForError(error);
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return OUTSIDE;
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
