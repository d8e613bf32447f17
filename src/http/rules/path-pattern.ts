import { decodedPath, type Exchange } from '../exchange.js';

/**
 * A site rule's path: a prefix ending in `/` (`/admin/` matches `/admin/` and everything
 * under it, and `/admin` itself), an exact path, or a glob where `*` is one segment's worth of
 * characters and `**` any depth; `**` followed by a slash is zero or more folders, so `/**` then
 * `/*.js` matches `/top.js` as well as `/a/b/c.js`. A bare extension pattern (`*.js`, no slash)
 * is a file name at any depth. Matched against the decoded, normalised path, the same one the
 * file mapping uses, so `/%61dmin/` is `/admin/` and cannot dodge a rule. Pure.
 */
export type PathMatcher = (path: string) => boolean;

export function compilePattern(pattern: string, ignoreCase = false): PathMatcher {
  const regex = new RegExp(`^${patternSource(pattern)}$`, ignoreCase ? 'isu' : 'su');
  return (path) => regex.test(path);
}

/** Whether a pattern is a bare file-name pattern (`*.js`): no slash, starting with `*`. */
export function isBarePattern(pattern: string): boolean {
  return pattern.startsWith('*') && !pattern.includes('/');
}

function patternSource(pattern: string): string {
  if (isBarePattern(pattern)) return patternSource(`/**/${pattern}`);
  if (pattern.includes('*')) {
    return pattern
      .split(/(\*\*\/|\*\*|\*)/)
      .map((part) => (part === '**/' ? '(?:.*/)?' : part === '**' ? '.*' : part === '*' ? '[^/]*' : escape(part)))
      .join('');
  }
  if (pattern.endsWith('/') && pattern !== '/') return `${escape(pattern.slice(0, -1))}(?:/.*)?`;
  if (pattern === '/') return '/.*';
  return escape(pattern);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The spellings of one request's path that a rule covering it is matched against: a rule
 * covers the request when it matches any of them (fail closed). The path itself; without its
 * trailing slash (`/new/x.txt/` is the file `/new/x.txt` asked for as a folder, answered 404,
 * and a rule for the file covers it); and on a path a proxy route sends to an application,
 * `;parameters` and trailing dots taken off each segment (`/ex/admin;x/users` and
 * `/ex/admin./users` reach many applications as `/ex/admin/users`).
 */
export interface RulePaths {
  readonly spellings: readonly string[];
  /** A proxy route handles this path: rules on it ignore case unless they say `caseSensitive: true`. */
  readonly proxied: boolean;
}

export function rulePaths(path: string, proxied: boolean): RulePaths {
  const spellings = [path];
  const add = (spelling: string): void => {
    if (!spellings.includes(spelling)) spellings.push(spelling);
  };
  if (path.length > 1 && path.endsWith('/')) add(path.slice(0, -1));
  if (proxied && /[;.\s]/.test(path)) {
    // What an application may read the path as: `;parameters` dropped, trailing dots and
    // whitespace trimmed from each segment (Spring's trimTokens, CVE-2016-5007's class).
    const bare = path
      .split('/')
      .map((segment) => segment.replace(/;.*$/s, '').replace(/(?<=\S)[.\s]+$/, '').replace(/^\s+(?=\S)/, ''))
      .join('/')
      .replace(/\/{2,}/g, '/');
    add(bare);
    if (bare.length > 1 && bare.endsWith('/')) add(bare.slice(0, -1));
  }
  return { spellings, proxied };
}

/**
 * A protective or header rule's matcher over a request's spellings. `caseSensitive` undefined
 * (the default): exact on the site's files (what is served is what is named), case ignored on
 * proxied paths (many applications route `/ADMIN` as `/admin`); true: exact everywhere; false:
 * case ignored everywhere.
 */
export type RuleMatcher = (paths: RulePaths) => boolean;

export function compileRule(pattern: string, caseSensitive: boolean | undefined): RuleMatcher {
  const exact = compilePattern(pattern);
  const caseless = caseSensitive === true ? exact : compilePattern(pattern, true);
  return (paths) => {
    const match = caseSensitive === false || (paths.proxied && caseSensitive !== true) ? caseless : exact;
    return paths.spellings.some(match);
  };
}

/**
 * Whether a proxy route handles a path, as the proxy decides (the first prefix that matches), but
 * with case ignored: fail closed, in case a route or its application does not tell case apart.
 */
export function isProxiedPath(routes: readonly { readonly path: string }[], path: string): boolean {
  if (routes.length === 0) return false;
  const lower = path.toLowerCase();
  return routes.some((route) => underPrefix(lower, route.path.toLowerCase()));
}

/** Whether a proxy route's prefix (`/api/`) takes a normalised path: anything under it, and the prefix without its slash. */
export function underPrefix(path: string, prefix: string): boolean {
  return path.startsWith(prefix) || `${path}/` === prefix;
}

/** The path rules are matched against (RequestState.pathOf): computed once per request. */
export function normalisedPath(exchange: Exchange): string | undefined {
  return decodedPath(exchange);
}
