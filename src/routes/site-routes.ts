import type { RoutePlan, SitePlan } from '../config/plan.js';
import { errorPage } from '../http/error-page.js';
import { decodedPath, type Exchange } from '../http/exchange.js';
import { compose, type Next, type Outcome } from '../http/handler.js';
import { mapPath } from '../http/map-path.js';
import { refusePath } from '../http/path-refusal.js';
import type { Response } from '../http/response.js';
import { compileRule, isProxiedPath, rulePaths } from '../http/rules/path-pattern.js';
import type { CompiledKind, KindContext, NamedRoute } from './kind.js';
import { findKind } from './registry.js';
import { compileMatcher, type RouteMatcher } from './route-matcher.js';
import { siteRulesRoute } from './site-rules-route.js';

/**
 * A site's routes, in the order a request meets them: the site's rules (one route every request
 * takes), the routes its `routes` key lists, one per `proxy` entry (its path prefix), and last
 * its files. The site's other keys are shorthand for these; a site is its routes.
 */
export function siteRoutes(site: SitePlan): RoutePlan[] {
  const rules = siteRulesRoute(site.rules);
  return [
    ...(rules === undefined ? [] : [rules]),
    ...site.routes,
    ...site.proxy.map((route): RoutePlan => ({ name: undefined, match: { prefix: route.path }, handle: [{ kind: 'proxy', config: route }] })),
    { name: undefined, match: undefined, handle: [{ kind: 'files', config: {} }] },
  ];
}

/** A site's routes compiled: one chain for its requests, and what transports ask of it. */
export interface CompiledRoutes {
  /** Answers an exchange; the last route passes on to a 404. */
  readonly chain: Next;
  /** Whether a handler of a route that takes this exchange reads its body (then no body limit applies). */
  readonly readsBody: (exchange: Exchange) => boolean;
  /** What the site's handlers do to an answer none of them made (a transport's refusal). */
  readonly dress: ((exchange: Exchange, response: Response) => Outcome) | undefined;
  readonly close: () => void;
}

interface CompiledRoute {
  readonly name: string | undefined;
  /** The route as planned. */
  readonly plan: RoutePlan;
  /** Undefined: every request. */
  readonly matches: RouteMatcher | undefined;
  /** Reached only by name (a named route without conditions). */
  readonly namedOnly: boolean;
  readonly kinds: readonly CompiledKind[];
}

/**
 * Compiles every route's handlers with their kinds, then chains the routes: a route whose
 * conditions hold runs its handlers in order, the last one's `next` going on to the routes after
 * it; one whose conditions fail is skipped. Built once per configuration: no closure per request
 * but compose's guard.
 */
export async function compileRoutes(routes: readonly RoutePlan[], context: Omit<KindContext, 'named' | 'isProxied'>): Promise<CompiledRoutes> {
  const named = new Map<string, NamedRoute>();
  const isProxied = proxiedPaths(context.site, routes);
  const kindContext: KindContext = { ...context, isProxied, named: (name) => named.get(name) };
  const compiled: CompiledRoute[] = [];
  for (const route of routes) {
    const kinds: CompiledKind[] = [];
    for (const entry of route.handle) {
      const kind = findKind(entry.kind);
      // The plan was checked against the same registry; a kind missing here is a build mismatch.
      if (kind === undefined) throw new Error(`no handler kind named ${entry.kind}`);
      kinds.push(await kind.compile(entry.config, kindContext));
    }
    compiled.push({ name: route.name, plan: route, matches: route.match === undefined ? undefined : compileMatcher(route.match, context.trusted, isProxied), namedOnly: route.name !== undefined && route.match === undefined, kinds });
  }
  const notFound: Next = (exchange) => errorPage(404, exchange.method === 'HEAD');
  const chained = compiled.filter((route) => !route.namedOnly);
  // A path the mapping refuses (an encoded slash, a dot segment, a hidden segment, bad encoding)
  // has no normalised form a path condition could judge, so none of the site's own routes may
  // take it: a route that refuses /admin/ would not see /admin/./x, and a route behind it would
  // forward it. It is answered as the files answer it (400 or 404), after the site's rules,
  // before the first route of its `routes` key. A site without `routes` is left as it was (its
  // proxy prefixes never take such a path; the files answer it), and so is OPTIONS * (the
  // server itself, not a path).
  const own = new Set<RoutePlan>(context.site.routes);
  const guardAt = chained.findIndex((route) => own.has(route.plan));
  const chain = chained.reduceRight<Next>((rest, route, index) => {
    const through = compose(
      route.kinds.map((kind) => kind.handler),
      rest,
    );
    const { matches } = route;
    const next: Next = matches === undefined ? through : (exchange) => (matches(exchange) ? through(exchange) : rest(exchange));
    return index === guardAt ? refuseUnmappable(next, context.log) : next;
  }, notFound);
  for (const route of compiled) {
    if (route.name === undefined) continue;
    named.set(route.name, { next: compose(route.kinds.map((kind) => kind.handler), notFound), readsBody: readsBodyOf([{ ...route, matches: undefined }]) });
  }
  const dressers = compiled.flatMap((route) => (route.matches === undefined && !route.namedOnly ? route.kinds.flatMap((kind) => (kind.dress ? [kind.dress] : [])) : []));
  return {
    chain,
    readsBody: readsBodyOf(chained),
    dress: dressers.length === 0 ? undefined : (exchange, response) => compose(dressers, () => response)(exchange),
    close: () => {
      for (const route of compiled) for (const kind of route.kinds) kind.close?.();
    },
  };
}

/** Refuses a path the mapping refuses (400, or 404 for a hidden segment), logged as the files log it; passes on every other. */
function refuseUnmappable(next: Next, log: KindContext['log']): Next {
  return (exchange) => {
    if (decodedPath(exchange) !== undefined || (exchange.method === 'OPTIONS' && exchange.target === '*')) return next(exchange);
    const mapped = mapPath(exchange.target);
    return mapped.ok ? errorPage(400, exchange.method === 'HEAD') : refusePath(exchange, mapped, log);
  };
}

function readsBodyOf(routes: readonly CompiledRoute[]): (exchange: Exchange) => boolean {
  const reading = routes.filter((route) => route.kinds.some((kind) => kind.readsBody !== undefined));
  if (reading.length === 0) return () => false;
  return (exchange) => reading.some((route) => (route.matches === undefined || route.matches(exchange)) && route.kinds.some((kind) => kind.readsBody?.(exchange) === true));
}

/**
 * Whether a path is one an application behind a proxy reads, as rules need to know (they ignore
 * case there): under a `proxy` shorthand prefix, case ignored; or taken by a route with a proxy
 * handler whose path conditions (case ignored) cover it, or which has none.
 */
function proxiedPaths(site: SitePlan, routes: readonly RoutePlan[]): (path: string) => boolean {
  const proxying = routes.filter((route) => route.match?.prefix === undefined && route.handle.some((entry) => entry.kind === 'proxy'));
  const everything = proxying.some((route) => route.match?.path === undefined);
  const patterns = proxying.flatMap((route) => route.match?.path ?? []).map((pattern) => compileRule(pattern, false));
  return (path) => everything || isProxiedPath(site.proxy, path) || (patterns.length > 0 && patterns.some((matches) => matches(rulePaths(path, true))));
}
