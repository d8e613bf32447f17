import type { EventEmitter } from 'node:events';
import type { ServeConfig } from '../config/serve-config.js';
import { describeError, isPorticoError } from '../errors.js';
import { isFaultActive } from '../fault-injection.js';
import { createStaticHandler } from '../http/static/serve-static.js';
import { createLogger, type Logger } from '../log/logger.js';
import { Listeners } from '../server/listeners.js';
import type { TlsBundle } from '../tls/bundle.js';
import { parsePrimaryMessage, type WorkerMessage } from './messages.js';

/**
 * A worker serves; it owns no key material. It receives the frozen config and finished TLS
 * bundles from the primary and only publishes them. It stops when the primary says so, or
 * when the primary is gone (the IPC channel closes).
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
  private listeners: Listeners | undefined;
  private pendingBundle: TlsBundle | undefined;
  private ticketKeys: Buffer | undefined;
  private inFlight = 0;
  private stopping = false;
  private shutdownGraceMs = 10_000;

  constructor(
    private readonly slot: number,
    private readonly log: Logger,
  ) {}

  receive(raw: unknown): void {
    const message = parsePrimaryMessage(raw);
    if (message === undefined) {
      this.log.warn('ignored a malformed message from the primary');
      return;
    }
    if (message.type === 'start') void this.start(message.config);
    else if (message.type === 'tls-bundle') this.publish(message.bundle);
    else if (message.type === 'ticket-keys') this.setTicketKeys(message.keys);
    else this.shutdown();
  }

  private async start(config: ServeConfig): Promise<void> {
    try {
      const site = await createStaticHandler(config.root, { browse: config.browse, cacheControl: config.cacheControl }, this.log);
      this.listeners = new Listeners(config, site, (exchange) => this.track(exchange), this.log, (bundle) => send({ type: 'certificate-expired', fingerprint256: bundle.fingerprint256 }));
      if (this.ticketKeys) this.listeners.setTicketKeys(this.ticketKeys);
      if (this.pendingBundle) this.listeners.publish(this.pendingBundle);
      send({ type: 'listening', listeners: await this.listeners.open() });
    } catch (error) {
      send({ type: 'listen-failed', code: isPorticoError(error) ? error.code : 'ERR_LISTEN_FAILED', message: describeError(error) });
      return;
    }
    this.shutdownGraceMs = config.shutdownGraceMs;
    if (isFaultActive(`crash-worker-slot:${this.slot}`)) setTimeout(() => process.exit(70), 50);
  }

  private setTicketKeys(keys: string): void {
    this.ticketKeys = Buffer.from(keys, 'base64');
    this.listeners?.setTicketKeys(this.ticketKeys);
  }

  private publish(bundle: TlsBundle): void {
    if (this.listeners) this.listeners.publish(bundle);
    else this.pendingBundle = bundle;
  }

  /** Counts requests in flight (a response or an HTTP/2 stream until it closes), so shutdown can wait for them. */
  private track(exchange: EventEmitter): void {
    this.inFlight += 1;
    exchange.once('close', () => {
      this.inFlight -= 1;
      if (this.stopping && this.inFlight === 0) process.exit(0);
    });
  }

  /** Stops accepting, lets requests in flight finish (bounded), then exits 0. */
  shutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.listeners?.stopAccepting();
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
