import type { Plan } from '../config/plan.js';
import { describeError, userErrorLines } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { CertificateSources } from './certificate-service.js';
import type { Supervisor, WorkerLink } from './supervisor.js';

/** What a reload did. */
export type ReloadResult =
  /** The new sites are served; `restartOnly` lists what changed but takes a restart (kept as it was). */
  | { readonly outcome: 'applied'; readonly sites: readonly string[]; readonly restartOnly: readonly string[]; readonly confirmed: boolean }
  /** The file (or a certificate it needs) has problems: the configuration loaded before keeps serving. */
  | { readonly outcome: 'refused'; readonly problems: readonly string[] }
  /** Started from flags: no file to read again (the access logs were reopened). */
  | { readonly outcome: 'nothing-to-reload' }
  /** Portico is shutting down. */
  | { readonly outcome: 'stopping' };

/**
 * A reload, in place: reads the config file again. An invalid file is refused with every problem
 * logged, and the running configuration keeps serving. A valid one gets its new certificates
 * first, then every worker switches to the new sites in place, keeping its connections. Reloads
 * run one at a time; one asked for during another runs once after it (however many were asked).
 */
export class Reloader {
  private running: Promise<ReloadResult> | undefined;
  private queued: Promise<ReloadResult> | undefined;
  /** Workers that have not yet confirmed the reload in progress. */
  private awaiting: { readonly workers: Set<WorkerLink>; readonly done: () => void } | undefined;

  constructor(
    private readonly plan: { current: Plan },
    private readonly supervisor: Supervisor,
    private readonly certificates: CertificateSources,
    private readonly log: Logger,
    /** Reads the config file again (flag mode has none). */
    private readonly reread: ((file: string) => Promise<Plan>) | undefined,
  ) {}

  reload(): Promise<ReloadResult> {
    if (this.supervisor.isStopping) return Promise.resolve({ outcome: 'stopping' });
    if (this.queued) return this.queued;
    if (this.running) {
      this.queued = this.running.then(() => {
        this.queued = undefined;
        return this.reload();
      });
      return this.queued;
    }
    this.running = this.apply().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** A worker serves the sites of the reload in progress. */
  reconfigured(worker: WorkerLink): void {
    const waiting = this.awaiting;
    if (!waiting) return;
    waiting.workers.delete(worker);
    if ([...waiting.workers].every((link) => link.isDead())) waiting.done();
  }

  private async apply(): Promise<ReloadResult> {
    const running = this.plan.current;
    const file = running.configFile;
    if (file === undefined || this.reread === undefined) {
      this.log.warn('reload asked for, but Portico was started from flags, not a config file: nothing to reload; logs reopened');
      this.supervisor.broadcast({ type: 'reconfigure', plan: running.serving });
      return { outcome: 'nothing-to-reload' };
    }
    this.log.info(`reloading ${file}`);
    let next: Plan;
    try {
      next = await this.reread(file);
    } catch (error) {
      const problems = userErrorLines(error) ?? [describeError(error)];
      for (const problem of problems) this.log.error(`reload refused: ${problem}`);
      this.log.error(`reload refused (${problems.length} problem(s) above); still serving the configuration loaded before`);
      return { outcome: 'refused', problems };
    }
    const unchanged = restartOnly(running, next);
    if (unchanged.length > 0) this.log.warn(`reload: ${unchanged.join(', ')} changed; that takes a restart, so it is kept as it was. The sites are reloaded now`);
    const plan: Plan = { ...next, workers: running.workers, stateDir: running.stateDir, logFormat: running.logFormat, serving: { ...next.serving, bindings: running.serving.bindings, limits: running.serving.limits, shutdownGraceMs: running.serving.shutdownGraceMs, tlsGroups: running.serving.tlsGroups } };
    try {
      await this.certificates.provide(plan.certificates, true);
    } catch (error) {
      const problem = `a certificate could not be provided (${describeError(error)})`;
      this.log.error(`reload refused: ${problem}; still serving the configuration loaded before`);
      return { outcome: 'refused', problems: [problem] };
    }
    if (this.supervisor.isStopping) return { outcome: 'stopping' };
    this.plan.current = plan;
    await this.certificates.adopt(plan);
    const confirmed = await this.reconfigureWorkers(plan);
    const sites = plan.serving.sites.map((site) => site.name);
    this.log.info(`reloaded: ${sites.join(', ')}${confirmed ? '' : ' (some workers did not confirm within 10 s; see their log lines)'}`);
    return { outcome: 'applied', sites, restartOnly: unchanged, confirmed };
  }

  /** Sends the new sites to every worker and waits (bounded) until each says it serves them. */
  private reconfigureWorkers(plan: Plan): Promise<boolean> {
    const workers = new Set(this.supervisor.live());
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), 10_000);
      const finish = (confirmed: boolean): void => {
        clearTimeout(timer);
        this.awaiting = undefined;
        resolve(confirmed);
      };
      this.awaiting = { workers, done: () => finish(true) };
      if (workers.size === 0) return finish(true);
      for (const worker of workers) worker.send({ type: 'reconfigure', plan: plan.serving });
    });
  }
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
