import { Session } from 'node:inspector';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Finding, findingFile } from './finding.js';
import { type Random, seededRandom } from './random.js';
import type { Target } from './targets.js';
import { HEADER_BYTES, type WatchdogData } from './watchdog.js';

/**
 * A small coverage-guided fuzzer on V8's own instrumentation: after every input it takes V8's
 * precise block coverage of Portico's modules (through node:inspector), and an input that
 * reached a block no earlier input reached joins the corpus, to be mutated further. No native
 * parts, so it runs wherever Node does. (Jazzer.js, the usual choice, cannot run here: its only
 * Linux build needs glibc 2.38, and older releases fetch their binaries from GitHub.)
 *
 * Every choice comes from a PRNG seeded with `seed`, so a run with the same seed, corpus and
 * target makes the same inputs in the same order: a finding replays from its seed and iteration,
 * or from the input file it is saved to.
 */
export interface FuzzOptions {
  /** The target's name, for reports. */
  readonly name: string;
  readonly seed: number;
  /** At most this many inputs (the corpus's files count too). */
  readonly iterations?: number;
  /** At most this long. */
  readonly seconds?: number;
  /** Seed inputs; new interesting inputs are written back here when `save` is set. */
  readonly corpusDir: string;
  readonly save: boolean;
  /** Where a crashing input is written. */
  readonly crashDir: string;
  /** Only coverage of scripts whose URL contains this counts (Portico's own modules). */
  readonly scope: string;
  /** One input running longer than this is a hang (default 5 s): a finding. */
  readonly hangMs?: number;
}

export interface FuzzResult {
  readonly executions: number;
  readonly corpus: number;
  readonly blocks: number;
  /** SHA-256 of every input run, in order: equal for two runs that made the same inputs. */
  readonly digest: string;
  readonly crash?: Finding;
}

const TOKENS = ['/', '..', '.', '%2e', '%2f', '%5c', '%00', '%c0%ae', '\\', '?', '#', ';', '*', 'bytes=', '-', ',', '"', 'W/', ':', '[', ']', '@', ' ', '\t', '\r\n', '0', '9', 'GMT', '%', '\0', '\u00ff', '&', '*a', '{', '}', '- ', '\n  ', '!!', '~', 'null', 'true', '1e9', '-1', '0x', '\uFEFF'];
const MAX_INPUT = 4096;

export async function fuzz(target: Target, options: FuzzOptions): Promise<FuzzResult> {
  const random = seededRandom(options.seed);
  const hangMs = options.hangMs ?? 5_000;
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object = {}): T => {
    let result: T | undefined;
    let failure: Error | null = null;
    // An in-process session answers synchronously.
    session.post(method, params, (error, value) => {
      failure = error;
      result = value as T;
    });
    if (failure) throw failure;
    return result!;
  };
  post('Profiler.enable');
  post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const seen = new Set<string>();
  const newBlocks = (): number => {
    const { result } = post<{ result: Array<{ url: string; functions: Array<{ functionName: string; ranges: Array<{ startOffset: number; endOffset: number; count: number }> }> }> }>('Profiler.takePreciseCoverage');
    let added = 0;
    for (const script of result) {
      if (!script.url.includes(options.scope)) continue;
      for (const fn of script.functions) {
        for (const range of fn.ranges) {
          if (range.count === 0) continue;
          const key = `${script.url}:${range.startOffset}-${range.endOffset}`;
          if (!seen.has(key)) {
            seen.add(key);
            added += 1;
          }
        }
      }
    }
    return added;
  };
  // A synchronous loop blocks this thread's timers: the watchdog thread sees it.
  const shared = new SharedArrayBuffer(HEADER_BYTES + MAX_INPUT);
  const state = new Int32Array(shared, 0, 3);
  const watchdog = new Worker(new URL('./watchdog.js', import.meta.url), { workerData: { shared, boundMs: hangMs, target: options.name, seed: options.seed, crashDir: options.crashDir } satisfies WatchdogData });
  watchdog.unref();
  const digest = createHash('sha256');

  const corpus: Buffer[] = (await readCorpus(options.corpusDir)).map((input) => input.subarray(0, MAX_INPUT));
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));
  newBlocks();
  let executions = 0;
  const run = async (input: Buffer): Promise<Finding | undefined> => {
    const iteration = executions;
    executions += 1;
    digest.update(`${input.length}:`).update(input);
    new Uint8Array(shared, HEADER_BYTES).set(input);
    Atomics.store(state, 2, input.length);
    Atomics.store(state, 1, 1);
    Atomics.add(state, 0, 1);
    let error: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(resolve, hangMs, 'hung')));
      if ((await Promise.race([Promise.resolve(target(input)), hung])) === 'hung') error = `did not finish within ${hangMs} ms (a hang)`;
    } catch (thrown) {
      error = thrown instanceof Error ? thrown.message : String(thrown);
    } finally {
      clearTimeout(timer);
      Atomics.store(state, 1, 0);
    }
    if (error === undefined) return undefined;
    const file = join(options.crashDir, findingFile(input));
    await mkdir(options.crashDir, { recursive: true });
    await writeFile(file, input);
    return { target: options.name, seed: options.seed, iteration, input, file, error };
  };
  const finish = async (crash?: Finding): Promise<FuzzResult> => {
    post('Profiler.stopPreciseCoverage');
    session.disconnect();
    await watchdog.terminate();
    return { executions, corpus: corpus.length, blocks: seen.size, digest: digest.digest('hex'), ...(crash ? { crash } : {}) };
  };
  const deadline = options.seconds === undefined ? Infinity : Date.now() + options.seconds * 1000;
  const limit = options.iterations ?? Infinity;
  const more = (): boolean => executions < limit && Date.now() < deadline;

  for (const seed of [...corpus]) {
    if (!more()) return finish();
    const crash = await run(seed);
    if (crash) return finish(crash);
    newBlocks();
  }
  while (more()) {
    const input = mutate(corpus[random.below(corpus.length)]!, corpus, random);
    const crash = await run(input);
    if (crash) return finish(crash);
    if (newBlocks() > 0) {
      corpus.push(input);
      if (options.save) await writeFile(join(options.corpusDir, createHash('sha256').update(input).digest('hex').slice(0, 16)), input);
    }
  }
  return finish();
}

/** Runs one input once, as a replay of a saved finding: the error it throws, or undefined. */
export async function replay(target: Target, input: Buffer): Promise<string | undefined> {
  try {
    await target(input);
    return undefined;
  } catch (error) {
    return error instanceof Error ? (error.stack ?? error.message) : String(error);
  }
}

async function readCorpus(dir: string): Promise<Buffer[]> {
  const names = await readdir(dir).catch(() => []);
  return Promise.all(names.sort().map((name) => readFile(join(dir, name))));
}

/** One to four mutations: flip, insert, delete, repeat, splice with another input, insert a token, or truncate. */
export function mutate(input: Buffer, corpus: readonly Buffer[], random: Random): Buffer {
  let bytes = Buffer.from(input);
  const rounds = 1 + random.below(4);
  for (let i = 0; i < rounds; i++) {
    const at = random.below(bytes.length + 1);
    switch (random.below(7)) {
      case 0:
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << random.below(8);
        break;
      case 1:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([random.below(256)]), bytes.subarray(at)]);
        break;
      case 2:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + random.below(4))]);
        break;
      case 3:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + 8), bytes.subarray(at)]);
        break;
      case 4: {
        const other = corpus[random.below(corpus.length)]!;
        bytes = Buffer.concat([bytes.subarray(0, at), other.subarray(random.below(other.length + 1))]);
        break;
      }
      case 5:
        bytes = bytes.subarray(0, at);
        break;
      default:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(TOKENS[random.below(TOKENS.length)]!, 'latin1'), bytes.subarray(at)]);
    }
  }
  return bytes.length > MAX_INPUT ? bytes.subarray(0, MAX_INPUT) : bytes;
}
