/**
 * Memory while streaming a large file to slow clients: starts Portico on loopback, serves a
 * 1 GiB sparse file to N clients that each read at a fixed rate, samples every worker's RSS,
 * and prints the figures. Bounded in time and count; stops everything it started.
 *
 *   npm run bench:memory -- [--clients 20] [--seconds 20] [--rate-mib 2] [--workers 2]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, residentBytes } from './servers.js';
import { slowClient } from './slow-client.js';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '20' },
    'rate-mib': { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    'file-gib': { type: 'string', default: '1' },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const rate = Number(values['rate-mib']) * MiB;
const fileSize = Number(values['file-gib']) * 1024 * MiB;

const dir = await mkdtemp(join(tmpdir(), 'portico-bench-'));
const file = await open(join(dir, 'large.bin'), 'w');
await file.truncate(fileSize);
await file.close();
const port = await freePort();
const bin = fileURLToPath(new URL('../src/main.js', import.meta.url));
const server = spawn(process.execPath, [bin, 'serve', dir, '--bind', '127.0.0.1', '--http', String(port), '--https', '0', '--workers', values.workers!], { stdio: ['ignore', 'pipe', 'pipe'] });
let log = '';
server.stdout.on('data', (chunk) => (log += chunk));
server.stderr.on('data', (chunk) => (log += chunk));

try {
  await waitFor(() => [...log.matchAll(/worker \d+ started/g)].length >= Number(values.workers), 15_000);
  const workerPids = [...log.matchAll(/worker \d+ started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  const baseline = await Promise.all(workerPids.map(residentBytes));
  const peak = [...baseline];
  let delivered = 0;
  const stops: Array<() => void> = [];
  for (let i = 0; i < clients; i++) stops.push(slowClient(port, '/large.bin', rate, (n) => (delivered += n)));
  const started = Date.now();
  const timeline: string[] = [];
  let nextMark = 0;
  while (Date.now() - started < seconds * 1000) {
    await delay(500);
    const now = await Promise.all(workerPids.map(residentBytes));
    now.forEach((value, i) => (peak[i] = Math.max(peak[i]!, value)));
    const elapsed = (Date.now() - started) / 1000;
    if (elapsed >= nextMark) {
      timeline.push(`  t=${elapsed.toFixed(0).padStart(3)} s  ${now.map(mib).join('  ')}  (${mib(delivered)} sent)`);
      nextMark += Math.max(1, seconds / 8);
    }
  }
  const final = await Promise.all(workerPids.map(residentBytes));
  for (const stop of stops) stop();
  console.log(`Portico: ${clients} slow clients × ${values['file-gib']} GiB file at ${values['rate-mib']} MiB/s each, ${workerPids.length} worker(s), ${seconds} s`);
  console.log('worker  pid      RSS at start  peak RSS    RSS at end');
  workerPids.forEach((pid, i) => console.log(`${String(i).padEnd(8)}${String(pid).padEnd(9)}${mib(baseline[i]!).padEnd(14)}${mib(peak[i]!).padEnd(12)}${mib(final[i]!)}`));
  console.log('RSS of each worker over time:');
  for (const line of timeline) console.log(line);
  console.log(`delivered ${mib(delivered)} in total (${mib(delivered / seconds)}/s; the clients asked for ${mib(clients * rate)}/s)`);
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  await rm(dir, { recursive: true, force: true });
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`server did not start:\n${log}`);
    await delay(50);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
