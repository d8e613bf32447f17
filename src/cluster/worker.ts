import type { WorkerPlan } from '../config/plan.js';
import { describeError, isPorticoError } from '../errors.js';
import { isFaultActive } from '../fault-injection.js';
import { errorPage } from '../http/error-page.js';
import { type ExchangeCounts, ExchangeObserver } from '../http/exchange-observer.js';
import type { Handler } from '../http/handler.js';
import { bytesResponse } from '../http/response.js';
import { FailureLimit } from '../limits/failure-limit.js';
import { createStaticCaches, type StaticCaches } from '../http/static/static-handler.js';
import { createLogger, type Logger } from '../log/logger.js';
import { CertificateTable } from '../server/certificate-table.js';
import { Endpoint } from '../server/endpoint.js';
import { AccessLogs } from '../sites/access-logs.js';
import { buildSites } from '../sites/site-pipelines.js';
import type { SiteRouter } from '../sites/site-router.js';
import { IpcRequests } from './ipc-requests.js';
import { parsePrimaryMessage, type PrimaryRequest, WORKER_REQUESTS, type WorkerMessage } from './messages.js';

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
    worker.exit(1);
  });
  send({ type: 'ready' });
}

class Worker {
  private endpoints: Endpoint[] = [];
  private readonly certificates: CertificateTable;
  private inFlight = 0;
  private stopping = false;
  private shutdownGraceMs = 10_000;
  private readonly caches: StaticCaches;
  private readonly accessLogs: AccessLogs;
  /** ACME http-01 answers from the primary: token → key authorization. */
  private readonly acmeAnswers = new Map<string, string>();
  /** Answers an http-01 challenge; the router runs it as the site the host names (`SiteRouter.challenge`). */
  private readonly acmeChallenge: Handler;
  /** Every exchange of this worker ends here: its counters, and the access logs. */
  private readonly observer = new ExchangeObserver();
  /** Whether the current sites need ACME challenges answered (then unknown ones are looked up in the store). */
  private answersAcme = false;
  /** Questions to the primary waiting for its reply: challenge look-ups, on-demand certificates. */
  private readonly requests: IpcRequests;
  /** On-demand certificates being obtained (name → the wait), and names refused lately (name → until when). */
  private readonly onDemandWaits = new Map<string, Promise<void>>();
  private readonly onDemandRefused = new Map<string, number>();
  private readonly signInFailures = new FailureLimit((address) => send({ type: 'auth-failed', address }));
  private router: SiteRouter | undefined;
  /** Reconfigurations apply in the order they were sent. */
  private configuring: Promise<void> = Promise.resolve();

  constructor(
    private readonly slot: number,
    private readonly log: Logger,
  ) {
    this.requests = new IpcRequests(log, 'the primary');
    this.certificates = new CertificateTable(log, (bundle) => send({ type: 'certificate-expired', fingerprint256: bundle.fingerprint256 }));
    this.accessLogs = new AccessLogs(log);
    this.caches = createStaticCaches(log);
    this.acmeChallenge = async (exchange) => {
      const token = exchange.path.slice(ACME_CHALLENGE.length);
      const answer = this.acmeAnswers.get(token) ?? (await this.lookUp('http-01', token));
      return answer === undefined ? errorPage(404, exchange.method === 'HEAD') : bytesResponse(200, { 'content-type': 'text/plain' }, exchange.method === 'HEAD' ? undefined : answer);
    };
  }

  /** This worker's counters of exchanges since it started, as plain JSON. */
  exchangeCounts(): ExchangeCounts {
    return this.observer.counts();
  }

  receive(raw: unknown): void {
    const parsed = parsePrimaryMessage(raw);
    if ('problem' in parsed) {
      this.log.warn(`ignored a malformed message from the primary: ${parsed.problem}`);
      return;
    }
    const { message } = parsed;
    if (message.type === 'start') void this.start(message.plan);
    else if (message.type === 'reconfigure') this.configuring = this.configuring.then(() => this.reconfigure(message.plan));
    else if (message.type === 'tls-bundle') this.certificates.publish(message.bundle);
    else if (message.type === 'ticket-keys') this.certificates.setTicketKeys(Buffer.from(message.keys, 'base64'));
    else if (message.type === 'acme-challenge') {
      if (message.keyAuthorization === undefined) this.acmeAnswers.delete(message.token);
      else this.acmeAnswers.set(message.token, message.keyAuthorization);
    } else if (message.type === 'acme-alpn') this.certificates.setAlpnChallenge(message.name, message.certPem, message.keyPem);
    else if (message.type === 'auth-blocked') this.signInFailures.block(message.address, message.until);
    else if (message.type === 'reply') this.requests.settle(message.id, message.reply);
    else if (message.type === 'request') send({ type: 'reply', id: message.id, reply: this.answer(message.request) });
    else this.shutdown();
  }

  /** The primary's questions to this worker. */
  private answer(request: PrimaryRequest): unknown {
    if (request.kind === 'counters') return this.exchangeCounts();
    return undefined;
  }

  /**
   * A handshake for a name that only an on-demand site's pattern matches: the primary decides
   * (ask URL, limits) and obtains it; handshakes for the same name wait together. A refusal is
   * remembered for 10 s, so a client retrying in a loop costs the primary nothing.
   */
  private obtainOnDemand(name: string): Promise<void> | undefined {
    const site = this.router?.match(name);
    if (!site?.onDemand || site.hosts.includes(name) || name.length > 253 || !DNS_NAME.test(name)) return undefined;
    const now = Date.now();
    if ((this.onDemandRefused.get(name) ?? 0) > now) return Promise.reject(new Error(`on-demand TLS refused ${name} a moment ago`));
    const waiting = this.onDemandWaits.get(name);
    if (waiting) return waiting;
    if (this.onDemandRefused.size > 10_000) for (const [refused, until] of this.onDemandRefused) if (until <= now) this.onDemandRefused.delete(refused);
    // Bounded: a handshake never waits longer than the TLS handshake timeout anyway.
    const wait = this.requests
      .ask(`an on-demand certificate for ${name}`, WORKER_REQUESTS['on-demand'].reply, 60_000, (id) => send({ type: 'request', id, request: { kind: 'on-demand', site: site.name, name } }))
      .catch(() => ({ ok: false }))
      .then(({ ok }) => {
        if (ok) return;
        this.onDemandRefused.set(name, Date.now() + 10_000);
        throw new Error(`on-demand TLS refused ${name}`);
      })
      .finally(() => this.onDemandWaits.delete(name));
    this.onDemandWaits.set(name, wait);
    return wait;
  }

  /** Asks the primary for a challenge answer another instance may have stored; undefined after 5 s without one. */
  private lookUp(challenge: 'http-01' | 'tls-alpn-01', key: string): Promise<string | undefined> {
    if (!this.answersAcme) return Promise.resolve(undefined);
    return this.requests
      .ask(`a ${challenge} challenge look-up`, WORKER_REQUESTS['acme-lookup'].reply, 5_000, (id) => send({ type: 'request', id, request: { kind: 'acme-lookup', challenge, key } }))
      .then(({ value }) => value, () => undefined);
  }

  private async start(plan: WorkerPlan): Promise<void> {
    this.shutdownGraceMs = plan.shutdownGraceMs;
    // Synchronously, before the certificates that follow this message are built.
    this.certificates.useGroups(plan.tlsGroups);
    try {
      await this.useSites(plan);
      // The router is swapped on reload; every endpoint asks for the current one per exchange.
      // An ACME http-01 answer comes before any site, its redirects or its rules.
      const router = {
        select: (exchange: Parameters<SiteRouter['select']>[0]) => (!exchange.secure && (this.answersAcme || this.acmeAnswers.size > 0) && exchange.path.startsWith(ACME_CHALLENGE) ? this.router!.challenge(exchange, this.acmeChallenge) : this.router!.select(exchange)),
      };
      const tracker = { begin: () => this.begin(), end: () => this.end() };
      if (this.stopping) return;
      this.endpoints = plan.bindings.map((binding) => new Endpoint(binding, plan.limits, router, tracker, this.observer, this.log, binding.tls ? this.certificates : undefined));
      const ports = await Promise.all(this.endpoints.map((endpoint) => endpoint.open(plan.reusePort === true)));
      if (this.stopping) return this.shutdown();
      send({ type: 'listening', listeners: this.endpoints.map((endpoint, i) => ({ name: endpoint.binding.name, port: ports[i]! })) });
    } catch (error) {
      send({ type: 'listen-failed', code: isPorticoError(error) ? error.code : 'ERR_LISTEN_FAILED', message: describeError(error) });
      return;
    }
    if (isFaultActive(`crash-worker-slot:${this.slot}`)) setTimeout(() => this.exit(70), 50);
  }

  /**
   * A reload, in place: the new sites are built beside the old ones, then one assignment makes
   * them current. Connections stay open; an exchange in flight finishes on the site it started on.
   */
  private async reconfigure(plan: WorkerPlan): Promise<void> {
    try {
      this.accessLogs.reopen();
      await this.useSites(plan);
      send({ type: 'reconfigured' });
    } catch (error) {
      this.log.error(`reload failed in this worker, still serving the previous sites: ${describeError(error)}`);
    }
  }

  private async useSites(plan: WorkerPlan): Promise<void> {
    const router = await buildSites(plan, { caches: this.caches, log: this.log, httpsPort: () => this.httpsPort(plan), signInFailures: this.signInFailures }, this.accessLogs);
    const ids = plan.sites.flatMap((site) => (site.certificateId ? [site.certificateId] : []));
    this.certificates.configure(ids, plan.sites.find((site) => site.isDefault)?.certificateId);
    this.answersAcme = plan.answersAcme === true;
    this.certificates.lookUpAlpnChallenges(this.answersAcme ? (name) => this.lookUp('tls-alpn-01', name).then(parseAlpnPair) : undefined);
    this.certificates.obtainOnDemandWith(plan.sites.some((site) => site.onDemand) ? (name) => this.obtainOnDemand(name) : undefined);
    const previous = this.router;
    this.router = router;
    previous?.close();
  }

  /** The HTTPS port clients reach: the plan's, or the one the system gave when the plan says 0. */
  private httpsPort(plan: WorkerPlan): number | undefined {
    const binding = plan.bindings.find((candidate) => candidate.tls);
    if (binding === undefined) return undefined;
    return binding.port !== 0 ? binding.port : this.endpoints.find((endpoint) => endpoint.binding.tls)?.port;
  }

  /** Counts exchanges in flight, so shutdown can wait for them. */
  private begin(): void {
    this.inFlight += 1;
  }

  private end(): void {
    this.inFlight -= 1;
    if (this.stopping && this.inFlight === 0) this.exit(0);
  }

  /** Every way out goes through here, so no buffered access-log line is lost. */
  exit(code: number): never {
    this.accessLogs.flush();
    process.exit(code);
  }

  /** Stops accepting, lets requests in flight finish (bounded), then exits 0. */
  shutdown(): void {
    if (this.stopping && this.endpoints.length === 0) return;
    this.stopping = true;
    for (const endpoint of this.endpoints) endpoint.stop();
    if (this.inFlight === 0) this.exit(0);
    this.log.info(`waiting up to ${this.shutdownGraceMs} ms for ${this.inFlight} request(s) in flight`);
    setTimeout(() => {
      this.log.warn(`${this.inFlight} request(s) still in flight after ${this.shutdownGraceMs} ms; exiting`);
      this.exit(0);
    }, this.shutdownGraceMs).unref();
  }
}

const ACME_CHALLENGE = '/.well-known/acme-challenge/';
const DNS_NAME = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

function parseAlpnPair(value: string | undefined): { certPem: string; keyPem: string } | undefined {
  if (value === undefined) return undefined;
  try {
    const pair = JSON.parse(value) as { certPem?: unknown; keyPem?: unknown };
    return typeof pair.certPem === 'string' && typeof pair.keyPem === 'string' ? { certPem: pair.certPem, keyPem: pair.keyPem } : undefined;
  } catch {
    return undefined;
  }
}

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message, undefined, {}, () => undefined);
}
