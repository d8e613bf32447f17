import type { WorkerPlan } from '../config/plan.js';
import type { Handler } from '../http/handler.js';
import { Pipeline } from '../http/pipeline.js';
import type { FailureLimit } from '../limits/failure-limit.js';
import { createMountedFiles } from '../http/static/site-files.js';
import { compileRoutes, siteRoutes } from '../routes/site-routes.js';
import type { StaticCaches } from '../http/static/static-handler.js';
import type { Logger } from '../log/logger.js';
import type { AccessLogs } from './access-logs.js';
import { addressList } from '../http/client-address.js';
import { siteLabel } from './site-access-log.js';
import { SiteRouter } from './site-router.js';

/** What building a site's handlers may use: the worker's shared caches, its operator log, the port HTTPS is on. */
export interface SiteContext {
  readonly caches: StaticCaches;
  readonly log: Logger;
  readonly httpsPort: () => number | undefined;
  readonly signInFailures: FailureLimit;
}

/**
 * Builds every site of a plan once: its routes compiled into one chain (src/routes/), its access
 * log as its pipeline's label (src/sites/site-access-log.ts), and the router that picks a site
 * per exchange. HTTP/1.1, HTTP/2 and cache hits all go through the result.
 */
export async function buildSites(plan: WorkerPlan, context: SiteContext, logs: AccessLogs): Promise<SiteRouter> {
  const sites = await Promise.all(
    plan.sites.map(async (site) => {
      const trusted = site.trustedProxies.length > 0 ? addressList(site.trustedProxies) : undefined;
      let files: Promise<Handler> | undefined;
      const kindContext = { ...context, site, trusted, files: () => (files ??= createMountedFiles(site, context.caches, context.log)) };
      const routes = await compileRoutes(siteRoutes(site), kindContext);
      // Answers the transports make themselves (400, 413, 414) get the site's error pages and headers too.
      const pipeline = new Pipeline([(exchange) => routes.chain(exchange)], context.log, routes.dress, { streamsBody: routes.readsBody }, siteLabel(site, logs));
      return { name: site.name, hosts: site.hosts, isDefault: site.isDefault, onDemand: site.onDemand, pipeline, close: routes.close };
    }),
  );
  logs.retain(plan.sites.flatMap((site) => (site.accessLog ? [site.accessLog] : [])));
  return new SiteRouter(sites, context.log);
}
