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
 * Composes handlers into one, in order (hono's compose), once per site. A handler may pass an
 * exchange on at most once: a second `next()` (a bug in a handler, which would answer one request
 * twice) throws, and the pipeline's catch answers 500 and logs it. Nothing in between turns a
 * synchronous answer into a promise.
 */
export function compose(handlers: readonly Handler[], last: Next): Next {
  return handlers.reduceRight<Next>((next, handler) => (PASSES_ON_ONCE.has(handler) ? (exchange) => handler(exchange, next) : (exchange) => handler(exchange, once(next))), last);
}

const PASSES_ON_ONCE = new WeakSet<Handler>();

/**
 * Marks a handler that passes a request on at most once by construction (the site rule kinds,
 * each a few lines with one `next` call on every path): compose hands it `next` itself, without
 * the guard's closure, so a site's rules cost per request what the one handler they were did.
 */
export function passesOnOnce(handler: Handler): Handler {
  PASSES_ON_ONCE.add(handler);
  return handler;
}

/** `next`, callable once; the closure is the only per-request cost of the guard. */
function once(next: Next): Next {
  let called = false;
  return (exchange) => {
    if (called) throw Object.assign(new Error('a handler passed the request on twice (called next() a second time)'), { code: 'ERR_NEXT_CALLED_TWICE' });
    called = true;
    return next(exchange);
  };
}
