import type { SitePlan, WorkerPlan } from '../config/plan.js';
import type { Handler } from '../http/handler.js';
import { Pipeline } from '../http/pipeline.js';
import type { FailureLimit } from '../http/rules/failure-limit.js';
import { createRulesHandler, type SiteRulesHandler } from '../http/rules/site-rules.js';
import { createSiteFilesHandler } from '../http/static/site-files.js';
import type { StaticCaches } from '../http/static/static-handler.js';
import type { Logger } from '../log/logger.js';
import { createProxyHandler, type ProxyHandler } from '../proxy/proxy-handler.js';
import type { AccessLogs } from './access-logs.js';
import { addressList } from './client-address.js';
import { siteLabel } from './site-access-log.js';
import { SiteRouter } from './site-router.js';

/** What building a site's handlers may use: the worker's shared caches, its operator log, the port HTTPS is on. */
export interface SiteContext {
  readonly caches: StaticCaches;
  readonly log: Logger;
  readonly httpsPort: () => number | undefined;
  readonly signInFailures: FailureLimit;
}

/** A site's context once its content and rules exist (rules need the files for error pages). */
export interface BuiltSiteContext extends SiteContext {
  readonly files: Handler;
  readonly proxy: ProxyHandler | undefined;
  readonly rules: SiteRulesHandler | undefined;
}

/**
 * A kind of handler a site can have. Each kind lives in its own folder and decides from the
 * site's plan whether the site has one; adding a kind is that folder and one line in
 * HANDLER_KINDS, in pipeline order (rules before content, content last).
 */
export interface HandlerKind {
  readonly name: string;
  build(site: SitePlan, context: BuiltSiteContext): Handler | undefined | Promise<Handler | undefined>;
}

const HANDLER_KINDS: readonly HandlerKind[] = [
  { name: 'rules', build: (_site, context) => context.rules?.handler },
  { name: 'proxy', build: (_site, context) => context.proxy?.handler },
  { name: 'files', build: (_site, context) => context.files },
];

/**
 * Builds every site of a plan once: its handler chain, its access log as its pipeline's label
 * (src/sites/site-access-log.ts), and the router that picks a site per exchange. HTTP/1.1, HTTP/2 and cache
 * hits all go through the result.
 */
export async function buildSites(plan: WorkerPlan, context: SiteContext, logs: AccessLogs): Promise<SiteRouter> {
  const sites = await Promise.all(
    plan.sites.map(async (site) => {
      const files = await createSiteFilesHandler(site, context.caches, context.log);
      const proxy = await createProxyHandler(site, context.log, site.trustedProxies.length > 0 ? addressList(site.trustedProxies) : undefined);
      const built: BuiltSiteContext = { ...context, files, proxy, rules: createRulesHandler(site, { ...context, files }) };
      const handlers = (await Promise.all(HANDLER_KINDS.map((kind) => kind.build(site, built)))).filter((handler): handler is Handler => handler !== undefined);
      // Answers the transports make themselves (400, 413, 414) get the site's error pages and headers too.
      const pipeline = new Pipeline(handlers, context.log, built.rules?.dress, proxy ? { streamsBody: proxy.streamsBody } : {}, siteLabel(site, logs));
      return { name: site.name, hosts: site.hosts, isDefault: site.isDefault, onDemand: site.onDemand, pipeline, close: proxy?.close };
    }),
  );
  logs.retain(plan.sites.flatMap((site) => (site.accessLog ? [site.accessLog] : [])));
  return new SiteRouter(sites, context.log);
}
