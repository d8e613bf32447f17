import type { Exchange } from '../exchange.js';
import { bytesResponse, type Response } from '../response.js';

/** A redirect as rules send it: Location, and a line of text saying where to (none for HEAD). */
export function redirect(status: number, location: string, exchange: Exchange): Response {
  return bytesResponse(status, { location, 'content-type': 'text/plain; charset=utf-8' }, exchange.method === 'HEAD' ? undefined : `Redirecting to ${location}\n`);
}
