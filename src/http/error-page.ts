import { STATUS_CODES } from 'node:http';
import { bytesResponse, type Response } from './response.js';

/** A small, consistent HTML error page; for HEAD, only its headers. */
export function errorPage(status: number, isHead: boolean, headers: Readonly<Record<string, string>> = {}): Response {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  const body = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><hr><p>Portico</p></body></html>\n`;
  return bytesResponse(
    status,
    { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'x-content-type-options': 'nosniff' },
    isHead ? undefined : body,
  );
}
