import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LoadResult {
  /** Requests per second, or MiB/s for throughput workloads. */
  readonly value: number;
  /** Responses that were errors or not the expected status (should be 0). */
  readonly errors: number;
}

export interface WrkOptions {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly headers?: readonly string[];
  readonly throughput?: boolean;
}

/** wrk with two threads; parses Requests/sec (or Transfer/sec) and error counts. */
export async function wrk(options: WrkOptions): Promise<LoadResult> {
  const args = ['-t2', `-c${options.connections}`, `-d${options.seconds}s`, '--latency'];
  for (const header of options.headers ?? []) args.push('-H', header);
  const { stdout } = await run('wrk', [...args, options.url], { timeout: (options.seconds + 30) * 1000 });
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0) + sumSocketErrors(stdout);
  if (options.throughput) return { value: parseBytes(/Transfer\/sec:\s+([\d.]+\w+)/.exec(stdout)?.[1] ?? '0B') / (1024 * 1024), errors };
  return { value: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0), errors };
}

/** h2load over TLS with ALPN h2; parses req/s and failed requests. */
export async function h2load(url: string, clients: number, streams: number, seconds: number, headers: readonly string[] = []): Promise<LoadResult> {
  const args = [`-c${clients}`, `-m${streams}`, `-t2`, `-D${seconds}`, ...headers.flatMap((header) => ['-H', header])];
  const { stdout } = await run('h2load', [...args, url], { timeout: (seconds + 30) * 1000 });
  const value = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? 0);
  const failed = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  return { value, errors: Number(failed?.[1] ?? 0) + Number(failed?.[2] ?? 0) };
}

function sumSocketErrors(text: string): number {
  const match = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  // Read errors are how wrk counts a server closing after "Connection: close": not failures.
  return match ? Number(match[1]) + Number(match[3]) + Number(match[4]) : 0;
}

function parseBytes(text: string): number {
  const match = /^([\d.]+)(B|KB|MB|GB)$/.exec(text);
  if (!match) return 0;
  const scale = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[match[2] as 'B'];
  return Number(match[1]) * scale;
}
