import type { SitePlan } from '../../config/plan.js';
import { errorPage } from '../error-page.js';
import type { Exchange } from '../exchange.js';
import type { Handler, Outcome } from '../handler.js';
import { SIGNED_IN_USER } from '../request-state.js';
import { bytesResponse, type Response } from '../response.js';
import { BasicAuth } from './basic-auth.js';
import type { FailureLimit } from '../../limits/failure-limit.js';
import { compilePattern, compileRule, isProxiedPath, normalisedPath, type RulePaths, rulePaths } from './path-pattern.js';
import { redirectTarget } from './redirect-target.js';

export interface RulesContext {
  /** The site's files, for its error pages. */
  readonly files: Handler;
  /** The HTTPS port clients use (the bound one when the plan says 0); undefined without HTTPS. */
  readonly httpsPort: () => number | undefined;
  /** The worker's failed sign-ins per address, shared by every site and kept across reloads. */
  readonly signInFailures: FailureLimit;
  /** Whether an application behind a proxy reads this path (rules ignore case there); default: the site's `proxy` prefixes. */
  readonly isProxied?: (path: string) => boolean;
}

const ACME_CHALLENGE = '/.well-known/acme-challenge/';

/**
 * What a site says beyond its files, as one handler in front of them (docs/config.md, "Site
 * rules"). Before the files: HTTPS redirect, redirects, CORS preflight, authentication. After
 * them, on whatever response comes back: error pages, header rules, HSTS, CORS headers. Every
 * rule matches the decoded, normalised path, computed once per request. A site without rules has
 * no such handler, so its cache hits pay nothing.
 */
export function createRulesHandler(site: SitePlan, context: RulesContext): SiteRulesHandler | undefined {
  const rules = site.rules;
  const has = rules.httpsRedirect || rules.redirects.length > 0 || rules.cors !== undefined || rules.auth.length > 0 || rules.headers.length > 0 || rules.hsts !== undefined || Object.keys(rules.errorPages).length > 0;
  if (!has) return undefined;
  const redirects = rules.redirects.map((rule) => ({ ...rule, match: compilePattern(rule.from), prefix: rule.from.endsWith('/') && !rule.from.includes('*') ? rule.from : undefined }));
  const auth = rules.auth.map((rule) => ({ match: compileRule(rule.path, rule.caseSensitive), check: new BasicAuth(rule, context.signInFailures) }));
  const headers = rules.headers.map((rule) => ({ ...rule, match: compileRule(rule.path, rule.caseSensitive) }));
  // The spellings auth and header rules match: a request's path (and, on a proxied path, what an
  // application may read it as), and the file a static response actually came from.
  const isProxied = context.isProxied ?? ((path: string) => isProxiedPath(site.proxy, path));
  const pathsOf = (path: string): RulePaths => rulePaths(path, isProxied(path));
  const servedPaths = (path: string | undefined, response: Response): RulePaths | undefined => (response.servedPath !== undefined && response.servedPath !== path ? rulePaths(response.servedPath, false) : undefined);
  const errorPages = new Map(Object.entries(rules.errorPages).map(([status, page]) => [Number(status), page]));
  const cors = rules.cors;

  const after = (exchange: Exchange, path: string | undefined, response: Response): Outcome => {
    // An application's own error (a streamed, proxied response) is its to word: only Portico's are replaced.
    const page = response.status >= 400 && response.body.kind !== 'stream' ? errorPages.get(response.status) : undefined;
    if (page !== undefined) {
      const replaced = withErrorPage(context.files, exchange, response, page);
      return replaced instanceof Promise ? replaced.then((final) => decorate(exchange, path, final)) : decorate(exchange, path, replaced);
    }
    return decorate(exchange, path, response);
  };

  const decorate = (exchange: Exchange, path: string | undefined, response: Response): Response => {
    let out: Record<string, string> | undefined;
    const edit = (): Record<string, string> => (out ??= { ...response.headers });
    // A path the mapping refuses (`%2F`, `/./`: answered 400) is matched as sent, so a rule for
    // every path (`/**`, `always: true`) dresses that refusal too.
    const asked = headers.length === 0 ? undefined : pathsOf(path ?? exchange.path);
    const served = asked === undefined ? undefined : servedPaths(path, response);
    for (const rule of headers) {
      // A header rule is for what was found (a page, an asset): not an error unless it says `always`.
      if (asked === undefined || (response.status >= 400 && !rule.always)) continue;
      if (!rule.match(asked) && !(served !== undefined && rule.match(served))) continue;
      const target = edit();
      for (const name of rule.remove) delete target[name];
      for (const [name, value] of Object.entries(rule.set)) target[name] = value;
      for (const [name, value] of Object.entries(rule.add)) target[name] = target[name] ? `${target[name]}, ${value}` : value;
    }
    if (rules.hsts !== undefined && exchange.secure) edit()['strict-transport-security'] = rules.hsts;
    if (cors) {
      const origin = exchange.header('origin');
      const allowed = origin !== undefined && allowOrigin(cors, origin);
      const target = edit();
      if (!/\bOrigin\b/i.test(target.vary ?? '')) target.vary = target.vary ? `${target.vary}, Origin` : 'Origin';
      if (allowed) {
        target['access-control-allow-origin'] = allowed;
        if (cors.credentials) target['access-control-allow-credentials'] = 'true';
      }
    }
    return out === undefined ? response : { ...response, headers: out };
  };

  const handler: Handler = (exchange, next) => {
    const path = normalisedPath(exchange);
    if (rules.httpsRedirect && !exchange.secure && !(path ?? '').startsWith(ACME_CHALLENGE)) {
      const port = context.httpsPort();
      if (port !== undefined) {
        const authority = port === 443 ? exchange.host : `${exchange.host.includes(':') && !exchange.host.startsWith('[') ? `[${exchange.host}]` : exchange.host}:${port}`;
        return decorate(exchange, path, redirect(308, `https://${authority}${exchange.target}`, exchange));
      }
    }
    if (path !== undefined) {
      for (const rule of redirects) {
        if (!rule.match(path)) continue;
        const rest = rule.prefix !== undefined ? path.slice(rule.prefix.length) : path;
        return decorate(exchange, path, redirect(rule.status, redirectTarget(rule.to, { path, rest, target: exchange.target, query: exchange.query, host: exchange.host }), exchange));
      }
    }
    if (cors && exchange.method === 'OPTIONS' && exchange.header('origin') !== undefined && exchange.header('access-control-request-method') !== undefined) {
      return decorate(exchange, path, preflight(cors, exchange));
    }
    if (auth.length === 0 || path === undefined) return answer(next(exchange));
    const paths = pathsOf(path);
    const guard = auth.find((rule) => rule.match(paths));
    if (guard === undefined) return answer(next(exchange));
    if (!exchange.secure) return decorate(exchange, path, httpsRequired(exchange));
    return guard.check.check(exchange).then((result) => {
      if ('response' in result) return after(exchange, path, result.response);
      exchange.state.set(SIGNED_IN_USER, result.user);
      return answer(next(exchange), guard);
    });

    /** The files' answer, dressed; first checked against a rule that protects the file it came from, if the request's path did not name it. */
    function answer(outcome: Outcome, passed?: (typeof auth)[number]): Outcome {
      if (auth.length === 0) return outcome instanceof Promise ? outcome.then((response) => after(exchange, path, response)) : after(exchange, path, outcome);
      return outcome instanceof Promise ? outcome.then((response) => guardServed(response, passed)) : guardServed(outcome, passed);
    }

    function guardServed(response: Response, passed: (typeof auth)[number] | undefined): Outcome {
      const served = servedPaths(path, response);
      const late = served === undefined ? undefined : auth.find((rule) => rule.match(served));
      if (late === undefined || late === passed) return after(exchange, path, response);
      if (!exchange.secure) {
        response.release?.();
        return decorate(exchange, path, httpsRequired(exchange));
      }
      return late.check.check(exchange).then((result) => {
        if ('response' in result) {
          response.release?.();
          return after(exchange, path, result.response);
        }
        exchange.state.set(SIGNED_IN_USER, result.user);
        return after(exchange, path, response);
      });
    }
  };
  return { handler, dress: (exchange, response) => after(exchange, normalisedPath(exchange), response) };
}

/** The rules as a handler, and what they do to an answer no handler made (a transport's refusal). */
export interface SiteRulesHandler {
  readonly handler: Handler;
  readonly dress: (exchange: Exchange, response: Response) => Outcome;
}

function redirect(status: number, location: string, exchange: Exchange): Response {
  return bytesResponse(status, { location, 'content-type': 'text/plain; charset=utf-8' }, exchange.method === 'HEAD' ? undefined : `Redirecting to ${location}\n`);
}

function httpsRequired(exchange: Exchange): Response {
  const body = `This page needs a password, which is only sent over HTTPS: open https://${exchange.host}${exchange.target} (or turn on httpsRedirect for this site).\n`;
  return bytesResponse(403, { 'content-type': 'text/plain; charset=utf-8' }, exchange.method === 'HEAD' ? undefined : body);
}

type Cors = NonNullable<SitePlan['rules']['cors']>;

/** The Access-Control-Allow-Origin value for an origin, or false. `*` only without credentials (the config refuses both). */
function allowOrigin(cors: Cors, origin: string): string | false {
  if (cors.origins.includes(origin)) return origin;
  return cors.origins.includes('*') ? '*' : false;
}

function preflight(cors: Cors, exchange: Exchange): Response {
  const origin = exchange.header('origin')!;
  const allowed = allowOrigin(cors, origin);
  const headers: Record<string, string> = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' };
  if (allowed) {
    headers['access-control-allow-origin'] = allowed;
    headers['access-control-allow-methods'] = cors.methods.join(', ');
    const asked = exchange.header('access-control-request-headers');
    const allowHeaders = cors.headers ? cors.headers.join(', ') : asked;
    if (allowHeaders) headers['access-control-allow-headers'] = allowHeaders;
    if (cors.credentials) headers['access-control-allow-credentials'] = 'true';
    if (cors.maxAge !== undefined) headers['access-control-max-age'] = String(cors.maxAge);
  }
  return { status: 204, headers, body: { kind: 'none' } };
}

/**
 * The site's page for an error status, sent with that status. A page that is missing (or fails)
 * leaves the built-in one: the page is fetched from the files directly, never through the rules
 * again, so an error page cannot loop.
 */
function withErrorPage(files: Handler, exchange: Exchange, original: Response, page: string): Outcome {
  const isHead = exchange.method === 'HEAD';
  const fetch: Exchange = {
    ...exchange,
    method: isHead ? 'HEAD' : 'GET',
    target: page,
    path: page,
    query: '',
    // The page is the answer to another request: no conditionals or ranges of that request apply to it.
    header: (name) => (name === 'accept-encoding' ? exchange.header(name) : undefined),
  };
  const use = (response: Response): Response => {
    if (response.status !== 200) {
      response.release?.();
      return original;
    }
    original.release?.();
    const { etag: _etag, 'last-modified': _lastModified, 'accept-ranges': _ranges, ...headers } = response.headers;
    return { ...response, status: original.status, headers: { ...headers, 'cache-control': 'no-store', ...pick(original.headers, ['allow', 'www-authenticate', 'retry-after']) } };
  };
  let outcome: Outcome;
  try {
    outcome = files(fetch, () => errorPage(404, isHead));
  } catch {
    return original;
  }
  return outcome instanceof Promise ? outcome.then(use, () => original) : use(outcome);
}

function pick(headers: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) if (headers[name] !== undefined) picked[name] = headers[name];
  return picked;
}

