import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Shape } from './message-shape.js';
import type { BindingName, Plan, WorkerPlan } from '../config/plan.js';
import { describeError, PorticoError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { listenError } from '../server/listen-error.js';
import { listeningSockets, reusePortBalances } from '../server/reuse-port.js';
import { IpcRequests } from './ipc-requests.js';
import { parseWorkerMessage, type PrimaryMessage, type WorkerMessage, type WorkerRequest } from './messages.js';
import { RestartPolicy } from './restart-policy.js';

/** One worker process as the primary's services see it: send to it, ask it, know who it is. */
export interface WorkerLink {
  readonly slot: number;
  readonly pid: number | undefined;
  send(message: PrimaryMessage): void;
  /** A request to this worker; its reply is checked against `reply`; ERR_IPC_TIMEOUT without one. */
  ask<T>(what: string, request: Extract<PrimaryMessage, { type: 'request' }>['request'], reply: Shape<T>, timeoutMs: number): Promise<T>;
  isDead(): boolean;
}

/** What the supervisor hands on: everything a worker says beyond its own life cycle. */
export interface SupervisorEvents {
  /** A worker is ready for its plan (and may be sent one now: `servingPlan`). */
  equip(worker: WorkerLink): void;
  /** Every listener of the worker is open (logged `worker N started`). */
  listening(worker: WorkerLink, listeners: readonly { readonly name: BindingName; readonly port: number }[]): void;
  /** A worker's question; the reply is sent back with its id. */
  request(worker: WorkerLink, request: WorkerRequest): Promise<unknown>;
  /** The other messages: certificate-expired, reconfigured, auth-failed. */
  message(worker: WorkerLink, message: Exclude<WorkerMessage, { type: 'ready' | 'listening' | 'listen-failed' | 'request' | 'reply' }>): void;
  /** Nothing will serve: a port in use, a worker that cannot start, every slot stopped by rapid-fail protection. */
  fatal(error: unknown): void;
  /** After `stop` or `kill`, the last worker has exited. */
  allExited(): void;
}

export interface WorkerState {
  readonly slot: number;
  readonly pid: number | undefined;
  /** `running` (forked, alive), `restarting` (waiting for its backoff), `stopped` (rapid-fail protection, or shut down). */
  readonly state: 'running' | 'restarting' | 'stopped';
  /** Failures its restart policy counted since the primary started. */
  readonly restarts: number;
}

interface Slot {
  readonly index: number;
  readonly policy: RestartPolicy;
  link: (WorkerLink & { readonly worker: Worker; readonly requests: IpcRequests }) | undefined;
  stopped: boolean;
  restarts: number;
}

/**
 * Supervises one worker per slot: forks them, restarts one that exits (backoff, and rapid-fail
 * protection: `RestartPolicy`), hands the ports the first worker bound for port 0 to the others
 * when each has its own socket (SO_REUSEPORT), and stops them all (drain, or at once). It knows
 * nothing of what workers serve: that is the events' business.
 */
export class Supervisor {
  private readonly slots: Slot[];
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

  constructor(
    private readonly plan: Pick<Plan, 'workers' | 'serving'>,
    private readonly log: Logger,
    private readonly events: SupervisorEvents,
  ) {
    this.slots = Array.from({ length: plan.workers }, (_, index) => ({ index, policy: new RestartPolicy(), link: undefined, stopped: false, restarts: 0 }));
  }

  async start(): Promise<void> {
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
        if (binding.port !== 0 && ((await listeningSockets(binding.address, binding.port)) ?? 0) > 0) return this.events.fatal(listenError(binding, Object.assign(new Error('in use'), { code: 'EADDRINUSE' })));
      }
    }
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: fileURLToPath(new URL('../main.js', import.meta.url)), args: [] });
    // Past that, workers' own listen errors are the port check: a probe listener in the primary
    // would reset clients that connect in the moment it exists (they do, in the founding race).
    for (const slot of this.slots) this.fork(slot);
  }

  /** What a worker serves: the plan, with how it accepts and the ports already bound for port 0. */
  servingPlan(serving: WorkerPlan): WorkerPlan {
    if (!this.ownSockets) return serving;
    const bound = this.boundPorts;
    return { ...serving, reusePort: true, bindings: bound === undefined ? serving.bindings : serving.bindings.map((binding, i) => (binding.port === 0 ? { ...binding, port: bound[i] ?? 0 } : binding)) };
  }

  live(): WorkerLink[] {
    return this.liveLinks();
  }

  private liveLinks(): NonNullable<Slot['link']>[] {
    return this.slots.flatMap((slot) => (slot.link && !slot.link.isDead() ? [slot.link] : []));
  }

  broadcast(message: PrimaryMessage): void {
    for (const worker of this.live()) worker.send(message);
  }

  workers(): WorkerState[] {
    return this.slots.map((slot) => {
      const alive = slot.link !== undefined && !slot.link.isDead();
      return { slot: slot.index, pid: alive ? slot.link!.pid : undefined, state: alive ? 'running' : slot.stopped || this.stopping ? 'stopped' : 'restarting', restarts: slot.restarts };
    });
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Asks every worker to finish in-flight requests and exit; forces it after the grace period. */
  stop(graceMs: number): void {
    this.stopping = true;
    const live = this.liveLinks();
    if (live.length === 0) return this.events.allExited();
    for (const worker of live) worker.send({ type: 'shutdown' });
    setTimeout(() => {
      for (const worker of this.liveLinks()) worker.worker.process.kill('SIGKILL');
    }, graceMs + 2_000).unref();
  }

  /** Stops every worker now, abandoning requests in flight. */
  kill(): void {
    this.stopping = true;
    const live = this.liveLinks();
    if (live.length === 0) return this.events.allExited();
    for (const worker of live) worker.worker.process.kill('SIGKILL');
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ PORTICO_WORKER_SLOT: String(slot.index) });
    const requests = new IpcRequests(this.log, `worker ${slot.index}`);
    const link = {
      worker,
      requests,
      slot: slot.index,
      pid: worker.process.pid,
      send: (message: PrimaryMessage) => sendTo(worker, message),
      ask: <T>(what: string, request: Extract<PrimaryMessage, { type: 'request' }>['request'], reply: Shape<T>, timeoutMs: number) => requests.ask(what, reply, timeoutMs, (id) => sendTo(worker, { type: 'request', id, request })),
      isDead: () => worker.isDead(),
    };
    slot.link = link;
    this.log.debug(`worker ${slot.index} forked (pid ${worker.process.pid})`);
    worker.on('message', (raw) => this.receive(slot, link, raw));
    worker.on('error', (error) => {
      // A worker that could not even be started (newer Node versions report only this, no exit):
      // without it nothing would serve, and nothing would say why.
      if (worker.process.pid === undefined) this.events.fatal(new PorticoError('ERR_WORKER_SPAWN', `cannot start a worker process: ${describeError(error)}; check that ${process.execPath} can be run by this user`));
      else this.log.debug(`worker ${slot.index} IPC: ${describeError(error)}`);
    });
    worker.once('exit', (code, signal) => {
      requests.abandon();
      this.onExit(slot, worker, code, signal);
    });
  }

  private receive(slot: Slot, link: NonNullable<Slot['link']>, raw: unknown): void {
    const parsed = parseWorkerMessage(raw);
    if ('problem' in parsed) {
      this.log.warn(`ignored a malformed message from worker ${slot.index}: ${parsed.problem}`);
      return;
    }
    const { message } = parsed;
    if (message.type === 'ready') this.equip(slot);
    else if (message.type === 'listening') this.onListening(slot, link, message.listeners);
    else if (message.type === 'reply') link.requests.settle(message.id, message.reply);
    else if (message.type === 'request') {
      void this.events.request(link, message.request).then(
        (reply) => link.send({ type: 'reply', id: message.id, reply }),
        (error: unknown) => this.log.warn(`could not answer worker ${slot.index}'s ${message.request.kind}: ${describeError(error)}`),
      );
    } else if (message.type === 'listen-failed') this.events.fatal(new PorticoError(message.code as PorticoError['code'], message.message));
    else this.events.message(link, message);
  }

  /**
   * A new or restarted worker gets its plan at once. One that reports ready while the primary is
   * stopping missed the shutdown (it was still loading): it is told again instead of being started.
   */
  private equip(slot: Slot): void {
    const link = slot.link;
    if (!link) return;
    if (this.stopping) return link.send({ type: 'shutdown' });
    if (this.awaitsPorts(slot)) return void this.waitingForPorts.push(slot);
    this.events.equip(link);
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

  private onListening(slot: Slot, link: WorkerLink, listeners: readonly { readonly name: BindingName; readonly port: number }[]): void {
    this.log.info(`worker ${slot.index} started (pid ${link.pid})`);
    if (this.ownSockets && this.boundPorts === undefined) {
      this.boundPorts = listeners.map((listener) => listener.port);
      for (const waiting of this.waitingForPorts.splice(0)) this.equip(waiting);
    }
    if (!this.stopping) this.events.listening(link, listeners);
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.link?.worker === worker) slot.link = undefined;
    // The worker that was to bind the ports died first: the next one waiting does it instead.
    if (this.portFinder === slot && this.boundPorts === undefined) {
      this.portFinder = undefined;
      const next = this.waitingForPorts.shift();
      if (next) this.equip(next);
    }
    if (this.stopping) {
      if (this.live().length === 0) this.events.allExited();
      return;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const decision = slot.policy.recordFailure(Date.now());
    slot.restarts += 1;
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
    if (serving === 0) this.events.fatal(new PorticoError('ERR_ALL_WORKERS_FAILED', 'every worker was stopped by rapid-fail protection; see the log above for why they exited'));
  }
}

function sendTo(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message, undefined, () => undefined);
}
