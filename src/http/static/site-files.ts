import type { SitePlan } from '../../config/plan.js';
import type { Logger } from '../../log/logger.js';
import type { Handler } from '../handler.js';
import { createStaticHandler, type StaticCaches } from './static-handler.js';

/**
 * A site's files: its root, and its virtual directories (a URL prefix served from another
 * folder, as IIS has them). The longest prefix that matches whole path segments wins; the
 * prefix is compared with the decoded path, so `/down%6Coads/x` is `/downloads/x`.
 */
export async function createSiteFilesHandler(site: SitePlan, caches: StaticCaches, log: Logger): Promise<Handler> {
  const root = await createStaticHandler(site.root, { browse: site.browse, cacheControl: site.cacheControl }, caches, log);
  if (site.vdirs.length === 0) return root;
  const mounts = await Promise.all(
    [...site.vdirs]
      .sort((a, b) => b.path.length - a.path.length)
      .map(async (vdir) => ({ prefix: vdir.path, handler: await createStaticHandler(vdir.root, { browse: vdir.browse, cacheControl: site.cacheControl, mount: vdir.path }, caches, log) })),
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
