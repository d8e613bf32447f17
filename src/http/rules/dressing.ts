import type { Outcome } from '../handler.js';
import type { Response } from '../response.js';

/**
 * What the rule kinds that dress an answer share (header rules, HSTS, CORS headers, in a row on
 * one response): the first to change a header copies the response and its headers once, and the
 * ones after it edit that copy in place. A site with three such rules pays one copy per response,
 * as when the rules were one handler; an answer no rule changes is not copied at all. A copy is
 * known by its headers object, made here for this exchange alone: never a cached response's.
 */
const COPIED = new WeakSet<object>();

/** The response with headers this exchange's rules may edit: the response itself when a rule copied it already. */
export function withOwnHeaders(response: Response): Response & { readonly headers: Record<string, string> } {
  if (COPIED.has(response.headers)) return response as Response & { readonly headers: Record<string, string> };
  const headers = { ...response.headers };
  COPIED.add(headers);
  return { ...response, headers };
}

/** Runs `dress` on an answer now or once it comes; the one closure is for an answer that comes later. */
export function dressOutcome<A>(outcome: Outcome, dress: (response: Response, arg: A) => Response, arg: A): Outcome {
  return outcome instanceof Promise ? outcome.then((response) => dress(response, arg)) : dress(outcome, arg);
}
