import type { Stats } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { contentType } from 'mime-types';
import { describeError, systemErrorCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { sendError } from './error-page.js';
import { type MappedPath, mapPath } from './map-path.js';
import type { RequestHandler, ServerRequest, ServerResponse } from './response.js';

const DEFAULT_DOCUMENTS = ['index.html', 'index.htm', 'default.htm', 'default.html'] as const;
const ALLOW = 'GET, HEAD, OPTIONS';

/**
 * Serves files under `root`. Files are streamed from an open descriptor, so a file is never
 * read whole into memory and the bytes sent belong to the file that was checked. Every failure
 * ends in a status code and, for server faults, a log line; none escapes to the process.
 */
export async function createStaticHandler(root: string, log: Logger): Promise<RequestHandler> {
  const realRoot = await realpath(root);
  return (req, res) => {
    serve(realRoot, req, res, log).catch((error: unknown) => {
      log.error(`${req.method} ${req.url}: ${describeError(error)}`);
      if (!res.headersSent) sendError(res, 500, req.method === 'HEAD');
      else res.destroy();
    });
  };
}

async function serve(realRoot: string, req: ServerRequest, res: ServerResponse, log: Logger): Promise<void> {
  const isHead = req.method === 'HEAD';
  if (req.method === 'OPTIONS') {
    res.writeHead(204, { allow: ALLOW });
    res.end();
    return;
  }
  if (req.method !== 'GET' && !isHead) return sendError(res, 405, false, { allow: ALLOW });
  const mapped = mapPath(req.url ?? '/');
  if (!mapped.ok) {
    log.info(`${req.method} ${JSON.stringify(req.url)} refused with ${mapped.status}: ${mapped.reason}`);
    return sendError(res, mapped.status, isHead);
  }
  const target = await resolveTarget(realRoot, mapped);
  if (!('handle' in target)) return sendError(res, target.status, isHead, target.headers);
  const { handle, path, stats } = target;
  let streaming = false;
  try {
    res.writeHead(200, {
      'content-type': contentType(basename(path)) || 'application/octet-stream',
      'content-length': String(stats.size),
      'last-modified': stats.mtime.toUTCString(),
      'x-content-type-options': 'nosniff',
    });
    if (isHead) {
      res.end();
      return;
    }
    const stream = handle.createReadStream();
    streaming = true;
    await pipeline(stream, res as NodeJS.WritableStream).catch((error: unknown) => {
      // The client went away or the file failed mid-stream: end this response, nothing more.
      if (systemErrorCode(error) !== 'ERR_STREAM_PREMATURE_CLOSE') log.info(`${req.method} ${req.url}: stream ended early: ${describeError(error)}`);
      res.destroy();
    });
  } finally {
    if (!streaming) await handle.close().catch(() => undefined);
  }
}

interface OpenFile {
  readonly handle: FileHandle;
  readonly path: string;
  readonly stats: Stats;
}

interface Refusal {
  readonly status: number;
  readonly headers?: Record<string, string>;
}

/** The file a request names: the file itself, a folder's default document, or a refusal. */
async function resolveTarget(realRoot: string, mapped: Extract<MappedPath, { ok: true }>): Promise<OpenFile | Refusal> {
  const found = await openInside(realRoot, join(realRoot, ...mapped.segments));
  if (typeof found === 'number') return { status: found };
  if (found.stats.isFile()) return found;
  await found.handle.close();
  if (!found.stats.isDirectory()) return { status: 404 };
  if (!mapped.trailingSlash) return { status: 301, headers: { location: folderLocation(mapped.segments, mapped.query) } };
  for (const name of DEFAULT_DOCUMENTS) {
    const document = await openInside(realRoot, join(found.path, name));
    if (typeof document === 'number') continue;
    if (document.stats.isFile()) return document;
    await document.handle.close();
  }
  return { status: 403 };
}

/**
 * The slash form of a folder's URL, built from the checked segments (each encoded), so it is
 * always a path on this site: never `//host/`, never cut short by a `?` or `#` in a name.
 */
function folderLocation(segments: readonly string[], query: string): string {
  return `/${segments.map(encodeURIComponent).join('/')}/${query}`;
}

/** Opens a path only if, with every symbolic link resolved, it is still inside the root. */
async function openInside(realRoot: string, path: string): Promise<OpenFile | 403 | 404> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    return statusForError(error);
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return 404;
  let handle: FileHandle;
  try {
    handle = await open(real, 'r');
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
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP') return 404;
  throw error;
}
