import { Session } from 'node:inspector';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Target } from './targets.js';

/**
 * A small coverage-guided fuzzer on V8's own instrumentation: after every input it takes V8's
 * precise block coverage of Portico's modules (through node:inspector), and an input that
 * reached a block no earlier input reached joins the corpus, to be mutated further. No native
 * parts, so it runs wherever Node does. (Jazzer.js, the usual choice, cannot run here: its only
 * Linux build needs glibc 2.38, and older releases fetch their binaries from GitHub.)
 */
export interface FuzzOptions {
  readonly seconds: number;
  /** Seed inputs; new interesting inputs are written back here when `save` is set. */
  readonly corpusDir: string;
  readonly save: boolean;
  /** Where a crashing input is written. */
  readonly crashDir: string;
  /** Only coverage of scripts whose URL contains this counts (Portico's own modules). */
  readonly scope: string;
}

export interface FuzzResult {
  readonly executions: number;
  readonly corpus: number;
  readonly blocks: number;
  readonly crash?: { readonly input: Buffer; readonly error: string; readonly file: string };
}

const TOKENS = ['/', '..', '.', '%2e', '%2f', '%5c', '%00', '%c0%ae', '\\', '?', '#', ';', '*', 'bytes=', '-', ',', '"', 'W/', ':', '[', ']', '@', ' ', '\t', '\r\n', '0', '9', 'GMT', '%', '\0', '\u00ff'];

export async function fuzz(target: Target, options: FuzzOptions): Promise<FuzzResult> {
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

  const corpus: Buffer[] = await readCorpus(options.corpusDir);
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));
  newBlocks();
  const run = async (input: Buffer): Promise<FuzzResult['crash']> => {
    try {
      target(input);
      return undefined;
    } catch (error) {
      const file = join(options.crashDir, `crash-${createHash('sha256').update(input).digest('hex').slice(0, 16)}`);
      await mkdir(options.crashDir, { recursive: true });
      await writeFile(file, input);
      return { input, error: error instanceof Error ? error.message : String(error), file };
    }
  };
  for (const seed of corpus) {
    const crash = await run(seed);
    if (crash) return finish({ executions: corpus.length, corpus: corpus.length, blocks: seen.size, crash });
    newBlocks();
  }

  const deadline = Date.now() + options.seconds * 1000;
  let executions = corpus.length;
  while (Date.now() < deadline) {
    const input = mutate(corpus[Math.floor(Math.random() * corpus.length)]!, corpus);
    executions += 1;
    const crash = await run(input);
    if (crash) return finish({ executions, corpus: corpus.length, blocks: seen.size, crash });
    if (newBlocks() > 0) {
      corpus.push(input);
      if (options.save) await writeFile(join(options.corpusDir, createHash('sha256').update(input).digest('hex').slice(0, 16)), input);
    }
  }
  return finish({ executions, corpus: corpus.length, blocks: seen.size });

  function finish(result: FuzzResult): FuzzResult {
    post('Profiler.stopPreciseCoverage');
    session.disconnect();
    return result;
  }
}

async function readCorpus(dir: string): Promise<Buffer[]> {
  const names = await readdir(dir).catch(() => []);
  return Promise.all(names.sort().map((name) => readFile(join(dir, name))));
}

/** One to four mutations: flip, insert, delete, repeat, splice with another input, or insert a token. */
export function mutate(input: Buffer, corpus: readonly Buffer[]): Buffer {
  let bytes = Buffer.from(input);
  const rounds = 1 + Math.floor(Math.random() * 4);
  for (let i = 0; i < rounds; i++) {
    const at = Math.floor(Math.random() * (bytes.length + 1));
    switch (Math.floor(Math.random() * 6)) {
      case 0:
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << Math.floor(Math.random() * 8);
        break;
      case 1:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(Math.random() * 256)]), bytes.subarray(at)]);
        break;
      case 2:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(Math.random() * 4))]);
        break;
      case 3:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + 8), bytes.subarray(at)]);
        break;
      case 4: {
        const other = corpus[Math.floor(Math.random() * corpus.length)]!;
        bytes = Buffer.concat([bytes.subarray(0, at), other.subarray(Math.floor(Math.random() * (other.length + 1)))]);
        break;
      }
      default:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(TOKENS[Math.floor(Math.random() * TOKENS.length)]!, 'latin1'), bytes.subarray(at)]);
    }
  }
  return bytes.length > 4096 ? bytes.subarray(0, 4096) : bytes;
}
