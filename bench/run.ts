/**
 * bench/run: Portico side by side with nginx, Caddy and a bare Node cluster on this machine.
 * Each workload runs for every server in turn, round after round, and the table shows medians
 * and Portico's ratio to each (docs/performance.md explains every line).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFixtures, type Fixtures } from './fixtures.js';
import { h2load, type LoadResult, wrk } from './load-tools.js';
import { slowClient } from './slow-client.js';
import { PEERS, peersInstalled, type RunningServer, runtimePath, SERVER_NAMES, type ServerName, speaksHttp2, startPorticoSites, startServer, startUpstream, treeResidentBytes, useReference, useRuntime, WORKERS, waitUntilServing } from './servers.js';

const USAGE = `usage: bench/run [--quick] [--rounds N] [--seconds S] [--only WORKLOAD,...] [--servers NAME,...] [--compare REF] [--node PATH]
  --quick            1-second rounds (a smoke run, not a measurement)
  --rounds N         rounds per workload, median reported (default 3)
  --seconds S        seconds per round (default 5)
  --only IDS         workloads to run, by id: 1 2 3 4 4m 4r 5 6a 6b 2s 2L p1 p2 7 8a 8b
  --servers NAMES    of nginx, caddy, node, http-server, serve, portico (default: all; portico always)
  --compare REF      also run Portico built from REF (a commit) as \`ref\`, and print portico/ref ratios
  --node PATH        another Node runtime for Portico, the bare Node cluster and the npm peers
See docs/performance.md.`;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        seconds: { type: 'string' },
        only: { type: 'string' },
        /** Another commit of Portico, built in a temporary worktree and run side by side as `ref`. */
        compare: { type: 'string' },
        /** Which of nginx, caddy, node, http-server, serve, portico to run (default: all). */
        servers: { type: 'string' },
        /** Another Node runtime for Portico, the bare Node cluster and the npm peers (e.g. Node 24 from `npx -y node@24 -p process.execPath`). */
        node: { type: 'string' },
      },
    });
  } catch (error) {
    console.error(`bench/run: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}
const { values } = parseOptions();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.node) useRuntime(values.node);
const chosen = values.servers ? values.servers.split(',').filter((name): name is ServerName => (SERVER_NAMES as readonly string[]).includes(name)) : [...SERVER_NAMES];
if (!chosen.includes('portico')) chosen.push('portico');
if (!values.servers && !peersInstalled()) {
  console.error('note: http-server and serve are not installed (bench/setup installs them into bench/peers): left out');
  chosen.splice(0, chosen.length, ...chosen.filter((name) => !PEERS.includes(name)));
}
const names: ServerName[] = values.compare ? [...chosen, 'ref'] : chosen;
const rounds = Number(values.rounds ?? 3);
const seconds = Number(values.seconds ?? (values.quick ? 1 : 5));
const slowSeconds = values.quick ? 2 : 10;

interface Workload {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  /** Higher is better (throughput) or lower is better (time, memory). */
  readonly higherIsBetter: boolean;
  /** Which servers the workload can measure (HTTP/2 rows: not those without HTTP/2); the others show a dash. */
  readonly applies?: (name: ServerName) => boolean;
  readonly measure: (server: RunningServer) => Promise<LoadResult>;
}

const missing = ['wrk', 'h2load', ...chosen.filter((name) => name === 'nginx' || name === 'caddy')].filter((tool) => !hasCommand(tool));
if (missing.length > 0) {
  console.error(`bench/run needs ${missing.join(', ')} (Debian: nginx caddy wrk nghttp2-client). Install them with: bench/setup`);
  process.exit(1);
}

const workDir = await mkdtemp(join(tmpdir(), 'portico-bench-'));
const running: RunningServer[] = [];
const stopAll = async (): Promise<void> => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  if (values.compare) useReference(buildReference(values.compare, join(workDir, 'reference')));
  const fixtures = await createFixtures(workDir);
  const servers = new Map<ServerName, RunningServer>();
  for (const name of names) {
    const server = await startServer(name, fixtures, workDir);
    running.push(server);
    await waitUntilServing(server);
    servers.set(name, server);
  }
  const etags = new Map<ServerName, string>();
  const largeEtags = new Map<ServerName, string>();
  for (const [name, server] of servers) {
    etags.set(name, await checkServer(server));
    largeEtags.set(name, String((await get(server.httpPort, '/300k.bin', {})).headers.etag ?? ''));
    if (!largeEtags.get(name)) console.error(`note: ${name} sent no ETag for /300k.bin: no 4r for it`);
  }
  const peakRss = new Map<ServerName, number[]>();
  const workloads: Workload[] = [
    { id: '1', title: 'HTTP/1.1 keep-alive, 1 KiB, 50 conns', unit: 'req/s', higherIsBetter: true, measure: (s) => wrk({ url: `http://127.0.0.1:${s.httpPort}/1k.html`, connections: 50, seconds }) },
    {
      id: '2',
      title: 'HTTPS keep-alive, 1 KiB, 50 conns',
      unit: 'req/s',
      higherIsBetter: true,
      measure: (s) => sampleRss(s, peakRss, () => wrk({ url: `https://127.0.0.1:${s.httpsPort}/1k.html`, connections: 50, seconds })),
    },
    { id: '3', title: 'full TLS handshakes (Connection: close)', unit: 'conn/s', higherIsBetter: true, measure: (s) => wrk({ url: `https://127.0.0.1:${s.httpsPort}/1k.html`, connections: 50, seconds, headers: ['Connection: close'] }) },
    { id: '4', title: 'HTTP/2, 1 KiB, 50 conns × 10 streams', unit: 'req/s', higherIsBetter: true, applies: speaksHttp2, measure: (s) => h2load(`https://127.0.0.1:${s.httpsPort}/1k.html`, 50, 10, seconds) },
    { id: '4m', title: 'HTTP/2 cache misses, 300 KiB, 20 conns × 10 streams', unit: 'req/s', higherIsBetter: true, applies: speaksHttp2, measure: (s) => h2load(`https://127.0.0.1:${s.httpsPort}/300k.bin`, 20, 10, seconds) },
    {
      id: '4r',
      title: 'HTTP/2 cache misses, 300 KiB revalidated (304), 50 × 10',
      unit: 'req/s',
      higherIsBetter: true,
      // A revalidation needs the server's ETag.
      applies: (name) => speaksHttp2(name) && Boolean(largeEtags.get(name)),
      measure: (s) => h2load(`https://127.0.0.1:${s.httpsPort}/300k.bin`, 50, 10, seconds, [`if-none-match: ${largeEtags.get(s.name)}`]),
    },
    { id: '5', title: '10 MiB over HTTPS, 4 conns', unit: 'MiB/s', higherIsBetter: true, measure: (s) => wrk({ url: `https://127.0.0.1:${s.httpsPort}/10m.bin`, connections: 4, seconds, throughput: true }) },
    { id: '6a', title: '100 KiB, conditional GET (304)', unit: 'req/s', higherIsBetter: true, measure: (s) => wrk({ url: `http://127.0.0.1:${s.httpPort}/100k.txt`, connections: 50, seconds, headers: [`If-None-Match: ${etags.get(s.name)}`] }) },
    { id: '6b', title: '100 KiB, gzip accepted', unit: 'req/s', higherIsBetter: true, measure: (s) => wrk({ url: `http://127.0.0.1:${s.httpPort}/100k.txt`, connections: 50, seconds, headers: ['Accept-Encoding: gzip'] }) },
  ];
  const selected = values.only ? new Set(values.only.split(',')) : undefined;
  const results = new Map<string, Map<ServerName, number[]>>();
  const errors: string[] = [];
  console.error(`warming up (${names.join(', ')})…`);
  for (const server of servers.values()) await wrk({ url: `https://127.0.0.1:${server.httpsPort}/1k.html`, connections: 50, seconds: 1 });
  for (let round = 1; round <= rounds; round++) {
    const order = inTurn(round);
    for (const workload of workloads) {
      if (selected && !selected.has(workload.id)) continue;
      for (const name of order) {
        if (workload.applies && !workload.applies(name)) continue;
        // A server that crashed is reported under the table (with its last words), has no number
        // for that workload, and is started again for the next.
        let server = servers.get(name)!;
        if (hasExited(server)) {
          server = await startServer(name, fixtures, workDir);
          running.push(server);
          await waitUntilServing(server);
          servers.set(name, server);
        }
        const outcome = await workload.measure(server).catch((error: unknown) => String((error as Error).message).split('\n')[0]!);
        if (hasExited(server)) errors.push(`${workload.id} ${name} round ${round}: ${name} crashed: ${server.stderr().trim().split('\n').filter((line) => /Error|error:/.test(line)).slice(0, 2).join(' / ') || `exit ${server.child.exitCode ?? server.child.signalCode}`}`);
        else if (typeof outcome === 'string') errors.push(`${workload.id} ${name} round ${round}: ${outcome}`);
        else {
          if (outcome.errors > 0) errors.push(`${workload.id} ${name} round ${round}: ${outcome.errors} errors`);
          record(results, workload.id, name, outcome.value);
        }
      }
      console.error(`round ${round}/${rounds}: workload ${workload.id} done`);
    }
  }
  await stopAll();

  const extra: Workload[] = [];
  if (!selected || selected.has('2L')) {
    // Workload 2 on three sites, W3C logs off and on, alternating: what access logging costs.
    const off = await startPorticoSites(fixtures, workDir, false);
    const on = await startPorticoSites(fixtures, workDir, true);
    running.push(off, on);
    await Promise.all([waitUntilServing(off), waitUntilServing(on)]);
    extra.push({ id: '2s', title: 'workload 2, three sites, W3C logs off', unit: 'req/s', higherIsBetter: true, measure: async () => ({ value: 0, errors: 0 }) });
    extra.push({ id: '2L', title: 'workload 2, three sites, W3C logs on', unit: 'req/s', higherIsBetter: true, measure: async () => ({ value: 0, errors: 0 }) });
    for (let round = 1; round <= rounds; round++) {
      for (const [id, server] of [['2s', off], ['2L', on]] as const) {
        const result = await wrk({ url: `https://127.0.0.1:${server.httpsPort}/1k.html`, connections: 50, seconds });
        if (result.errors > 0) errors.push(`${id} round ${round}: ${result.errors} errors`);
        record(results, id, 'portico', result.value);
      }
    }
    await stopAll();
    console.error('logging cost done');
  }
  if (!selected || selected.has('p1') || selected.has('p2')) {
    // A reverse proxy in front of one small application: Portico, nginx and Caddy (not the bare Node cluster, which has no proxy).
    const upstream = await startUpstream();
    const proxies = new Map<ServerName, RunningServer>();
    try {
      for (const name of names.filter((candidate) => candidate !== 'node' && !PEERS.includes(candidate))) {
        const proxy = await startServer(name, fixtures, workDir, { proxyTo: upstream.port });
        running.push(proxy);
        await waitUntilServing(proxy);
        proxies.set(name, proxy);
      }
      extra.push({ id: 'p1', title: 'reverse proxy, HTTP/1.1 keep-alive, 1 KiB, 50 conns', unit: 'req/s', higherIsBetter: true, measure: async () => ({ value: 0, errors: 0 }) });
      extra.push({ id: 'p2', title: 'reverse proxy, HTTPS keep-alive, 1 KiB, 50 conns', unit: 'req/s', higherIsBetter: true, measure: async () => ({ value: 0, errors: 0 }) });
      for (let round = 1; round <= rounds; round++) {
        for (const [name, proxy] of proxies) {
          for (const [id, url] of [['p1', `http://127.0.0.1:${proxy.httpPort}/1k.html`], ['p2', `https://127.0.0.1:${proxy.httpsPort}/1k.html`]] as const) {
            const result = await wrk({ url, connections: 50, seconds });
            if (result.errors > 0) errors.push(`${id} ${name} round ${round}: ${result.errors} errors`);
            record(results, id, name, result.value);
          }
        }
      }
    } finally {
      await stopAll();
      upstream.child.kill('SIGKILL');
    }
    console.error('reverse proxy done');
  }
  if (!selected || selected.has('7')) {
    extra.push({ id: '7', title: 'start to first HTTPS response (ms)', unit: 'ms', higherIsBetter: false, measure: async () => ({ value: 0, errors: 0 }) });
    for (let round = 1; round <= rounds; round++) {
      for (const name of inTurn(round)) record(results, '7', name, await measureStartup(name, fixtures));
    }
    console.error('start-up done');
  }
  if (!selected || selected.has('2')) {
    extra.push({ id: '8a', title: 'peak RSS, all processes, under workload 2', unit: 'MiB', higherIsBetter: false, measure: async () => ({ value: 0, errors: 0 }) });
    for (const [name, samples] of peakRss) results.set('8a', (results.get('8a') ?? new Map()).set(name, [Math.max(...samples) / 2 ** 20]));
  }
  if (!selected || selected.has('8')) {
    extra.push({ id: '8b', title: `peak RSS, 20 slow clients on a 1 GiB file (${slowSeconds} s)`, unit: 'MiB', higherIsBetter: false, measure: async () => ({ value: 0, errors: 0 }) });
    for (const name of names) record(results, '8b', name, await measureSlowClients(name, fixtures));
    console.error('slow clients done');
  }
  printTable([...workloads, ...extra].filter((w) => results.has(w.id)), results);
  const logsOn = median(results.get('2L')?.get('portico') ?? []);
  const logsOff = median(results.get('2s')?.get('portico') ?? []);
  if (logsOn > 0 && logsOff > 0) console.log(`\nW3C access logging: three sites, logs on ÷ logs off = ${(logsOn / logsOff).toFixed(2)}× (2L ÷ 2s)`);
  if (errors.length > 0) console.log(`\nErrors seen (these runs are suspect):\n  ${errors.join('\n  ')}`);
} finally {
  await stopAll();
  if (values.compare) removeReference(join(workDir, 'reference'));
  await rm(workDir, { recursive: true, force: true });
}

/**
 * Checks out REF in a temporary git worktree and builds it there, so a change is measured
 * against its parent in the same run, on the same noisy machine. Returns its dist/src/main.js.
 */
function buildReference(ref: string, dir: string): string {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { encoding: 'utf8' }).trim();
  console.error(`building ${ref} (${commit.slice(0, 10)}) in a temporary worktree…`);
  execFileSync('git', ['worktree', 'add', '--detach', '--force', dir, commit], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  const main = join(dir, 'dist', 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${ref} built no dist/src/main.js`);
  return main;
}

function removeReference(dir: string): void {
  spawnSync('git', ['worktree', 'remove', '--force', dir], { stdio: 'ignore' });
}

function hasExited(server: RunningServer): boolean {
  return server.child.exitCode !== null || server.child.signalCode !== null;
}

function record(results: Map<string, Map<ServerName, number[]>>, id: string, name: ServerName, value: number): void {
  const byServer = results.get(id) ?? new Map<ServerName, number[]>();
  byServer.set(name, [...(byServer.get(name) ?? []), value]);
  results.set(id, byServer);
}

async function sampleRss(server: RunningServer, peaks: Map<ServerName, number[]>, load: () => Promise<LoadResult>): Promise<LoadResult> {
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await treeResidentBytes(server.child.pid!));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const result = await load();
  sampling = false;
  await sampler;
  peaks.set(server.name, [...(peaks.get(server.name) ?? []), peak]);
  return result;
}

/**
 * The servers in the order a round measures them: they take turns going first (reversed on even
 * rounds), or the one always measured first, or right after another's load, would carry that
 * position in every round.
 */
function inTurn(round: number): readonly ServerName[] {
  return round % 2 === 0 ? [...names].reverse() : names;
}

async function measureStartup(name: ServerName, fixtures: Fixtures): Promise<number> {
  const started = performance.now();
  const server = await startServer(name, fixtures, workDir, { emptyState: true });
  running.push(server);
  try {
    await waitUntilServing(server);
    return performance.now() - started;
  } finally {
    await server.stop();
    running.splice(running.indexOf(server), 1);
  }
}

async function measureSlowClients(name: ServerName, fixtures: Fixtures): Promise<number> {
  const server = await startServer(name, fixtures, workDir);
  running.push(server);
  try {
    await waitUntilServing(server);
    const stops = Array.from({ length: 20 }, () => slowClient(server.httpPort, '/1g.bin', 2 * 2 ** 20));
    let peak = 0;
    const deadline = Date.now() + slowSeconds * 1000;
    while (Date.now() < deadline) {
      peak = Math.max(peak, await treeResidentBytes(server.child.pid!));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    for (const stop of stops) stop();
    return peak / 2 ** 20;
  } finally {
    await server.stop();
    running.splice(running.indexOf(server), 1);
  }
}

/** Checks that a server answers 304 to its own ETag and gzips text; returns that ETag. */
async function checkServer(server: RunningServer): Promise<string> {
  const head = await get(server.httpPort, '/100k.txt', {});
  const etag = String(head.headers.etag ?? '');
  const conditional = await get(server.httpPort, '/100k.txt', { 'if-none-match': etag });
  const gzip = await get(server.httpPort, '/100k.txt', { 'accept-encoding': 'gzip' });
  if (conditional.statusCode !== 304) console.error(`note: ${server.name} answered ${conditional.statusCode} to If-None-Match`);
  if (gzip.headers['content-encoding'] !== 'gzip') console.error(`note: ${server.name} did not gzip /100k.txt`);
  return etag;
}

function get(port: number, path: string, headers: Record<string, string>): Promise<import('node:http').IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('error', reject);
    req.end();
  });
}

function printTable(workloads: readonly Workload[], results: Map<string, Map<ServerName, number[]>>): void {
  const version = (command: string, args: string[], pattern: RegExp): string => {
    const { stdout, stderr } = spawnSync(command, args, { encoding: 'utf8' });
    return pattern.exec(`${stdout}${stderr}`)?.[1] ?? '?';
  };
  const reference = values.compare ? `; ref = ${values.compare}` : '';
  const node = values.node ? version(runtimePath(), ['--version'], /^v?(\S+)/) : process.version.slice(1);
  console.log(`\nPortico benchmark: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${node}, nginx ${version('nginx', ['-v'], /nginx\/(\S+)/)}, Caddy ${version('caddy', ['version'], /^v?(\S+)/)}; ${WORKERS} workers each; ${rounds} rounds × ${seconds} s, medians${reference}`);
  const others = names.filter((name) => name !== 'portico');
  const head = ['workload', 'unit', ...names, ...others.map((name) => `P÷${name}`)];
  const rows = workloads.map((workload) => {
    const medians = names.map((name) => median(results.get(workload.id)?.get(name) ?? []));
    const portico = median(results.get(workload.id)?.get('portico') ?? []);
    const ratios = others.map((name) => median(results.get(workload.id)?.get(name) ?? [])).map((other) => (other > 0 ? `${(portico / other).toFixed(2)}×` : '—'));
    // A server not measured on a row (HTTP/2 rows for servers without it) shows a dash, not a zero.
    return [`${workload.id} ${workload.title}`, workload.unit + (workload.higherIsBetter ? ' ↑' : ' ↓'), ...medians.map((value) => (value > 0 ? format(value) : '—')), ...ratios];
  });
  const widths = head.map((_, i) => Math.max(head[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const row of rows) console.log(line(row));
  console.log('↑ higher is better, ↓ lower is better; P÷x is Portico divided by x.');
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toString() : value.toFixed(1);
}

function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
