import { checkShape, type Shape } from './message-shape.js';
import { PorticoError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/** A request on its way: what its reply must look like, and who waits for it. */
interface Pending {
  readonly what: string;
  readonly reply: Shape<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The one correlation of requests and replies over IPC, on either side: each request gets an id,
 * its reply is matched by that id and checked against the schema the request expects, and a
 * request without a reply fails after its timeout with ERR_IPC_TIMEOUT. A reply for an id nobody
 * waits for (it came too late, or was never asked) is ignored; a malformed one is dropped with a
 * log line and not acted on (its request then times out). Costs a map entry and a timer per
 * request in flight.
 */
export class IpcRequests {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly log: Logger,
    /** Who answers, for log lines and errors: `the primary`, `worker 2`. */
    private readonly peer: string,
  ) {}

  /** Sends a request through `send` (given its id) and resolves with its checked reply. */
  ask<T>(what: string, reply: Shape<T>, timeoutMs: number, send: (id: number) => void): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PorticoError('ERR_IPC_TIMEOUT', `${this.peer} did not answer ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { what, reply, resolve: resolve as (value: unknown) => void, reject, timer });
      send(id);
    });
  }

  /** A reply arrived: it settles its request, if one waits for it and it is what that request expects. */
  settle(id: number, reply: unknown): void {
    const pending = this.pending.get(id);
    if (pending === undefined) {
      this.log.debug(`ignored a reply from ${this.peer} to request ${id}, which nothing waits for`);
      return;
    }
    const checked = checkShape(pending.reply, reply);
    if ('issue' in checked) {
      this.log.warn(`ignored a malformed reply from ${this.peer} to ${pending.what}: ${checked.issue.path.join('.') || '(reply)'} ${checked.issue.message}`);
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(id);
    pending.resolve(checked.value);
  }

  /** The peer is gone: nothing it was asked will be answered. */
  abandon(): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(new PorticoError('ERR_IPC_GONE', `${this.peer} exited before it answered ${pending.what}`));
    }
  }

  /** Requests waiting for a reply (tests, status). */
  get waiting(): number {
    return this.pending.size;
  }
}
