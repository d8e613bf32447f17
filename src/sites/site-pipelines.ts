import type { BlockList } from 'node:net';
import type { SitePlan, WorkerPlan } from '../config/plan.js';
import type { Handler } from '../http/handler.js';
import { type Finished, Pipeline } from '../http/pipeline.js';
import type { FailureLimit } from '../http/rules/failure-limit.js';
import { createRulesHandler, type SiteRulesHandler } from '../http/rules/site-rules.js';
import { createSiteFilesHandler } from '../http/static/site-files.js';
import type { StaticCaches } from '../http/static/static-handler.js';
import type { Logger } from '../log/logger.js';
import { createProxyHandler, type ProxyHandler } from '../proxy/proxy-handler.js';
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
 * Builds every site of a plan once: its handler chain, its access log on the pipeline's
 * onResponse seam, and the router that picks a site per exchange. HTTP/1.1, HTTP/2 and cache
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
      const pipeline = new Pipeline(handlers, context.log, built.rules?.dress, proxy ? { streamsBody: proxy.streamsBody } : {});
      if (site.accessLog) logTo(pipeline, logs.use(site.accessLog), site);
      return { name: site.name, hosts: site.hosts, isDefault: site.isDefault, onDemand: site.onDemand, pipeline, close: proxy?.close };
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
    return this.finished.exchange.upstream;
  }

  get user(): string | undefined {
    return this.finished.exchange.user;
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
