import type { WorkerPlan } from '../config/plan.js';
import { describeError, isPorticoError } from '../errors.js';
import { isFaultActive } from '../fault-injection.js';
import { Pipeline } from '../http/pipeline.js';
import { createStaticCaches, createStaticHandler } from '../http/static/static-handler.js';
import { createLogger, type Logger } from '../log/logger.js';
import { CertificateTable } from '../server/certificate-table.js';
import { Endpoint, type SiteRouter } from '../server/endpoint.js';
import { parsePrimaryMessage, type WorkerMessage } from './messages.js';

/**
 * A worker serves; it owns no key material. It receives its plan and finished TLS bundles from
 * the primary and only publishes them. It stops when the primary says so, or when the primary
 * is gone (the IPC channel closes).
 */
export function runWorker(): void {
  const slot = Number(process.env.PORTICO_WORKER_SLOT ?? '0');
  const log = createLogger(`worker ${slot}`);
  const worker = new Worker(slot, log);
  process.on('message', (raw) => worker.receive(raw));
  process.on('disconnect', () => worker.shutdown());
  // The primary coordinates shutdown; a Ctrl-C that reaches the whole process group must not
  // make workers exit on their own, or the primary would take them for crashed.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  process.on('uncaughtException', (error) => {
    log.error(`uncaught exception, exiting so the primary starts a fresh worker: ${error.stack ?? describeError(error)}`);
    process.exit(1);
  });
  send({ type: 'ready' });
}

class Worker {
  private endpoints: Endpoint[] = [];
  private readonly certificates: CertificateTable;
  private inFlight = 0;
  private stopping = false;
  private shutdownGraceMs = 10_000;

  constructor(
    private readonly slot: number,
    private readonly log: Logger,
  ) {
    this.certificates = new CertificateTable(log, (bundle) => send({ type: 'certificate-expired', fingerprint256: bundle.fingerprint256 }));
  }

  receive(raw: unknown): void {
    const message = parsePrimaryMessage(raw);
    if (message === undefined) {
      this.log.warn('ignored a malformed message from the primary');
      return;
    }
    if (message.type === 'start') void this.start(message.plan);
    else if (message.type === 'tls-bundle') this.certificates.publish(message.bundle);
    else if (message.type === 'ticket-keys') this.certificates.setTicketKeys(Buffer.from(message.keys, 'base64'));
    else this.shutdown();
  }

  private async start(plan: WorkerPlan): Promise<void> {
    this.shutdownGraceMs = plan.shutdownGraceMs;
    try {
      const caches = createStaticCaches();
      const pipelines = await Promise.all(
        plan.sites.map(async (site) => new Pipeline([await createStaticHandler(site.root, { browse: site.browse, cacheControl: site.cacheControl }, caches, this.log)], this.log)),
      );
      // One site in flag mode; host routing arrives with the sites issue.
      const only = pipelines[0]!;
      const router: SiteRouter = { select: () => only };
      const tracker = { begin: () => this.begin(), end: () => this.end() };
      if (this.stopping) return;
      this.endpoints = plan.bindings.map((binding) => new Endpoint(binding, plan.limits, router, tracker, this.log, binding.tls ? this.certificates : undefined));
      const ports = await Promise.all(this.endpoints.map((endpoint) => endpoint.open()));
      if (this.stopping) return this.shutdown();
      send({ type: 'listening', listeners: this.endpoints.map((endpoint, i) => ({ name: endpoint.binding.name, port: ports[i]! })) });
    } catch (error) {
      send({ type: 'listen-failed', code: isPorticoError(error) ? error.code : 'ERR_LISTEN_FAILED', message: describeError(error) });
      return;
    }
    if (isFaultActive(`crash-worker-slot:${this.slot}`)) setTimeout(() => process.exit(70), 50);
  }

  /** Counts exchanges in flight, so shutdown can wait for them. */
  private begin(): void {
    this.inFlight += 1;
  }

  private end(): void {
    this.inFlight -= 1;
    if (this.stopping && this.inFlight === 0) process.exit(0);
  }

  /** Stops accepting, lets requests in flight finish (bounded), then exits 0. */
  shutdown(): void {
    if (this.stopping && this.endpoints.length === 0) return;
    this.stopping = true;
    for (const endpoint of this.endpoints) endpoint.stop();
    if (this.inFlight === 0) process.exit(0);
    this.log.info(`waiting up to ${this.shutdownGraceMs} ms for ${this.inFlight} request(s) in flight`);
    setTimeout(() => {
      this.log.warn(`${this.inFlight} request(s) still in flight after ${this.shutdownGraceMs} ms; exiting`);
      process.exit(0);
    }, this.shutdownGraceMs).unref();
  }
}

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message, undefined, {}, () => undefined);
}
