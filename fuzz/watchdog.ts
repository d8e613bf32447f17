/**
 * The fuzzer's watchdog, a worker thread: a target stuck in a synchronous loop blocks the
 * fuzzer's own thread, timers and all, so only another thread can see it. The fuzzer copies each
 * input into shared memory before it runs it; when one input has run for longer than the bound,
 * the watchdog writes it under the crash folder, prints the seed, the iteration and the input's
 * hex straight to stderr (the fuzzer's thread, which would relay a worker's output, is stuck) and
 * kills the process: a hang is a finding.
 */
import { mkdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, workerData } from 'node:worker_threads';
import { describeFinding, findingFile } from './finding.js';

export interface WatchdogData {
  readonly shared: SharedArrayBuffer;
  readonly boundMs: number;
  readonly target: string;
  readonly seed: number;
  readonly crashDir: string;
}

/** The shared memory: [iteration, running (0/1), input length] as Int32, then the input's bytes. */
export const HEADER_BYTES = 12;

if (!isMainThread) watch(workerData as WatchdogData);

function watch({ shared, boundMs, target, seed, crashDir }: WatchdogData): void {
  const state = new Int32Array(shared, 0, 3);
  for (;;) {
    const iteration = Atomics.load(state, 0);
    Atomics.wait(state, 0, iteration, boundMs);
    if (Atomics.load(state, 0) !== iteration || Atomics.load(state, 1) !== 1) continue;
    // The same input has been running for a whole bound: wait one more, then it is a hang.
    Atomics.wait(state, 0, iteration, boundMs);
    if (Atomics.load(state, 0) !== iteration || Atomics.load(state, 1) !== 1) continue;
    const input = Buffer.from(new Uint8Array(shared, HEADER_BYTES, Atomics.load(state, 2)));
    const file = join(crashDir, findingFile(input));
    mkdirSync(crashDir, { recursive: true });
    writeFileSync(file, input);
    writeSync(2, `${describeFinding({ target, seed, iteration, input, file, error: `still running after ${2 * boundMs} ms (a hang)` })}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
