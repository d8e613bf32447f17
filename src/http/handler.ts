import type { Exchange } from './exchange.js';
import type { Response } from './response.js';

/** A handler may answer at once (a cache hit goes out synchronously) or later. */
export type Outcome = Response | Promise<Response>;

/**
 * One step of a site's chain: answer the exchange, or pass it on with `next()`. Handlers are
 * transport-neutral, so each is tested in-process by handing it an Exchange.
 */
export type Handler = (exchange: Exchange, next: () => Outcome) => Outcome;

/**
 * Composes handlers into one, in order (hono's compose). A chain of one handler is that handler,
 * and nothing in between turns a synchronous answer into a promise.
 */
export function compose(handlers: readonly Handler[], last: (exchange: Exchange) => Outcome): (exchange: Exchange) => Outcome {
  return handlers.reduceRight<(exchange: Exchange) => Outcome>((next, handler) => (exchange) => handler(exchange, () => next(exchange)), last);
}
