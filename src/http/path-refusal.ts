import type { Logger } from '../log/logger.js';
import { errorPage } from './error-page.js';
import type { Exchange } from './exchange.js';
import type { MappedPath } from './map-path.js';
import type { Response } from './response.js';

/**
 * A path the mapping refuses, answered and logged the one way, wherever it is met: by the files,
 * or before any route (no route's path condition can judge it, so none may take it).
 */
export function refusePath(exchange: Exchange, refused: Extract<MappedPath, { ok: false }>, log: Logger): Response {
  log.warn(`${exchange.method} ${JSON.stringify(exchange.target)} from ${exchange.remoteAddress} refused with ${refused.status}: ${refused.reason}`);
  return errorPage(refused.status, exchange.method === 'HEAD');
}
