import type { Plan } from '../config/plan.js';
import { describeError, userErrorLines } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { TlsBundle } from '../tls/bundle.js';
import { AcmeChallengeRelay } from './acme-challenge-relay.js';
import { servingLines } from './announcement.js';
import { CertificateService } from './certificate-service.js';
import { Control } from './control.js';
import type { WorkerRequest } from './messages.js';
import { Reloader } from './reloader.js';
import { notifyReady, removePidFile, writePidFile } from './service-manager.js';
import { SignInFailures } from './sign-in-failures.js';
import { handleStopSignals } from './stop-signals.js';
import { Supervisor, type WorkerLink } from './supervisor.js';
import { TicketKeyRotation } from './ticket-key-rotation.js';

/**
 * The primary: the composition root of the services that run a Portico. The Supervisor keeps
 * one worker per slot; the certificate service makes and renews key material; the ACME relay,
 * the ticket key rotation and the sign-in failure count are shared with every worker; the
 * Reloader applies a config file again; Control is the one object that exposes operations
 * (SIGHUP goes through it). It never serves requests. `done` resolves with the process exit
 * code: 0 after a requested shutdown, 1 after a fatal error, 130 after a second interrupt.
 */
export class Primary {
  readonly control: Control;
  private readonly plan: { current: Plan };
  private readonly supervisor: Supervisor;
  private readonly certificates: CertificateService;
  private readonly challenges: AcmeChallengeRelay;
  private readonly ticketKeys: TicketKeyRotation;
  private readonly signInFailures: SignInFailures;
  private readonly reloader: Reloader;
  /** Whether the listener URLs were printed (by the first worker to listen). */
  private announced = false;
  private pidFile: string | undefined;
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
    reread?: (file: string) => Promise<Plan>,
  ) {
    this.plan = { current: plan };
    this.supervisor = new Supervisor(plan, log, {
      equip: (worker) => this.equip(worker),
      listening: (_worker, listeners) => this.onListening(listeners),
      request: (worker, request) => this.answer(worker, request),
      message: (worker, message) => {
        if (message.type === 'certificate-expired') this.certificates.sourceOf(message.fingerprint256)?.renewNow(`worker ${worker.slot} found certificate ${message.fingerprint256} expired`);
        else if (message.type === 'reconfigured') this.reloader.reconfigured(worker);
        else this.signInFailures.record(message.address);
      },
      fatal: (error) => this.fail(error),
      allExited: () => this.exit(),
    });
    const broadcast = this.supervisor.broadcast.bind(this.supervisor);
    this.challenges = new AcmeChallengeRelay(broadcast, () => this.certificates.storage, log);
    this.certificates = new CertificateService(plan, this.challenges, log, print, (bundle) => this.publish(bundle));
    this.ticketKeys = new TicketKeyRotation(broadcast);
    this.signInFailures = new SignInFailures(broadcast);
    this.reloader = new Reloader(this.plan, this.supervisor, this.certificates, log, reread);
    this.control = new Control(this.plan, this.supervisor, this.certificates, this.reloader, log);
  }

  async start(): Promise<void> {
    await this.certificates.open(this.plan.current);
    await this.supervisor.start();
    const supervisor = this.supervisor;
    handleStopSignals({ get isStopping() { return supervisor.isStopping; }, drain: (signal) => this.shutdown(0, signal), force: (signal) => this.forceStop(signal), draining: () => supervisor.live().length }, this.log);
    process.on('SIGHUP', () => void this.control.reload('SIGHUP'));
    this.ticketKeys.start();
  }

  /** A new or restarted worker gets its plan, the ticket key, every certificate and the ACME answers in progress, at once. */
  private equip(worker: WorkerLink): void {
    worker.send({ type: 'start', plan: this.supervisor.servingPlan(this.plan.current.serving) });
    worker.send(this.ticketKeys.message());
    for (const bundle of this.certificates.bundles()) worker.send({ type: 'tls-bundle', bundle });
    this.challenges.replay((message) => worker.send(message));
  }

  private async answer(worker: WorkerLink, request: WorkerRequest): Promise<unknown> {
    if (request.kind === 'acme-lookup') {
      const value = await this.challenges.lookUp(request.challenge, request.key);
      return value === undefined ? {} : { value };
    }
    const result = await this.certificates.obtainOnDemand(request.site, request.name);
    // The bundle before the answer: IPC keeps their order, so the handshake finds it.
    if ('bundle' in result) worker.send({ type: 'tls-bundle', bundle: result.bundle });
    return { ok: 'bundle' in result };
  }

  private publish(bundle: TlsBundle): void {
    this.log.info(`publishing certificate ${bundle.serialNumber} (sha256 ${bundle.fingerprint256}) to ${this.supervisor.live().length} worker(s)`);
    this.supervisor.broadcast({ type: 'tls-bundle', bundle });
  }

  private onListening(listeners: Parameters<typeof servingLines>[1]): void {
    if (this.announced) return;
    this.announced = true;
    const plan = this.plan.current;
    for (const line of servingLines(plan, listeners)) this.print(line);
    if (plan.certificates.length > 0 || plan.onDemand.length > 0) void this.startCertificates();
    else this.ready();
  }

  /** Starts once the first worker listens, so a port error is reported alone and no key is made for nothing. */
  private async startCertificates(): Promise<void> {
    try {
      await this.certificates.provide(this.plan.current.certificates);
      await this.certificates.adopt(this.plan.current);
      await this.certificates.watch();
    } catch (error) {
      return this.fail(error);
    }
    this.ready();
  }

  /** Every listener is up and every certificate is ready: tell a service manager, and leave a pid file for `portico reload`. */
  private ready(): void {
    if (this.supervisor.isStopping) return;
    const plan = this.plan.current;
    if (plan.configFile) this.pidFile = writePidFile(plan.stateDir, plan.configFile, this.log);
    this.print(`ready: ${plan.serving.sites.length} site(s), ${plan.certificates.length} certificate(s)`);
    notifyReady(this.log);
  }

  /** A fatal error: one clear line for the user (reported once, however many workers hit it), then shutdown. */
  private fail(error: unknown): void {
    if (this.supervisor.isStopping) return;
    for (const line of userErrorLines(error) ?? [describeError(error)]) process.stderr.write(`portico: ${line}\n`);
    this.shutdown(1, 'a fatal error');
  }

  /** Asks every worker to finish in-flight requests and exit; forces it after the grace period. */
  shutdown(exitCode: number, reason: string): void {
    if (this.supervisor.isStopping) return;
    this.exitCode = exitCode;
    this.certificates.stop();
    this.ticketKeys.stop();
    if (exitCode === 0) this.log.info(`shutting down (${reason})`);
    this.supervisor.stop(this.plan.current.shutdownGraceMs);
  }

  /** Stops every worker now, abandoning requests in flight; exit code 130, as after an interrupt. */
  private forceStop(signal: string): void {
    this.log.warn(`${signal} again: stopping now, without waiting for requests in flight`);
    this.exitCode = 130;
    this.supervisor.kill();
  }

  private exit(): void {
    if (this.pidFile) removePidFile(this.pidFile);
    this.certificates.close();
    this.finish(this.exitCode);
  }
}
