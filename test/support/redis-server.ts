import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './sandbox.js';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Runs one command on a connection of its own. */
  command(args: readonly (string | number)[]): Promise<unknown>;
  /** Stops the server (SIGKILL by its process id): what a crash or a network cut looks like to clients. */
  kill(): Promise<void>;
  /** Starts it again on the same port, with what it had stored (every write is on disk before it is acknowledged). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A real redis-server (Debian's) on loopback, for one test file; it persists every write, as a production one would. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'portico-redis-'));
  let child: ChildProcess | undefined;
  const launch = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      let output = '';
      started.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/Ready to accept connections/.test(output)) resolve();
      });
      started.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    });
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    async command(args) {
      const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await client.connect();
        return await client.call(String(args[0]), ...args.slice(1).map(String));
      } finally {
        client.disconnect();
      }
    },
    kill,
    restart: launch,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
