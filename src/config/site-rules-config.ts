import type { SiteConfig } from './config-schema.js';
import type { Parsed } from './values.js';
import { isBarePattern } from '../http/rules/path-pattern.js';
import type { HeaderRule, RedirectRule, SiteRules } from './plan.js';

/** A site's rules as written, checked value by value; auth still names its htpasswd files (read by assemblePlan). */
export interface SiteRulesInput extends Omit<SiteRules, 'auth'> {
  readonly auth: readonly { readonly path: string; readonly caseSensitive: boolean | undefined; readonly realm: string; readonly htpasswd: string }[];
}

type Check = <T>(path: readonly (string | number)[], parsed: Parsed<T>) => T | undefined;

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * The value checks of a site's rules: what the schema's shapes cannot say. Each problem names
 * its place (`sites[0].headers[1].set.X-Frame-Options`); `at` prefixes the site's path.
 */
export function parseSiteRules(site: SiteConfig, at: (...rest: (string | number)[]) => (string | number)[], check: Check, resolvePath: (path: string) => string): SiteRulesInput {
  const tryFiles = site.tryFiles?.map((entry, i, all) => {
    const last = i === all.length - 1;
    if (entry === '=404' && last) return entry;
    if (entry.startsWith('/') || entry.startsWith('{path}')) return check(at('tryFiles', i), noControl(entry)) ?? entry;
    if (entry.startsWith('@') && last) {
      const names = (site.routes ?? []).flatMap((route) => (route.name ? [route.name] : []));
      if (names.includes(entry.slice(1))) return entry;
      return check<string>(at('tryFiles', i), { problem: `names the route ${entry.slice(1)}, which this site does not have; ${names.length > 0 ? `its routes are named ${names.join(', ')}` : 'give a route name: app in routes'}` }) ?? entry;
    }
    return check<string>(at('tryFiles', i), { problem: `${JSON.stringify(entry)} is not a candidate; write {path}, {path}.html, a path under the root such as /index.html, =404 last, or @name last (a route's name)` }) ?? entry;
  });
  const errorPages: Record<string, string> = {};
  for (const [status, page] of Object.entries(site.errors ?? {})) {
    errorPages[status] = page.startsWith('/') ? page : (check<string>(at('errors', status), { problem: `${JSON.stringify(page)} is not a path under the root; start it with /, such as /404.html` }) ?? page);
  }
  const headers: HeaderRule[] = (site.headers ?? []).map((rule, i) => {
    const values = (kind: 'set' | 'add'): Record<string, string> =>
      Object.fromEntries(Object.entries(rule[kind] ?? {}).map(([name, value]) => [name.toLowerCase(), check(at('headers', i, kind, name), noControl(value)) ?? value]));
    return { path: checkPattern(rule.path, at('headers', i, 'path'), check), always: rule.always ?? false, caseSensitive: rule.caseSensitive, set: values('set'), add: values('add'), remove: (rule.remove ?? []).map((name) => name.toLowerCase()) };
  });
  let cors: SiteRules['cors'];
  if (site.cors) {
    const { origins, credentials = false } = site.cors;
    if (credentials && origins.includes('*')) check(at('cors', 'credentials'), { problem: 'is true with origins: ["*"], which browsers refuse; list the origins that may send credentials, or set credentials: false' });
    origins.forEach((origin, i) => {
      if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) check(at('cors', 'origins', i), { problem: `${JSON.stringify(origin)} is not an origin; write scheme and host without a path, such as https://app.example.test, or *` });
    });
    cors = { origins, methods: (site.cors.methods ?? ['GET', 'HEAD', 'POST']).map((method) => method.toUpperCase()), headers: site.cors.headers, credentials, maxAge: site.cors.maxAge };
  }
  const redirects: RedirectRule[] = (site.redirects ?? []).map((rule, i) => {
    const to = /^(\/(?!\/)|https?:\/\/)/.test(rule.to) && !CONTROL.test(rule.to) ? rule.to : (check<string>(at('redirects', i, 'to'), { problem: `${JSON.stringify(rule.to)} is not a redirect target; start it with / (a path on this site) or https:// (another site)` }) ?? rule.to);
    return { from: checkPattern(rule.from, at('redirects', i, 'from'), check), to, status: rule.status ?? 301 };
  });
  const hsts = site.hsts ? `max-age=${site.hsts.maxAge}${site.hsts.includeSubDomains ? '; includeSubDomains' : ''}${site.hsts.preload ? '; preload' : ''}` : undefined;
  const auth = (site.auth ?? []).map((rule, i) => ({ path: checkPattern(rule.path, at('auth', i, 'path'), check), caseSensitive: rule.caseSensitive, realm: rule.realm, htpasswd: resolvePath(rule.htpasswd) }));
  return { tryFiles, errorPages, headers, cors, auth, redirects, httpsRedirect: site.httpsRedirect ?? false, hsts, symlinks: site.symlinks ?? 'inside' };
}

function checkPattern(pattern: string, path: (string | number)[], check: Check): string {
  if ((pattern.startsWith('/') || isBarePattern(pattern)) && !CONTROL.test(pattern)) return pattern;
  return check<string>(path, { problem: `${JSON.stringify(pattern)} is not a path pattern; start it with /, such as /admin/, /old/page or /assets/*, or write a file name pattern such as *.js` }) ?? pattern;
}

function noControl(value: string): Parsed<string> {
  return CONTROL.test(value) ? { problem: `${JSON.stringify(value)} contains a line break or control character, which could forge a header; remove it` } : { value };
}
