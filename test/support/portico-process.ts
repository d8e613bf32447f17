import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PORTICO_BIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/**
 * A real `portico` process. Output is collected as it arrives, and tests wait for the lines
 * they expect (with a deadline) instead of sleeping.
 */
export class PorticoProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();

  /** `prefix` runs Portico under another command that execs it (e.g. `prlimit --nofile=1024:1024 --`). */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}, prefix: readonly string[] = []) {
    const [command, ...rest] = [...prefix, process.execPath, PORTICO_BIN, ...args];
    this.child = spawn(command!, rest, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.append('stdout', chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.append('stderr', chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited.then(() => this.notify());
  }

  static serve(args: readonly string[], env: NodeJS.ProcessEnv = {}, prefix: readonly string[] = []): PorticoProcess {
    return new PorticoProcess(['serve', ...args], env, prefix);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  /** Resolves with the match once stdout or stderr contains `pattern`; rejects at the deadline or on exit. */
  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const match = this.output.match(pattern);
        if (match) {
          done();
          resolve(match);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`portico exited before printing ${pattern}:\n${this.output}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.output}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits until the certificate is ready and the HTTPS listener is up: what a user waits for. */
  async waitUntilServing(timeoutMs = 60_000): Promise<void> {
    await this.waitFor(/certificate ready/, timeoutMs);
    await this.waitFor(/https:\/\/\S+:\d+\//, timeoutMs);
  }

  /** The port a listener bound, from the start-up lines (`  https://localhost:PORT/`). */
  async port(name: 'http' | 'https', timeoutMs = 30_000): Promise<number> {
    const [, port] = await this.waitFor(new RegExp(`^  ${name}://\\S+:(\\d+)/$`, 'm'), timeoutMs);
    return Number(port);
  }

  /** Every match of a global pattern in the output so far. */
  matches(pattern: RegExp): RegExpMatchArray[] {
    return [...this.output.matchAll(pattern)];
  }

  /** Pids of the workers this primary reported starting. */
  workerPids(): number[] {
    return this.matches(/worker \d+ started \(pid (\d+)\)/g).map((m) => Number(m[1]));
  }

  waitForExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  /** Stops the primary and, in case it could not, every worker it started. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const result = await this.exited;
    for (const pid of this.workerPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
    return result;
  }

  private append(stream: 'stdout' | 'stderr', chunk: string): void {
    this[stream] += chunk;
    if (process.env.PORTICO_TEST_ECHO) process.stderr.write(chunk);
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Runs a portico command to completion. */
export async function runPortico(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = new PorticoProcess(args, env);
  const { code } = await run.waitForExit();
  return { code, stdout: run.stdout, stderr: run.stderr };
}
