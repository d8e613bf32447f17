/** Failures one client address may make per minute, across every worker, before it is refused (429) without a check. */
export const MAX_FAILURES_PER_MINUTE = 10;
export const FAILURE_WINDOW_MS = 60_000;
const MAX_TRACKED = 10_000;

/**
 * Counts failed sign-ins per client address in a worker, and knows which addresses are refused.
 * A worker's own count blocks at once; each failure is also reported (to the primary, which
 * counts across workers and tells every worker to block), since a client's connections land on
 * any worker.
 */
export class FailureLimit {
  private readonly failures = new FailureCounter();
  private readonly blocked = new Map<string, number>();

  constructor(private readonly report: (address: string) => void = () => undefined) {}

  /** Until when an address is refused, or undefined. */
  blockedUntil(address: string, now: number): number | undefined {
    const until = this.blocked.get(address);
    if (until === undefined) return undefined;
    if (until > now) return until;
    this.blocked.delete(address);
    return undefined;
  }

  recordFailure(address: string, now: number): void {
    const until = this.failures.record(address, now);
    if (until !== undefined) this.block(address, until);
    this.report(address);
  }

  block(address: string, until: number): void {
    this.blocked.set(address, Math.max(until, this.blocked.get(address) ?? 0));
    if (this.blocked.size > MAX_TRACKED) this.blocked.delete(this.blocked.keys().next().value!);
  }
}

/** Failures per address within the window: each worker's own count, and the primary's across workers. */
export class FailureCounter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  /** Records one failure; returns until when the address is to be refused once it reached the limit. */
  record(address: string, now: number): number | undefined {
    const current = this.failures.get(address);
    const record = current && now - current.since < FAILURE_WINDOW_MS ? current : { count: 0, since: now };
    record.count += 1;
    this.failures.set(address, record);
    if (this.failures.size > MAX_TRACKED) this.failures.delete(this.failures.keys().next().value!);
    return record.count >= MAX_FAILURES_PER_MINUTE ? record.since + FAILURE_WINDOW_MS : undefined;
  }
}
