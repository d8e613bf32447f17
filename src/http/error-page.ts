import { STATUS_CODES } from 'node:http';
import { type PreparedResponse, type ServerResponse, writePrepared } from './response.js';

/** A small, consistent HTML error page; for HEAD, only its headers. */
export function errorPage(status: number, isHead: boolean, headers: Record<string, string> = {}): PreparedResponse {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  const body = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><hr><p>Portico</p></body></html>\n`;
  return {
    status,
    headers: { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'x-content-type-options': 'nosniff' },
    body: isHead ? undefined : body,
  };
}

export function sendError(res: ServerResponse, status: number, isHead: boolean, headers: Record<string, string> = {}): void {
  writePrepared(res, errorPage(status, isHead, headers));
}
