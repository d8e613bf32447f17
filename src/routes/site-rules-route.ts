import type { HandlePlan, RoutePlan, SiteRules } from '../config/plan.js';
import { basicAuthKind } from '../kinds/basic-auth/basic-auth-kind.js';
import { corsKind } from '../kinds/cors/cors-kind.js';
import { errorPagesKind } from '../kinds/error-pages/error-pages-kind.js';
import { headersKind } from '../kinds/headers/headers-kind.js';
import { hstsKind } from '../kinds/hsts/hsts-kind.js';
import { httpsRedirectKind } from '../kinds/https-redirect/https-redirect-kind.js';
import { redirectsKind } from '../kinds/redirects/redirects-kind.js';
import type { HandlerKind, PlanningContext } from './kind.js';

type ConfigOf<K> = K extends HandlerKind<infer Config, infer _Planned> ? Config : never;

/**
 * A site's rule keys as the user wrote them (docs/config.md, "Site rules"): each is a rule
 * kind's config, under the kind's own name, and shorthand for that kind in the site's leading
 * route. Users' files depend on these keys: add, never rename.
 */
export interface WrittenRules {
  readonly httpsRedirect?: ConfigOf<typeof httpsRedirectKind>;
  readonly redirects?: ConfigOf<typeof redirectsKind>;
  readonly cors?: ConfigOf<typeof corsKind>;
  readonly auth?: ConfigOf<typeof basicAuthKind>;
  readonly headers?: ConfigOf<typeof headersKind>;
  readonly errors?: ConfigOf<typeof errorPagesKind>;
  readonly hsts?: ConfigOf<typeof hstsKind>;
}

export type PlannedRules = Omit<SiteRules, 'tryFiles' | 'symlinks'>;

/** The rule keys' kinds, for the config schema: a site's `headers` is the `headers` kind's config. */
export const SITE_RULE_KINDS = { errors: errorPagesKind, headers: headersKind, cors: corsKind, auth: basicAuthKind, redirects: redirectsKind, httpsRedirect: httpsRedirectKind, hsts: hstsKind } as const;

/**
 * Each rule key planned by its kind (values checked, htpasswd files read); `contextOf(key)` is
 * where that key's problems go. A key not written plans to no rule.
 */
export async function planSiteRules(written: WrittenRules, contextOf: (key: keyof WrittenRules) => PlanningContext): Promise<PlannedRules> {
  const plan = async <C, P>(kind: HandlerKind<C, P>, config: C | undefined, key: keyof WrittenRules, none: P): Promise<P> => (config === undefined ? none : kind.plan === undefined ? (config as unknown as P) : await kind.plan(config, contextOf(key)));
  const errorPages = await plan(errorPagesKind, written.errors, 'errors', {});
  const headers = await plan(headersKind, written.headers, 'headers', []);
  const cors = await plan(corsKind, written.cors, 'cors', undefined);
  const redirects = await plan(redirectsKind, written.redirects, 'redirects', []);
  const hsts = await plan(hstsKind, written.hsts, 'hsts', undefined);
  const auth = await plan(basicAuthKind, written.auth, 'auth', []);
  return { errorPages, headers, cors, auth, redirects, httpsRedirect: written.httpsRedirect ?? false, hsts };
}

/**
 * The route a site's rule keys are shorthand for, the first every request takes, or undefined
 * when the site has none (then it adds no handler, and a cache hit pays nothing). Its handlers,
 * outer to inner: the CORS grant, HSTS and header rules dress whatever comes back (redirects and
 * refusals included, and, through `dress`, the transports' own); the HTTPS redirect, redirects
 * and the CORS preflight answer before anything else; error pages replace the errors that come
 * back from further in (Basic auth's refusals and the files'); Basic auth guards what follows.
 */
export function siteRulesRoute(rules: PlannedRules): RoutePlan | undefined {
  const handle: HandlePlan[] = [];
  const add = (kind: { readonly name: string }, config: unknown): void => {
    handle.push({ kind: kind.name, config });
  };
  if (rules.cors !== undefined) add(corsKind, { ...rules.cors, part: 'grant' });
  if (rules.hsts !== undefined) add(hstsKind, rules.hsts);
  if (rules.headers.length > 0) add(headersKind, rules.headers);
  if (rules.httpsRedirect) add(httpsRedirectKind, true);
  if (rules.redirects.length > 0) add(redirectsKind, rules.redirects);
  if (rules.cors !== undefined) add(corsKind, { ...rules.cors, part: 'preflight' });
  if (Object.keys(rules.errorPages).length > 0) add(errorPagesKind, rules.errorPages);
  if (rules.auth.length > 0) add(basicAuthKind, rules.auth);
  return handle.length === 0 ? undefined : { name: undefined, match: undefined, handle };
}
