import type { SiteConfig } from './config-schema.js';
import { type Parsed, parseHeaderText } from './values.js';
import type { WrittenRules } from '../routes/site-rules-route.js';
import type { SiteRules } from './plan.js';
import { renderPath } from './problem.js';

/** A site's rules as written: what its files take (tryFiles, symlinks), checked; the rule kinds' keys still as written. */
export interface SiteRulesInput extends Pick<SiteRules, 'tryFiles' | 'symlinks'> {
  readonly written: WrittenRules;
}

type Check = <T>(path: readonly (string | number)[], parsed: Parsed<T>) => T | undefined;

/**
 * The value checks of a site's tryFiles: what the schema's shape cannot say (the rule keys are
 * their kinds' to check, when they are planned). `at` prefixes the
 * site's path.
 */
export function parseSiteRules(site: SiteConfig, at: (...rest: (string | number)[]) => (string | number)[], check: Check): SiteRulesInput {
  const tryFiles = site.tryFiles?.map((entry, i, all) => {
    const last = i === all.length - 1;
    if (entry === '=404' && last) return entry;
    if (entry.startsWith('/') || entry.startsWith('{path}')) return check(at('tryFiles', i), parseHeaderText(entry)) ?? entry;
    if (entry.startsWith('@') && last) {
      const names = (site.routes ?? []).flatMap((route) => (route.name ? [route.name] : []));
      if (names.includes(entry.slice(1))) return checkNoLoop(site, entry.slice(1), at('tryFiles', i), at, check) ?? entry;
      return check<string>(at('tryFiles', i), { problem: `names the route ${entry.slice(1)}, which this site does not have; ${names.length > 0 ? `its routes are named ${names.join(', ')}` : 'give a route name: app in routes'}` }) ?? entry;
    }
    return check<string>(at('tryFiles', i), { problem: `${JSON.stringify(entry)} is not a candidate; write {path}, {path}.html, a path under the root such as /index.html, =404 last, or @name last (a route's name)` }) ?? entry;
  });
  // The rule keys as written: each is a rule kind's config, planned by that kind (assemblePlan).
  const written: WrittenRules = { httpsRedirect: site.httpsRedirect, redirects: site.redirects, cors: site.cors, auth: site.auth, headers: site.headers, errors: site.errors, hsts: site.hsts };
  return { tryFiles, symlinks: site.symlinks ?? 'inside', written };
}

/**
 * A named route that tryFiles hands to must not serve the site's own files: a `files` without a
 * root of its own runs the same tryFiles, which hands the request back, for ever.
 */
function checkNoLoop(site: SiteConfig, name: string, from: readonly (string | number)[], at: (...rest: (string | number)[]) => (string | number)[], check: Check): string | undefined {
  const index = (site.routes ?? []).findIndex((route) => route.name === name);
  const route = site.routes?.[index];
  const j = route?.handle.findIndex((entry) => 'files' in entry && (entry.files as { root?: unknown } | undefined)?.root === undefined) ?? -1;
  if (j < 0) return undefined;
  check<string>(at('routes', index, 'handle', j, 'files'), { problem: `serves the site's files, whose tryFiles (${renderPath(from)}) hands requests back to this route: a loop; give this files a root of its own, or end tryFiles in =404` });
  return undefined;
}

