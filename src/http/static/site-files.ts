import type { SitePlan } from '../../config/plan.js';
import type { Logger } from '../../log/logger.js';
import { errorPage } from '../error-page.js';
import type { Handler, Outcome } from '../handler.js';
import type { Exchange } from '../exchange.js';
import type { Response } from '../response.js';
import type { NamedRoute } from '../../routes/kind.js';
import { createStaticHandler, type StaticCaches } from './static-handler.js';
import { fallbackRoute, servesFiles } from './try-files-fallback.js';

/**
 * A site's files: its root, and its virtual directories (a URL prefix served from another
 * folder, as IIS has them). The longest prefix that matches whole path segments wins; the
 * prefix is compared with the decoded path, so `/down%6Coads/x` is `/downloads/x`.
 */
export async function createSiteFilesHandler(site: SitePlan, caches: StaticCaches, log: Logger, named: (name: string) => NamedRoute | undefined = () => undefined): Promise<Handler> {
  const files = await mountedFiles(site, caches, log);
  const candidates = site.rules.tryFiles;
  return candidates === undefined ? files : tryFiles(files, candidates, named);
}

/** The site's files without tryFiles: its root and virtual directories (error pages come from here). */
export function createMountedFiles(site: SitePlan, caches: StaticCaches, log: Logger): Promise<Handler> {
  return mountedFiles(site, caches, log);
}

/**
 * `tryFiles`: the first candidate that exists answers, as nginx's try_files and Caddy's
 * try_files do. `{path}` is the request's path; a candidate counts when it is a file, or a
 * folder with a default document (or a listing); `=404` (last only) ends with a 404. Each
 * candidate goes through the same file mapping and containment as any request, keeps the
 * request's conditionals and ranges, and is answered with its own validators.
 *
 * A fixed fallback (a candidate without `{path}`, such as an SPA's `/index.html`) answers only
 * what looks like a page: a last segment without an extension, from a client that accepts HTML
 * (the rule of connect-history-api-fallback). A missing `/assets/app.js` stays a 404 instead of
 * becoming the app's HTML, which a browser would try to run as a script; a route with a dot in
 * its last segment (`/users/jane.doe`) needs a `{path}`-free rule of its own.
 *
 * `@name` (last only) hands what no file answers to the site's route of that name, whatever its
 * kind (a proxy, an application), as nginx's `try_files … @name` does; and every method but GET
 * and HEAD, which files do not serve, goes there directly.
 */
function tryFiles(files: Handler, candidates: readonly string[], named: (name: string) => NamedRoute | undefined): Handler {
  const fallback = fallbackRoute(candidates);
  const handOver = (exchange: Exchange): Outcome => named(fallback!)?.next(exchange) ?? errorPage(404, exchange.method === 'HEAD');
  return (exchange, next) => {
    if (fallback !== undefined && !servesFiles(exchange.method)) return handOver(exchange);
    const attempt = (index: number): Outcome => {
      const entry = candidates[index];
      if (entry === undefined || entry === '=404') return errorPage(404, exchange.method === 'HEAD');
      if (entry.startsWith('@')) return handOver(exchange);
      if (!entry.includes('{path}') && !looksLikePage(exchange)) return attempt(index + 1);
      const path = entry.replaceAll('{path}', exchange.path);
      const outcome = files({ ...exchange, target: path + exchange.query, path }, next);
      const judge = (response: Response): Outcome => {
        if (response.status !== 404 && response.status !== 403) return response;
        if (index === candidates.length - 1) return response;
        response.release?.();
        return attempt(index + 1);
      };
      return outcome instanceof Promise ? outcome.then(judge) : judge(outcome);
    };
    return attempt(0);
  };
}

function looksLikePage(exchange: Exchange): boolean {
  const last = exchange.path.slice(exchange.path.lastIndexOf('/') + 1);
  const accept = exchange.header('accept');
  return !last.includes('.') && (accept === undefined || /\btext\/html\b|\*\/\*/.test(accept));
}

async function mountedFiles(site: SitePlan, caches: StaticCaches, log: Logger): Promise<Handler> {
  const followSymlinks = site.rules.symlinks === 'follow';
  // A site that proxies every path has no folder: what no route takes is not found.
  const root: Handler = site.root === undefined ? (exchange) => errorPage(404, exchange.method === 'HEAD') : await createStaticHandler(site.root, { browse: site.browse, cacheControl: site.cacheControl, followSymlinks }, caches, log);
  if (site.vdirs.length === 0) return root;
  const mounts = await Promise.all(
    [...site.vdirs]
      .sort((a, b) => b.path.length - a.path.length)
      .map(async (vdir) => ({ prefix: vdir.path, handler: await createStaticHandler(vdir.root, { browse: vdir.browse, cacheControl: site.cacheControl, mount: vdir.path, followSymlinks }, caches, log) })),
  );
  return (exchange, next) => {
    const path = decodedPath(exchange.path);
    for (const mount of mounts) {
      if (path.startsWith(mount.prefix) && (path.length === mount.prefix.length || path[mount.prefix.length] === '/')) return mount.handler(exchange, next);
    }
    return root(exchange, next);
  };
}

function decodedPath(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    // Not valid percent-encoding: the static handler refuses it with 400, whichever folder it reaches.
    return path;
  }
}
