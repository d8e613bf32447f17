/**
 * When to restart a worker that died, per slot: at once for a first failure, then with an
 * exponential backoff; after maxFailures within intervalMs the slot is stopped, like an IIS
 * application pool's rapid-fail protection (5 failures in 5 minutes by default). Pure: the
 * caller passes the clock.
 */
export type RestartDecision = { readonly action: 'restart'; readonly delayMs: number } | { readonly action: 'stop'; readonly failures: number };

export interface RestartPolicyOptions {
  readonly maxFailures: number;
  readonly intervalMs: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

export const IIS_RAPID_FAIL: RestartPolicyOptions = { maxFailures: 5, intervalMs: 5 * 60_000, firstDelayMs: 100, maxDelayMs: 10_000 };

export class RestartPolicy {
  private failures: number[] = [];

  constructor(private readonly options: RestartPolicyOptions = IIS_RAPID_FAIL) {}

  recordFailure(now: number): RestartDecision {
    this.failures = [...this.failures.filter((at) => now - at < this.options.intervalMs), now];
    const count = this.failures.length;
    if (count >= this.options.maxFailures) return { action: 'stop', failures: count };
    return { action: 'restart', delayMs: Math.min(this.options.firstDelayMs * 2 ** (count - 1), this.options.maxDelayMs) };
  }
}
