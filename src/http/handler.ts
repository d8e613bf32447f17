import type { Exchange } from './exchange.js';
import type { Response } from './response.js';

/** A handler may answer at once (a cache hit goes out synchronously) or later. */
export type Outcome = Response | Promise<Response>;

/** The rest of the chain after a handler. */
export type Next = (exchange: Exchange) => Outcome;

/**
 * One step of a site's chain: answer the exchange, or pass it on with `next(exchange)`.
 * Handlers are transport-neutral, so each is tested in-process by handing it an Exchange.
 */
export type Handler = (exchange: Exchange, next: Next) => Outcome;

/**
 * Composes handlers into one, in order (hono's compose), once per site: no closure is made per
 * request, and nothing in between turns a synchronous answer into a promise.
 */
export function compose(handlers: readonly Handler[], last: Next): Next {
  return handlers.reduceRight<Next>((next, handler) => (exchange) => handler(exchange, next), last);
}
