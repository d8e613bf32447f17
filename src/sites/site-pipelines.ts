import type { BlockList } from 'node:net';
import type { SitePlan, WorkerPlan } from '../config/plan.js';
import type { Handler } from '../http/handler.js';
import { type Finished, Pipeline } from '../http/pipeline.js';
import type { FailureLimit } from '../http/rules/failure-limit.js';
import type { Response } from '../http/response.js';
import { createRulesHandler } from '../http/rules/site-rules.js';
import { createMountedFiles } from '../http/static/site-files.js';
import { compileRoutes, siteRoutes } from '../routes/site-routes.js';
import type { StaticCaches } from '../http/static/static-handler.js';
import type { Logger } from '../log/logger.js';
import { ANSWERING_UPSTREAM, SIGNED_IN_USER } from '../http/request-state.js';
import type { AccessRecord } from '../log/w3c-fields.js';
import type { W3cLog } from '../log/w3c-log.js';
import type { AccessLogs } from './access-logs.js';
import { addressList, clientAddress } from '../http/client-address.js';
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
 * log on the pipeline's onResponse seam, and the router that picks a site per exchange. HTTP/1.1,
 * HTTP/2 and cache hits all go through the result.
 */
export async function buildSites(plan: WorkerPlan, context: SiteContext, logs: AccessLogs): Promise<SiteRouter> {
  const sites = await Promise.all(
    plan.sites.map(async (site) => {
      const trusted = site.trustedProxies.length > 0 ? addressList(site.trustedProxies) : undefined;
      let files: Promise<Handler> | undefined;
      const kindContext = { ...context, site, trusted, files: () => (files ??= createMountedFiles(site, context.caches, context.log)) };
      const errorPageFiles = await kindContext.files();
      const routes = await compileRoutes(siteRoutes(site), kindContext, (compiling) => {
        const rules = createRulesHandler(site, { ...context, files: errorPageFiles, isProxied: compiling.isProxied });
        return rules === undefined ? [] : [{ handler: rules.handler, dress: (exchange, next) => rules.dress(exchange, next(exchange) as Response) }];
      });
      // Answers the transports make themselves (400, 413, 414) get the site's error pages and headers too.
      const pipeline = new Pipeline([(exchange) => routes.chain(exchange)], context.log, routes.dress, { streamsBody: routes.readsBody });
      if (site.accessLog) logTo(pipeline, logs.use(site.accessLog), site);
      return { name: site.name, hosts: site.hosts, isDefault: site.isDefault, onDemand: site.onDemand, pipeline, close: routes.close };
    }),
  );
  logs.retain(plan.sites.flatMap((site) => (site.accessLog ? [site.accessLog] : [])));
  return new SiteRouter(sites, context.log);
}

function logTo(pipeline: Pipeline, log: W3cLog, site: SitePlan): void {
  const trusted = site.trustedProxies.length > 0 ? addressList(site.trustedProxies) : undefined;
  pipeline.onResponse((finished: Finished) => log.write(new ExchangeRecord(finished, site.name, trusted)));
}

/**
 * One finished exchange as a log line sees it. Fields are read through getters, so what a line
 * does not show (the request's size, a forwarded address) is never computed: logging is on the
 * hot path of every request.
 */
class ExchangeRecord implements AccessRecord {
  readonly endedAt = Date.now();

  constructor(
    private readonly finished: Finished,
    readonly site: string,
    private readonly trusted: BlockList | undefined,
  ) {}

  get startedAt(): number {
    return this.finished.startedAt;
  }
  get method(): string {
    return this.finished.exchange.method;
  }
  get path(): string {
    return this.finished.exchange.path;
  }
  get query(): string {
    return this.finished.exchange.query;
  }
  get localAddress(): string | undefined {
    return this.finished.exchange.localAddress;
  }
  get localPort(): number | undefined {
    return this.finished.exchange.localPort;
  }
  get clientAddress(): string | undefined {
    return clientAddress(this.finished.exchange, this.trusted);
  }
  get upstream(): { readonly address: string; readonly ms: number } | undefined {
    return this.finished.exchange.state.get(ANSWERING_UPSTREAM);
  }

  get user(): string | undefined {
    return this.finished.exchange.state.get(SIGNED_IN_USER);
  }
  get status(): number {
    return this.finished.status;
  }
  get complete(): boolean {
    return this.finished.complete;
  }
  get bytesSent(): number {
    return this.finished.bytesSent;
  }
  get bytesReceived(): number {
    return this.finished.bytesReceived ?? requestBytes(this.finished.exchange);
  }
  get protocol(): string {
    return this.finished.exchange.protocol;
  }
  header(name: string): string | undefined {
    return this.finished.exchange.header(name);
  }
}

/** The request as sent, uncompressed: request line, header lines, blank line, and the body its Content-Length declares. */
function requestBytes(exchange: Finished['exchange']): number {
  let bytes = exchange.method.length + exchange.target.length + exchange.protocol.length + 4 + 2;
  for (const [name, value] of Object.entries(exchange.headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) bytes += name.length + one.length + 4;
  }
  return bytes + Number(exchange.header('content-length') ?? 0);
}
