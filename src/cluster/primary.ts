import cluster, { type Worker } from 'node:cluster';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../config/plan.js';
import { describeError, PorticoError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { TlsBundle } from '../tls/bundle.js';
import { Keyring } from '../tls/keyring.js';
import { createTicketKeys, TICKET_KEY_LIFETIME_MS } from '../tls/ticket-keys.js';
import { InternalIssuer } from '../tls/internal-ca/internal-issuer.js';
import { FileStorage } from '../tls/storage/file-storage.js';
import { type PrimaryMessage, parseWorkerMessage, type WorkerMessage } from './messages.js';
import { RestartPolicy } from './restart-policy.js';

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
  private storage: FileStorage | undefined;
  private keyring: Keyring | undefined;
  private ticketKeys = createTicketKeys();
  private ticketTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private firstSignalAt = 0;
  private exitCode = 0;
  private finish!: (code: number) => void;
  readonly done = new Promise<number>((resolve) => {
    this.finish = resolve;
  });

  constructor(
    private readonly plan: Plan,
    private readonly log: Logger,
    private readonly print: (line: string) => void,
  ) {
    this.slots = Array.from({ length: plan.workers }, (_, index) => ({ index, policy: new RestartPolicy(), worker: undefined, stopped: false }));
  }

  async start(): Promise<void> {
    this.storage = this.plan.certificates.length > 0 ? await FileStorage.open(this.plan.stateDir, this.log) : undefined;
    // SCHED_NONE: workers accept from the shared socket themselves. Round-robin hand-off
    // through the primary costs about 40 % of the TLS handshake rate on two cores.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: fileURLToPath(new URL('../main.js', import.meta.url)), args: [] });
    // Workers' own listen errors are the only port check: a probe listener in the primary would
    // reset clients that connect in the moment it exists (and clients do, in the founding race).
    for (const slot of this.slots) this.fork(slot);
    process.on('SIGINT', () => this.onSignal('SIGINT'));
    process.on('SIGTERM', () => this.onSignal('SIGTERM'));
    this.ticketTimer = setInterval(() => this.rotateTicketKeys(), TICKET_KEY_LIFETIME_MS);
    this.ticketTimer.unref();
  }

  private rotateTicketKeys(): void {
    this.ticketKeys = createTicketKeys();
    for (const worker of this.liveWorkers()) sendTo(worker, { type: 'ticket-keys', keys: this.ticketKeys });
  }

  /** Starts once the first worker listens, so a port error is reported alone and no key is made for nothing. */
  private async startKeyring(storage: FileStorage): Promise<void> {
    const [wanted] = this.plan.certificates;
    if (wanted === undefined) return;
    this.keyring = new Keyring(storage, new InternalIssuer(storage, this.log), wanted, this.log, (bundle) => this.broadcast(bundle));
    try {
      const bundle = await this.keyring.start();
      this.print(`certificate ready for ${bundle.hosts.join(', ')} (${bundle.keyType}, valid until ${new Date(bundle.notAfter).toISOString()}); root CA: portico ca root --state ${this.plan.stateDir}`);
    } catch (error) {
      this.fail(error);
    }
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
    worker.on('error', (error) => this.log.debug(`worker ${slot.index} IPC: ${describeError(error)}`));
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
    else if (message.type === 'certificate-expired') this.keyring?.renewNow(`worker ${slot.index} found certificate ${message.fingerprint256} expired`);
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
    sendTo(slot.worker, { type: 'start', plan: this.plan.serving });
    sendTo(slot.worker, { type: 'ticket-keys', keys: this.ticketKeys });
    const bundle = this.keyring?.bundle;
    if (bundle) sendTo(slot.worker, { type: 'tls-bundle', bundle });
  }

  private onListening(slot: Slot, listeners: readonly { name: 'http' | 'https'; port: number }[]): void {
    this.log.info(`worker ${slot.index} started (pid ${slot.worker?.process.pid})`);
    if (this.announced || this.stopping) return;
    this.announced = true;
    const roots = this.plan.serving.sites.map((site) => site.root).join(', ');
    this.print(`Portico serving ${roots} with ${this.plan.workers} worker(s)`);
    for (const { name, port } of listeners) this.print(`  ${name}://${displayHost(this.plan)}:${port}/`);
    if (this.storage) void this.startKeyring(this.storage);
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker === worker) slot.worker = undefined;
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
    process.stderr.write(`portico: ${describeError(error)}${error instanceof PorticoError ? ` (${error.code})` : ''}\n`);
    this.shutdown(1, 'a fatal error');
  }

  /** Asks every worker to finish in-flight requests and exit; forces it after the grace period. */
  shutdown(exitCode: number, reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.exitCode = exitCode;
    this.keyring?.stop();
    clearInterval(this.ticketTimer);
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
    this.finish(this.exitCode);
  }

  private liveWorkers(): Worker[] {
    return this.slots.flatMap((slot) => (slot.worker && !slot.worker.isDead() ? [slot.worker] : []));
  }
}

function sendTo(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message, undefined, () => undefined);
}

/** The host to show in a URL: the first DNS name the certificate covers, else the bind address. */
function displayHost(plan: Plan): string {
  const hosts = plan.certificates[0]?.hosts ?? [];
  const name = hosts.find((host) => isIP(host) === 0);
  if (name) return name;
  const address = plan.serving.bindings[0]?.address ?? hosts[0] ?? 'localhost';
  return isIP(address) === 6 ? `[${address}]` : address;
}
