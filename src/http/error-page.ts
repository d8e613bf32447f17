import { STATUS_CODES } from 'node:http';
import type { ServerResponse } from './response.js';

/** A small, consistent HTML error page, sent whole; for HEAD, only its headers. */
export function sendError(res: ServerResponse, status: number, isHead: boolean, headers: Record<string, string> = {}): void {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  const body = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><hr><p>Portico</p></body></html>\n`;
  res.writeHead(status, {
    ...headers,
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'x-content-type-options': 'nosniff',
  });
  if (isHead) res.end();
  else res.end(body);
}
