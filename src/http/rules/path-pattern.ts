import type { Exchange } from '../exchange.js';
import { mapPath } from '../map-path.js';

/**
 * A site rule's path: a prefix ending in `/` (`/admin/` matches `/admin/` and everything
 * under it, and `/admin` itself), an exact path, or a glob where `*` is one segment's worth of
 * characters and `**` any depth. Matched against the decoded, normalised path, the same one the
 * file mapping uses, so `/%61dmin/` is `/admin/` and cannot dodge a rule. Pure.
 */
export type PathMatcher = (path: string) => boolean;

export function compilePattern(pattern: string): PathMatcher {
  if (pattern.includes('*')) {
    const source = pattern
      .split(/(\*\*|\*)/)
      .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    const regex = new RegExp(`^${source}$`);
    return (path) => regex.test(path);
  }
  if (pattern.endsWith('/')) {
    const bare = pattern.slice(0, -1);
    return (path) => path.startsWith(pattern) || path === bare;
  }
  return (path) => path === pattern;
}

/**
 * The path rules are matched against: percent-decoded once, dot segments refused, repeated
 * slashes collapsed; undefined for a path the file mapping refuses too (it is answered 400/404,
 * and no rule can make that serve anything).
 */
export function normalisedPath(exchange: Exchange): string | undefined {
  const mapped = mapPath(exchange.target);
  if (!mapped.ok) return undefined;
  const joined = `/${mapped.segments.join('/')}`;
  return mapped.trailingSlash && joined !== '/' ? `${joined}/` : joined;
}
