/**
 * Retries `check` until it holds: for state another process changes on its own schedule
 * (descriptors closing, a line reaching a log file, a worker taking a new certificate), where
 * there is no event to wait on. Where there is an event, wait for the event instead.
 *
 * A try fails when `check` throws (an assertion) or returns `false`; anything else holds, and is
 * what `eventually` resolves with (so `() => { assert.ok(x); return x; }` hands `x` on). Tries
 * are spaced on a short backoff (10 ms, doubling, at most 250 ms). At the deadline it rejects
 * with `what` and the last try's error, so a red test says what it waited for and what it saw;
 * a try still running at the deadline is not waited for.
 */
export interface EventuallyOptions {
  /** What is waited for, in words: the start of the failure's message. */
  readonly what: string;
  /** A generous bound (default 30 s): a loaded machine may make a test slower, never red. */
  readonly timeoutMs?: number;
}

const FIRST_PAUSE_MS = 10;
const LONGEST_PAUSE_MS = 250;

export async function eventually<T>(check: () => T | Promise<T>, { what, timeoutMs = 30_000 }: EventuallyOptions): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  let pause = FIRST_PAUSE_MS;
  let last: unknown;
  for (let tries = 1; ; tries += 1) {
    const outcome = await beforeDeadline(check, deadline);
    if (outcome.kind === 'held') return outcome.value as Exclude<T, false>;
    if (outcome.kind === 'late') throw timedOut(what, timeoutMs, tries, 'the last try was still running at the deadline', last);
    last = outcome.error;
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut(what, timeoutMs, tries, describe(last), last);
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
    pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
  }
}

type Outcome<T> = { kind: 'held'; value: T } | { kind: 'failed'; error: unknown } | { kind: 'late' };

async function beforeDeadline<T>(check: () => T | Promise<T>, deadline: number): Promise<Outcome<T>> {
  const attempt = (async (): Promise<Outcome<T>> => {
    try {
      const value = await check();
      return value === false ? { kind: 'failed', error: undefined } : { kind: 'held', value };
    } catch (error) {
      return { kind: 'failed', error };
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Outcome<T>>((resolve) => (timer = setTimeout(() => resolve({ kind: 'late' }), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([attempt, late]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  if (error === undefined) return 'the check still returned false';
  return `the last try: ${error instanceof Error ? error.message : String(error)}`;
}

function timedOut(what: string, timeoutMs: number, tries: number, why: string, cause: unknown): Error {
  return new Error(`${what}: not within ${timeoutMs} ms (${tries} tries); ${why}`, cause === undefined ? undefined : { cause });
}
