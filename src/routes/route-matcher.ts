import type { BlockList } from 'node:net';
import type { MatchPlan } from '../config/plan.js';
import { decodedPath, type Exchange } from '../http/exchange.js';
import { compileRule, rulePaths, underPrefix } from '../http/rules/path-pattern.js';
import { addressList, clientAddress, isTrusted } from '../http/client-address.js';

/** Whether a route takes an exchange. Pure, and asked before the body is read. */
export type RouteMatcher = (exchange: Exchange) => boolean;

/**
 * A route's conditions as one test: every condition must hold, and within one any value may
 * (caddy's matcher sets). `path` matches the decoded, normalised path with the rules' patterns and
 * spellings, so no spelling of a path dodges a route that protects it; `client` the real client
 * address (through the site's trusted proxies), never a header a client can set.
 *
 * `isProxied` says whether a path is one an application behind a proxy route reads: there path
 * patterns ignore case, as rules do, unless `caseSensitive: true`.
 */
export function compileMatcher(match: MatchPlan, trusted: BlockList | undefined, isProxied: (path: string) => boolean): RouteMatcher {
  const tests: RouteMatcher[] = [];
  if (match.method !== undefined) {
    // GET takes HEAD too, as HTTP has it (RFC 9110 §9.3.2) and nginx's limit_except does.
    const methods = new Set(match.method.includes('GET') ? [...match.method, 'HEAD'] : match.method);
    tests.push((exchange) => methods.has(exchange.method));
  }
  if (match.prefix !== undefined) {
    const prefix = match.prefix;
    tests.push((exchange) => {
      const path = decodedPath(exchange);
      return path !== undefined && underPrefix(path, prefix);
    });
  }
  if (match.path !== undefined) {
    const patterns = match.path.map((pattern) => compileRule(pattern, match.caseSensitive));
    tests.push((exchange) => {
      const path = decodedPath(exchange);
      if (path === undefined) return false;
      const paths = rulePaths(path, isProxied(path));
      return patterns.some((pattern) => pattern(paths));
    });
  }
  for (const [name, values] of Object.entries(match.header ?? {})) tests.push(valueTest(values, (exchange) => headerValues(exchange.header(name))));
  for (const [name, values] of Object.entries(match.query ?? {})) tests.push(valueTest(values, (exchange) => queryValues(exchange.query, name)));
  if (match.client !== undefined) {
    const list = addressList(match.client);
    tests.push((exchange) => {
      const address = clientAddress(exchange, trusted);
      return address !== undefined && isTrusted(list, address);
    });
  }
  if (tests.length === 1) return tests[0]!;
  return (exchange) => tests.every((test) => test(exchange));
}

/**
 * A header's or a parameter's condition: one of the values, exactly, or `*` for present at all.
 * A value given more than once (a header repeated or sent as a list, a parameter repeated) matches
 * when any of its values does, so a route that refuses `X-Mode: debug` cannot be dodged by
 * sending it twice, or beside another value.
 */
function valueTest(values: readonly string[], read: (exchange: Exchange) => readonly string[] | undefined): RouteMatcher {
  const any = values.includes('*');
  const accepted = new Set(values);
  return (exchange) => {
    const found = read(exchange);
    return found !== undefined && (any || found.some((value) => accepted.has(value)));
  };
}

/** A header's value, and, when it is a list (repeated lines are joined with commas), each of its members. */
function headerValues(value: string | undefined): readonly string[] | undefined {
  if (value === undefined) return undefined;
  return value.includes(',') ? [value, ...value.split(',').map((member) => member.trim())] : [value];
}

/** Every value of a query parameter, decoded as a form would be; undefined if absent. */
function queryValues(query: string, name: string): readonly string[] | undefined {
  if (query.length < 2) return undefined;
  const values = new URLSearchParams(query.slice(1)).getAll(name);
  return values.length === 0 ? undefined : values;
}
