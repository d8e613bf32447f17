import cluster, { type Worker } from 'node:cluster';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { CertificatePlan, Plan, WorkerPlan } from '../config/plan.js';
import { describeError, PorticoError, userErrorLines } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { freezeBundle, type TlsBundle } from '../tls/bundle.js';
import { bundleCovers, loadInstalled } from '../tls/key-manager.js';
import { FailureCounter } from '../http/rules/failure-limit.js';
import { listenError } from '../server/listen-error.js';
import { listeningSockets, reusePortBalances } from '../server/reuse-port.js';
import { FileCertificate } from '../tls/file-certificate.js';
import { Keyring } from '../tls/keyring.js';
import { OnDemandCertificates } from '../tls/on-demand.js';
import { createTicketKeys, TICKET_KEY_LIFETIME_MS } from '../tls/ticket-keys.js';
import { InternalIssuer } from '../tls/internal-ca/internal-issuer.js';
import { FileStorage } from '../tls/storage/file-storage.js';
import type { Storage } from '../tls/storage/storage.js';
import { StorageKeys } from '../tls/storage/storage-keys.js';
import { type ChallengeBoard, storedChallenges } from '../tls/acme/acme-issuer.js';
import { type PrimaryMessage, parseWorkerMessage, type WorkerMessage } from './messages.js';
import { RestartPolicy } from './restart-policy.js';
import { notifyReady, writePidFile, removePidFile } from './service-manager.js';

/** Where a site's certificate comes from: the internal CA's keyring, or the user's files. */
type CertificateSource = Pick<Keyring, 'bundle' | 'start' | 'renewNow' | 'stop' | 'refresh'>;

/** How often the store is read for certificates installed by `portico cert install`. */
const INSTALLED_POLL_MS = 2_000;

/** Signals closer together than this are one interrupt delivered twice. */
const REPEATED_SIGNAL_MS = 300;

interface Slot {
  readonly index: number;
  readonly policy: RestartPolicy;
  worker: Worker | undefined;
  stopped: boolean;
}

/**
 * The primary supervises one worker per slot and owns the keyring. It never serves requests.
 * It resolves with the process exit code: 0 after a requested shutdown, 1 after a fatal error.
 */
export class Primary {
  private readonly slots: Slot[];
  /** Whether the listener URLs were printed (by the first worker to listen). */
  private announced = false;
  private storage: Storage | undefined;
  /** Closes a connection the storage holds (Redis), at shutdown. */
  private closeStorage: (() => void) | undefined;
  private issuer: InternalIssuer | undefined;
  /** Certificate plan id → its source, for the sites of the current plan. */
  private readonly sources = new Map<string, CertificateSource>();
  /** Site name → its on-demand certificates (tls.onDemand). */
  private readonly onDemand = new Map<string, OnDemandCertificates>();
  private plan: Plan;
  /** Reloads run one at a time; a signal during one queues one more. */
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private pidFile: string | undefined;
  /** Certificates installed with `portico cert install` that serve an internal site instead of its own: plan id → bundle. */
  private readonly installed = new Map<string, TlsBundle>();
  private readonly signInFailures = new FailureCounter();
  private installedTimer: NodeJS.Timeout | undefined;
  /** Workers that have not yet confirmed the reload in progress. */
  private awaitingReconfigured: { readonly workers: Set<Worker>; readonly done: () => void } | undefined;
  private ticketKeys = createTicketKeys();
  private ticketTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Each worker accepts on its own socket (SO_REUSEPORT), rather than all on one the primary shares. */
  private ownSockets = false;
  /**
   * With own sockets, the ports the first worker bound where the plan says 0 (any port): every
   * other worker, and every restarted one, must join those, not pick ports of its own.
   */
  private boundPorts: readonly number[] | undefined;
  /** The worker whose start binds those ports, and those that wait for them. */
  private portFinder: Slot | undefined;
  private readonly waitingForPorts: Slot[] = [];
  private firstSignalAt = 0;
  private exitCode = 0;
  private finish!: (code: number) => void;
  readonly done = new Promise<number>((resolve) => {
    this.finish = resolve;
  });

  constructor(
    plan: Plan,
    private readonly log: Logger,
    private readonly print: (line: string) => void,
    /** Reads the config file again, for a reload (flag mode has none). */
    private readonly reread?: (file: string) => Promise<Plan>,
  ) {
    this.plan = plan;
    this.slots = Array.from({ length: plan.workers }, (_, index) => ({ index, policy: new RestartPolicy(), worker: undefined, stopped: false }));
  }

  async start(): Promise<void> {
    if (this.plan.certificates.some((certificate) => certificate.source !== 'files') || this.plan.onDemand.length > 0) await this.openStorage();
    // Where the runtime has it (Node ≥ 22.12 on Linux), each worker listens on its own socket
    // with SO_REUSEPORT and the kernel spreads connections evenly. Otherwise SCHED_NONE: workers
    // accept from one socket the primary shares, whoever is quickest (unevenly: a busy worker
    // keeps taking more). Round-robin hand-off through the primary would cost about 40 % of the
    // TLS handshake rate on two cores. One worker has nothing to balance, and a shared socket
    // queues its connections while it restarts.
    this.ownSockets = this.plan.workers > 1 && (await reusePortBalances());
    this.log.debug(this.ownSockets ? 'each worker accepts on its own socket (SO_REUSEPORT)' : 'workers accept from one shared socket');
    if (this.ownSockets) {
      // Another program's SO_REUSEPORT socket (a second Portico) would take our workers in and
      // share its port; a shared socket would have failed with EADDRINUSE. Fail the same way.
      for (const binding of this.plan.serving.bindings) {
        if (binding.port !== 0 && ((await listeningSockets(binding.address, binding.port)) ?? 0) > 0) return this.fail(listenError(binding, Object.assign(new Error('in use'), { code: 'EADDRINUSE' })));
      }
    }
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: fileURLToPath(new URL('../main.js', import.meta.url)), args: [] });
    // Past that, workers' own listen errors are the port check: a probe listener in the primary
    // would reset clients that connect in the moment it exists (they do, in the founding race).
    for (const slot of this.slots) this.fork(slot);
    process.on('SIGINT', () => this.onSignal('SIGINT'));
    process.on('SIGTERM', () => this.onSignal('SIGTERM'));
    process.on('SIGHUP', () => this.reload());
    this.ticketTimer = setInterval(() => this.rotateTicketKeys(), TICKET_KEY_LIFETIME_MS);
    this.ticketTimer.unref();
  }

  private rotateTicketKeys(): void {
    this.ticketKeys = createTicketKeys();
    for (const worker of this.liveWorkers()) sendTo(worker, { type: 'ticket-keys', keys: this.ticketKeys });
  }

  private async openStorage(): Promise<InternalIssuer> {
    if (this.storage === undefined) {
      const wanted = this.plan.storage;
      if (wanted.kind === 'redis') {
        const { RedisStorage, safeUrl } = await import('../tls/storage/redis-storage.js');
        const redis = await RedisStorage.open(wanted, this.log);
        this.closeStorage = () => redis.close();
        this.storage = redis;
        this.log.info(`key material is stored in Redis at ${safeUrl(wanted.url)} (prefix ${wanted.prefix})`);
      } else this.storage = await FileStorage.open(this.plan.stateDir, this.log);
    }
    this.issuer ??= new InternalIssuer(this.storage, this.log);
    return this.issuer;
  }

  /**
   * Starts a source for every certificate of the plan that has none, and resolves once each has
   * published its first bundle: a site is routed to only after its certificate is in every
   * worker. Sources the plan no longer names are stopped.
   */
  private async provideCertificates(certificates: readonly CertificatePlan[], rereadFiles = false): Promise<void> {
    const started: Promise<TlsBundle>[] = [];
    const replaced = new Map<string, CertificateSource>();
    for (const wanted of certificates) {
      const existing = this.sources.get(wanted.id);
      // A reload reads own certificate files again (the user may have replaced them); the one
      // served stays until the new one has been read and checked.
      if (existing !== undefined && !(rereadFiles && wanted.source === 'files')) continue;
      if (existing !== undefined) replaced.set(wanted.id, existing);
      // While an installed certificate serves this site, the internal one is renewed but not sent.
      const publish = (bundle: TlsBundle): void => {
        if (!this.installed.has(bundle.id)) this.broadcast(bundle);
      };
      const created = await this.createSource(wanted, publish);
      this.sources.set(wanted.id, created);
      started.push(
        created.start().then((bundle) => {
          const origin = wanted.source === 'files' ? `from ${wanted.certFile}` : `root CA: portico ca root --state ${this.plan.stateDir}${wanted.source === 'acme' ? `; ordering from ${wanted.directory}` : ''}`;
          this.print(`certificate ready for ${bundle.hosts.join(', ')} (${bundle.keyType}, valid until ${new Date(bundle.notAfter).toISOString()}); ${origin}`);
          return bundle;
        }),
      );
    }
    const results = await Promise.allSettled(started);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      // Sources that never obtained a certificate are forgotten, so a later reload tries them
      // afresh; a file certificate that failed to re-read gives way to the one it was replacing.
      for (const wanted of certificates) {
        const source = this.sources.get(wanted.id);
        if (source === undefined || source.bundle !== undefined) continue;
        source.stop();
        const previous = replaced.get(wanted.id);
        if (previous) this.sources.set(wanted.id, previous);
        else this.sources.delete(wanted.id);
      }
      throw failed.reason;
    }
    const ids = new Set(certificates.map((wanted) => wanted.id));
    for (const [id, source] of this.sources) {
      if (ids.has(id)) continue;
      source.stop();
      this.sources.delete(id);
    }
  }

  private async createSource(wanted: CertificatePlan, publish: (bundle: TlsBundle) => void): Promise<CertificateSource> {
    if (wanted.source === 'files') return new FileCertificate(wanted, this.log, publish);
    const issuer = await this.openStorage();
    if (wanted.source === 'internal') return new Keyring(this.storage!, issuer, wanted, this.log, publish);
    const { AcmeCertificate } = await import('../tls/acme/acme-certificate.js');
    return new AcmeCertificate(wanted, this.storage!, issuer, this.challenges, this.log, publish, (bundle) =>
      this.print(`ACME certificate ready for ${bundle.hosts.join(', ')} (valid until ${new Date(bundle.notAfter).toISOString()}), from ${wanted.directory}`),
    );
  }

  /** On-demand TLS per site of the plan: kept across a reload when its settings are the same, so are its certificates. */
  private async provideOnDemand(): Promise<void> {
    const wanted = new Map(this.plan.onDemand.map((plan) => [plan.site, plan]));
    for (const [site, current] of this.onDemand) {
      if (JSON.stringify(current.plan) === JSON.stringify(wanted.get(site))) continue;
      current.stop();
      this.onDemand.delete(site);
    }
    for (const plan of wanted.values()) {
      if (this.onDemand.has(plan.site)) continue;
      const internal = await this.openStorage();
      const storage = this.storage!;
      const acme = plan.acme === undefined ? undefined : (await import('../tls/acme/acme-certificate.js')).AcmeCertificate;
      const keyringFor = (name: string, publish: (bundle: TlsBundle) => void): Keyring =>
        acme && plan.acme
          ? acme.keyring({ source: 'acme', id: name, hosts: [name], keyType: plan.keyType, lifetimeMs: plan.lifetimeMs, ...plan.acme }, storage, this.challenges, this.log, publish)
          : new Keyring(storage, internal, { hosts: [name], keyType: plan.keyType, lifetimeMs: plan.lifetimeMs }, this.log, publish);
      this.onDemand.set(plan.site, new OnDemandCertificates(plan, keyringFor, this.log, (bundle) => this.broadcast(bundle)));
    }
  }

  /** A worker holds a handshake for a name only an on-demand site matches. */
  private async obtainOnDemand(worker: Worker, id: number, site: string, name: string): Promise<void> {
    const certificates = this.onDemand.get(site);
    const result = certificates ? await certificates.obtain(name) : { refused: `site ${site} has no on-demand TLS` };
    // The bundle before the answer: IPC keeps their order, so the handshake finds it.
    if ('bundle' in result) sendTo(worker, { type: 'tls-bundle', bundle: result.bundle });
    sendTo(worker, { type: 'on-demand-done', id, ok: 'bundle' in result });
  }

  /** http-01 answers, for every worker's plain-HTTP listener; a restarted worker gets them too. */
  private readonly challengeAnswers = new Map<string, string>();
  private readonly alpnChallenges = new Map<string, { certPem: string; keyPem: string }>();
  /**
   * The ACME issuer's challenge board. Answers go to this primary's workers and into the store,
   * before the CA is told to validate: in a fleet, the CA may ask any instance.
   */
  private readonly challenges = {
    addAlpn: async (name: string, certPem: string, keyPem: string): Promise<void> => {
      this.alpnChallenges.set(name, { certPem, keyPem });
      for (const worker of this.liveWorkers()) sendTo(worker, { type: 'acme-alpn', name, certPem, keyPem });
      await this.storedChallenges()?.addAlpn(name, certPem, keyPem);
    },
    removeAlpn: async (name: string): Promise<void> => {
      this.alpnChallenges.delete(name);
      for (const worker of this.liveWorkers()) sendTo(worker, { type: 'acme-alpn', name, certPem: undefined, keyPem: undefined });
      await this.storedChallenges()?.removeAlpn(name);
    },
    add: async (token: string, keyAuthorization: string): Promise<void> => {
      this.challengeAnswers.set(token, keyAuthorization);
      for (const worker of this.liveWorkers()) sendTo(worker, { type: 'acme-challenge', token, keyAuthorization });
      await this.storedChallenges()?.add(token, keyAuthorization);
    },
    remove: async (token: string): Promise<void> => {
      this.challengeAnswers.delete(token);
      for (const worker of this.liveWorkers()) sendTo(worker, { type: 'acme-challenge', token, keyAuthorization: undefined });
      await this.storedChallenges()?.remove(token);
    },
  };

  private storedChallenges(): ChallengeBoard | undefined {
    return this.storage && storedChallenges(this.storage);
  }

  /** A worker met a challenge it has no answer for: look in the store, where another instance may have put it. */
  private async lookUpChallenge(worker: Worker, id: number, challenge: 'http-01' | 'tls-alpn-01', key: string): Promise<void> {
    let value: string | undefined;
    const valid = challenge === 'http-01' ? /^[A-Za-z0-9_-]{1,256}$/.test(key) : /^[a-z0-9.-]{1,253}$/.test(key);
    if (valid) {
      const local = challenge === 'http-01' ? this.challengeAnswers.get(key) : this.alpnChallenges.get(key);
      try {
        value = typeof local === 'string' ? local : local ? JSON.stringify(local) : await this.storage?.load(challenge === 'http-01' ? StorageKeys.httpChallenge(key) : StorageKeys.alpnChallenge(key));
      } catch (error) {
        this.log.warn(`could not look up an ACME ${challenge} challenge in the store: ${describeError(error)}`);
      }
    }
    sendTo(worker, { type: 'acme-found', id, value });
  }

  /** Starts once the first worker listens, so a port error is reported alone and no key is made for nothing. */
  private async startCertificates(): Promise<void> {
    try {
      await this.provideCertificates(this.plan.certificates);
      await this.provideOnDemand();
      await this.applyInstalled();
    } catch (error) {
      this.fail(error);
      return;
    }
    this.ready();
    if (this.storage) {
      this.installedTimer = setInterval(() => void this.watchStore(), INSTALLED_POLL_MS);
      this.installedTimer.unref();
    }
  }

  /**
   * Every two seconds: certificates installed with `portico cert install`, and newer ones that
   * another process stored (a fleet member's renewal, `portico cert renew`). A store that does
   * not answer is said once, not every two seconds; the certificates in memory keep serving.
   */
  private async watchStore(): Promise<void> {
    try {
      await this.applyInstalled();
      for (const source of this.sources.values()) await source.refresh();
      for (const certificates of this.onDemand.values()) await certificates.refresh();
      if (this.storeUnreadable) this.log.info('the certificate store answers again');
      this.storeUnreadable = false;
    } catch (error) {
      if (!this.storeUnreadable) this.log.warn(`cannot read the certificate store, serving the certificates in memory: ${describeError(error)}`);
      this.storeUnreadable = true;
    }
  }
  private storeUnreadable = false;

  /**
   * `portico cert install` writes to the store; this looks there every two seconds. An installed
   * certificate that covers every host of a site whose tls is internal serves that site in its
   * place (the same id, so every worker swaps it atomically); when it is gone or expired, the
   * internal one comes back.
   */
  private async applyInstalled(): Promise<void> {
    if (!this.storage || this.stopping) return;
    const bundles = await loadInstalled(this.storage, Date.now());
    for (const wanted of this.plan.certificates) {
      if (wanted.source !== 'internal') continue;
      const match = bundles.find((bundle) => bundleCovers(bundle, wanted.hosts));
      const current = this.installed.get(wanted.id);
      if (match && match.fingerprint256 !== current?.fingerprint256) {
        const bundle = freezeBundle({ ...match, id: wanted.id, hosts: wanted.hosts });
        this.installed.set(wanted.id, bundle);
        this.print(`installed certificate ${match.fingerprint256} now serves ${wanted.hosts.join(', ')} (valid until ${new Date(match.notAfter).toISOString()})`);
        this.broadcast(bundle);
      } else if (!match && current) {
        this.installed.delete(wanted.id);
        const own = this.sources.get(wanted.id)?.bundle;
        this.log.warn(`the installed certificate for ${wanted.hosts.join(', ')} is gone or no longer valid; serving the internal one again`);
        if (own) this.broadcast(own);
      }
    }
  }

  /** Every listener is up and every certificate is ready: tell a service manager, and leave a pid file for `portico reload`. */
  private ready(): void {
    if (this.stopping) return;
    if (this.plan.configFile) this.pidFile = writePidFile(this.plan.stateDir, this.plan.configFile, this.log);
    this.print(`ready: ${this.plan.serving.sites.length} site(s), ${this.plan.certificates.length} certificate(s)`);
    notifyReady(this.log);
  }

  /**
   * SIGHUP: reads the config file again. An invalid file is refused with every problem logged,
   * and the running configuration keeps serving. A valid one gets its new certificates first,
   * then every worker switches to the new sites in place, keeping its connections.
   */
  reload(): void {
    if (this.stopping) return;
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = this.applyReload().finally(() => {
      this.reloading = undefined;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        this.reload();
      }
    });
  }

  private async applyReload(): Promise<void> {
    const file = this.plan.configFile;
    if (file === undefined || this.reread === undefined) {
      this.log.warn('reload asked for, but Portico was started from flags, not a config file: nothing to reload; logs reopened');
      for (const worker of this.liveWorkers()) sendTo(worker, { type: 'reconfigure', plan: this.plan.serving });
      return;
    }
    this.log.info(`reloading ${file}`);
    let next: Plan;
    try {
      next = await this.reread(file);
    } catch (error) {
      const problems = userErrorLines(error) ?? [describeError(error)];
      for (const problem of problems) this.log.error(`reload refused: ${problem}`);
      this.log.error(`reload refused (${problems.length} problem(s) above); still serving the configuration loaded before`);
      return;
    }
    const unchanged = restartOnly(this.plan, next);
    if (unchanged.length > 0) this.log.warn(`reload: ${unchanged.join(', ')} changed; that takes a restart, so it is kept as it was. The sites are reloaded now`);
    const plan: Plan = { ...next, workers: this.plan.workers, stateDir: this.plan.stateDir, logFormat: this.plan.logFormat, serving: { ...next.serving, bindings: this.plan.serving.bindings, limits: this.plan.serving.limits, shutdownGraceMs: this.plan.serving.shutdownGraceMs, tlsGroups: this.plan.serving.tlsGroups } };
    try {
      await this.provideCertificates(plan.certificates, true);
    } catch (error) {
      this.log.error(`reload refused: a certificate could not be provided (${describeError(error)}); still serving the configuration loaded before`);
      return;
    }
    if (this.stopping) return;
    this.plan = plan;
    await this.provideOnDemand();
    const confirmed = await this.reconfigureWorkers(plan);
    this.log.info(`reloaded: ${plan.serving.sites.map((site) => site.name).join(', ')}${confirmed ? '' : ' (some workers did not confirm within 10 s; see their log lines)'}`);
  }

  /** Sends the new sites to every worker and waits (bounded) until each says it serves them. */
  private reconfigureWorkers(plan: Plan): Promise<boolean> {
    const workers = new Set(this.liveWorkers());
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), 10_000);
      const finish = (confirmed: boolean): void => {
        clearTimeout(timer);
        this.awaitingReconfigured = undefined;
        resolve(confirmed);
      };
      this.awaitingReconfigured = { workers, done: () => finish(true) };
      if (workers.size === 0) return finish(true);
      for (const worker of workers) sendTo(worker, { type: 'reconfigure', plan: plan.serving });
    });
  }

  private onReconfigured(slot: Slot): void {
    const waiting = this.awaitingReconfigured;
    if (!waiting || !slot.worker) return;
    waiting.workers.delete(slot.worker);
    if ([...waiting.workers].every((worker) => worker.isDead())) waiting.done();
  }

  private broadcast(bundle: TlsBundle): void {
    this.log.info(`publishing certificate ${bundle.serialNumber} (sha256 ${bundle.fingerprint256}) to ${this.liveWorkers().length} worker(s)`);
    for (const worker of this.liveWorkers()) sendTo(worker, { type: 'tls-bundle', bundle });
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ PORTICO_WORKER_SLOT: String(slot.index) });
    slot.worker = worker;
    this.log.debug(`worker ${slot.index} forked (pid ${worker.process.pid})`);
    worker.on('message', (raw) => this.receive(slot, raw));
    worker.on('error', (error) => {
      // A worker that could not even be started (newer Node versions report only this, no exit):
      // without it nothing would serve, and nothing would say why.
      if (worker.process.pid === undefined) this.fail(new PorticoError('ERR_WORKER_SPAWN', `cannot start a worker process: ${describeError(error)}; check that ${process.execPath} can be run by this user`));
      else this.log.debug(`worker ${slot.index} IPC: ${describeError(error)}`);
    });
    worker.once('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private receive(slot: Slot, raw: unknown): void {
    const message: WorkerMessage | undefined = parseWorkerMessage(raw);
    if (message === undefined) {
      this.log.warn(`ignored a malformed message from worker ${slot.index}`);
      return;
    }
    if (message.type === 'ready') this.equip(slot);
    else if (message.type === 'listening') this.onListening(slot, message.listeners);
    else if (message.type === 'certificate-expired') this.sourceOf(message.fingerprint256)?.renewNow(`worker ${slot.index} found certificate ${message.fingerprint256} expired`);
    else if (message.type === 'reconfigured') this.onReconfigured(slot);
    else if (message.type === 'auth-failed') this.onSignInFailure(message.address);
    else if (message.type === 'on-demand') {
      if (slot.worker) void this.obtainOnDemand(slot.worker, message.id, message.site, message.name);
    } else if (message.type === 'acme-lookup') {
      if (slot.worker) void this.lookUpChallenge(slot.worker, message.id, message.challenge, message.key);
    }
    else this.fail(new PorticoError(message.code as PorticoError['code'], message.message));
  }

  /**
   * A new or restarted worker gets its plan and the current bundle at once. One that reports
   * ready while the primary is stopping missed the shutdown (it was still loading): it is told
   * again instead of being started.
   */
  private equip(slot: Slot): void {
    if (!slot.worker) return;
    if (this.stopping) return sendTo(slot.worker, { type: 'shutdown' });
    if (this.awaitsPorts(slot)) return void this.waitingForPorts.push(slot);
    sendTo(slot.worker, { type: 'start', plan: this.servingPlan() });
    sendTo(slot.worker, { type: 'ticket-keys', keys: this.ticketKeys });
    for (const [id, source] of this.sources) {
      const bundle = this.installed.get(id) ?? source.bundle;
      if (bundle) sendTo(slot.worker, { type: 'tls-bundle', bundle });
    }
    for (const certificates of this.onDemand.values()) for (const bundle of certificates.bundles()) sendTo(slot.worker, { type: 'tls-bundle', bundle });
    for (const [token, keyAuthorization] of this.challengeAnswers) sendTo(slot.worker, { type: 'acme-challenge', token, keyAuthorization });
    for (const [name, pair] of this.alpnChallenges) sendTo(slot.worker, { type: 'acme-alpn', name, ...pair });
  }

  /**
   * Whether `slot` must wait for another worker to bind the ports the plan leaves to the system:
   * with own sockets, a second `listen(0)` would get a port of its own that no client knows.
   */
  private awaitsPorts(slot: Slot): boolean {
    if (!this.ownSockets || this.boundPorts !== undefined || !this.plan.serving.bindings.some((binding) => binding.port === 0)) return false;
    if (this.portFinder === undefined || this.portFinder === slot) {
      this.portFinder = slot;
      return false;
    }
    return true;
  }

  /** What a worker serves: the plan, with how it accepts and the ports already bound for port 0. */
  private servingPlan(): WorkerPlan {
    const { serving } = this.plan;
    if (!this.ownSockets) return serving;
    const bound = this.boundPorts;
    return { ...serving, reusePort: true, bindings: bound === undefined ? serving.bindings : serving.bindings.map((binding, i) => (binding.port === 0 ? { ...binding, port: bound[i] ?? 0 } : binding)) };
  }

  /** Sign-in failures counted across workers: past the limit, every worker refuses the address. */
  private onSignInFailure(address: string): void {
    const until = this.signInFailures.record(address, Date.now());
    if (until === undefined) return;
    for (const worker of this.liveWorkers()) sendTo(worker, { type: 'auth-blocked', address, until });
  }

  private sourceOf(fingerprint256: string): CertificateSource | undefined {
    for (const source of this.sources.values()) if (source.bundle?.fingerprint256 === fingerprint256) return source;
    return undefined;
  }

  private onListening(slot: Slot, listeners: readonly { name: 'http' | 'https'; port: number }[]): void {
    this.log.info(`worker ${slot.index} started (pid ${slot.worker?.process.pid})`);
    if (this.ownSockets && this.boundPorts === undefined) {
      this.boundPorts = listeners.map((listener) => listener.port);
      for (const waiting of this.waitingForPorts.splice(0)) this.equip(waiting);
    }
    if (this.announced || this.stopping) return;
    this.announced = true;
    const { sites } = this.plan.serving;
    const what = sites.length === 1 ? (sites[0]!.root ?? `site ${sites[0]!.name}`) : `${sites.length} sites (${sites.map((site) => site.name).join(', ')})`;
    this.print(`Portico serving ${what} with ${this.plan.workers} worker(s)`);
    for (const { name, port } of listeners) this.print(`  ${name}://${displayHost(this.plan)}:${port}/`);
    if (this.plan.certificates.length > 0 || this.plan.onDemand.length > 0) void this.startCertificates();
    else this.ready();
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker === worker) slot.worker = undefined;
    // The worker that was to bind the ports died first: the next one waiting does it instead.
    if (this.portFinder === slot && this.boundPorts === undefined) {
      this.portFinder = undefined;
      const next = this.waitingForPorts.shift();
      if (next) this.equip(next);
    }
    if (this.stopping) {
      if (this.liveWorkers().length === 0) this.exit();
      return;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const decision = slot.policy.recordFailure(Date.now());
    if (decision.action === 'restart') {
      this.log.warn(`worker ${slot.index} (pid ${worker.process.pid}) exited with ${how}; restarting in ${decision.delayMs} ms`);
      setTimeout(() => {
        if (!this.stopping) this.fork(slot);
      }, decision.delayMs);
      return;
    }
    slot.stopped = true;
    const serving = this.slots.filter((s) => !s.stopped).length;
    this.log.error(`RAPID-FAIL PROTECTION: worker ${slot.index} failed ${decision.failures} times within 5 minutes (last: ${how}); it will not be restarted. ${serving} of ${this.slots.length} worker(s) still serving`);
    if (serving === 0) this.fail(new PorticoError('ERR_ALL_WORKERS_FAILED', 'every worker was stopped by rapid-fail protection; see the log above for why they exited'));
  }

  /** A fatal error: one clear line for the user (reported once, however many workers hit it), then shutdown. */
  private fail(error: unknown): void {
    if (this.stopping) return;
    for (const line of userErrorLines(error) ?? [describeError(error)]) process.stderr.write(`portico: ${line}\n`);
    this.shutdown(1, 'a fatal error');
  }

  /** Asks every worker to finish in-flight requests and exit; forces it after the grace period. */
  shutdown(exitCode: number, reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.exitCode = exitCode;
    for (const source of this.sources.values()) source.stop();
    for (const certificates of this.onDemand.values()) certificates.stop();
    clearInterval(this.ticketTimer);
    clearInterval(this.installedTimer);
    if (exitCode === 0) this.log.info(`shutting down (${reason})`);
    const live = this.liveWorkers();
    if (live.length === 0) return this.exit();
    for (const worker of live) sendTo(worker, { type: 'shutdown' });
    setTimeout(() => {
      for (const worker of this.liveWorkers()) worker.process.kill('SIGKILL');
    }, this.plan.shutdownGraceMs + 2_000).unref();
  }

  /**
   * The first SIGINT or SIGTERM drains; a second one stops at once, as Caddy and most servers
   * do. A repeat within REPEATED_SIGNAL_MS is the same interrupt delivered twice — under `npm
   * start`, Ctrl-C reaches the process group and npm forwards it again — so it is not a second.
   */
  private onSignal(signal: NodeJS.Signals): void {
    if (!this.stopping) {
      this.firstSignalAt = Date.now();
      this.shutdown(0, signal);
      setTimeout(() => {
        const draining = this.liveWorkers().length;
        if (draining > 0) this.log.info(`still draining ${draining} worker(s); Ctrl-C again stops at once`);
      }, REPEATED_SIGNAL_MS).unref();
      return;
    }
    const since = Date.now() - this.firstSignalAt;
    if (since < REPEATED_SIGNAL_MS) return this.log.debug(`ignored ${signal} ${since} ms after the first: the same interrupt, delivered twice`);
    this.forceStop(signal);
  }

  /** Stops every worker now, abandoning requests in flight; exit code 130, as after an interrupt. */
  private forceStop(signal: string): void {
    this.log.warn(`${signal} again: stopping now, without waiting for requests in flight`);
    this.exitCode = 130;
    const live = this.liveWorkers();
    if (live.length === 0) return this.exit();
    for (const worker of live) worker.process.kill('SIGKILL');
  }

  private exit(): void {
    if (this.pidFile) removePidFile(this.pidFile);
    this.closeStorage?.();
    this.finish(this.exitCode);
  }

  private liveWorkers(): Worker[] {
    return this.slots.flatMap((slot) => (slot.worker && !slot.worker.isDead() ? [slot.worker] : []));
  }
}

function sendTo(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message, undefined, () => undefined);
}

/** What a reload cannot change in running workers: listeners, limits, TLS groups, worker count, state folder, log format. */
function restartOnly(running: Plan, next: Plan): string[] {
  const changed: string[] = [];
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  if (!same(running.serving.bindings, next.serving.bindings)) changed.push('http/https/bind');
  if (!same(running.serving.limits, next.serving.limits) || running.shutdownGraceMs !== next.shutdownGraceMs) changed.push('limits');
  if (!same(running.serving.tlsGroups, next.serving.tlsGroups)) changed.push('tlsGroups');
  if (running.workers !== next.workers) changed.push('workers');
  if (running.stateDir !== next.stateDir) changed.push('state');
  if (running.logFormat !== next.logFormat) changed.push('logFormat');
  return changed;
}

/** The host to show in a URL: the default site's first DNS name, else the bind address. */
function displayHost(plan: Plan): string {
  const site = plan.serving.sites.find((candidate) => candidate.isDefault) ?? plan.serving.sites[0];
  const hosts = (site?.hosts ?? []).filter((host) => !host.startsWith('*.'));
  const name = hosts.find((host) => isIP(host) === 0);
  if (name) return name;
  const address = plan.serving.bindings[0]?.address ?? hosts[0] ?? 'localhost';
  return isIP(address) === 6 ? `[${address}]` : address;
}
