import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const UPSTREAM = fileURLToPath(new URL('./upstream-server.js', import.meta.url));

/** Starts test/support/upstream-server.ts as its own process (so a test can SIGKILL it); resolves once it listens. */
export function startUpstream(port: number, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [UPSTREAM, String(port), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => (/listening/.test(chunk.toString()) ? resolve(child) : undefined));
    child.once('exit', (code) => reject(new Error(`upstream ${name} exited (${code})`)));
  });
}
