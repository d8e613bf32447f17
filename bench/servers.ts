import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Fixtures } from './fixtures.js';

/**
 * `ref` is another commit of Portico, built by `bench/run --compare REF` (see useReference).
 * `http-server` and `serve` are the Node static servers people reach for (bench/peers).
 */
export type ServerName = 'nginx' | 'caddy' | 'node' | 'http-server' | 'serve' | 'portico' | 'ref';
export const SERVER_NAMES: readonly ServerName[] = ['nginx', 'caddy', 'node', 'http-server', 'serve', 'portico'];
export const PEERS: readonly ServerName[] = ['http-server', 'serve'];
export const WORKERS = 2;

/** Whether a server speaks HTTP/2 (the peers from npm do not: their HTTP/2 rows stay empty). */
export function speaksHttp2(name: ServerName): boolean {
  return !PEERS.includes(name);
}

/** Whether the pinned peers are installed (bench/setup). */
export function peersInstalled(): boolean {
  return existsSync(fileURLToPath(new URL('../../bench/peers/node_modules/serve/build/main.js', import.meta.url))) && existsSync(fileURLToPath(new URL('../../bench/peers/node_modules/http-server/bin/http-server', import.meta.url)));
}

/** The Node runtime for Portico, the bare Node cluster and the npm peers (bench/run --node). */
let runtime = process.execPath;
export function useRuntime(path: string): void {
  runtime = path;
}
export function runtimePath(): string {
  return runtime;
}

export interface RunningServer {
  readonly name: ServerName;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly child: ChildProcess;
  /** What the server wrote on stderr: shown when it fails to start. */
  readonly stderr: () => string;
  stop(): Promise<void>;
}

const PORTICO = fileURLToPath(new URL('../src/main.js', import.meta.url));
const BARE_NODE = fileURLToPath(new URL('./bare-node-server.js', import.meta.url));
const PEER = fileURLToPath(new URL('./peer-server.js', import.meta.url));
let referenceMain: string | undefined;

/** Runs the server named `ref` from another build of Portico (its dist/src/main.js). */
export function useReference(main: string): void {
  referenceMain = main;
}

/**
 * Portico from a config file with three sites (the one requested first, by 127.0.0.1, serves the
 * bench files), each with its W3C access log on or all off: what logging costs, side by side.
 */
export async function startPorticoSites(fixtures: Fixtures, workDir: string, logs: boolean): Promise<RunningServer> {
  return startServer('portico', fixtures, workDir, { sites: { logs } });
}

/** Starts one server on loopback high ports with the shared files and certificate; with `proxyTo`, as a reverse proxy to that port instead. */
export async function startServer(name: ServerName, fixtures: Fixtures, workDir: string, options: { emptyState?: boolean; sites?: { logs: boolean }; proxyTo?: number } = {}): Promise<RunningServer> {
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const dir = join(workDir, `${name}-${httpsPort}`);
  await mkdir(dir, { recursive: true });
  const child =
    options.proxyTo !== undefined
      ? await launchProxy(name, fixtures, dir, httpPort, httpsPort, options.proxyTo)
      : options.sites
        ? await launchSites(fixtures, dir, httpPort, httpsPort, options.sites.logs)
        : await launch(name, fixtures, dir, httpPort, httpsPort, options.emptyState ?? false);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const server: RunningServer = {
    name,
    httpPort,
    httpsPort,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return server;
}

async function launch(name: ServerName, fixtures: Fixtures, dir: string, httpPort: number, httpsPort: number, emptyState: boolean): Promise<ChildProcess> {
  const quiet = { stdio: ['ignore', 'ignore', 'pipe'] as ['ignore', 'ignore', 'pipe'] };
  switch (name) {
    case 'nginx': {
      const conf = join(dir, 'nginx.conf');
      await writeFile(conf, nginxConfig(fixtures, dir, httpPort, httpsPort));
      return spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], quiet);
    }
    case 'caddy': {
      const file = join(dir, 'Caddyfile');
      await writeFile(file, caddyConfig(fixtures, dir, httpPort, httpsPort, emptyState));
      return spawn('caddy', ['run', '--config', file, '--adapter', 'caddyfile'], { ...quiet, env: { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') } });
    }
    case 'http-server':
    case 'serve':
      return spawn(runtime, [PEER, name, fixtures.site, fixtures.certFile, fixtures.keyFile, String(httpPort), String(httpsPort)], quiet);
    case 'node':
      return spawn(runtime, [BARE_NODE, fixtures.site, fixtures.certFile, fixtures.keyFile, String(httpPort), String(httpsPort), String(WORKERS)], quiet);
    case 'portico':
    case 'ref': {
      const state = emptyState ? join(dir, 'state') : fixtures.porticoState;
      const main = name === 'ref' ? referenceMain : PORTICO;
      if (main === undefined) throw new Error('no reference build: use bench/run --compare REF');
      return spawn(runtime, [main, 'serve', fixtures.site, '--bind', '127.0.0.1', '--http', String(httpPort), '--https', String(httpsPort), '--workers', String(WORKERS), '--state', state], { ...quiet, env: { ...process.env, PORTICO_LOG_LEVEL: 'warn' } });
    }
  }
}

/** nginx, Caddy or Portico as a reverse proxy (keep-alive to the upstream) in front of one upstream port. */
async function launchProxy(name: ServerName, fixtures: Fixtures, dir: string, httpPort: number, httpsPort: number, upstream: number): Promise<ChildProcess> {
  const quiet = { stdio: ['ignore', 'ignore', 'pipe'] as ['ignore', 'ignore', 'pipe'] };
  if (name === 'nginx') {
    const conf = join(dir, 'nginx.conf');
    const location = `location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto $scheme; }`;
    const config = nginxConfig(fixtures, dir, httpPort, httpsPort).replace('  server {', `  upstream app { server 127.0.0.1:${upstream}; keepalive 64; }\n  server {`).replace(`    root ${fixtures.site};\n`, `    ${location}\n`);
    await writeFile(conf, config);
    return spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], quiet);
  }
  if (name === 'caddy') {
    const file = join(dir, 'Caddyfile');
    await writeFile(file, `{\n  admin off\n  auto_https off\n  storage file_system ${dir}/data\n}\nhttp://127.0.0.1:${httpPort} {\n  reverse_proxy 127.0.0.1:${upstream}\n}\nhttps://127.0.0.1:${httpsPort} {\n  tls ${fixtures.certFile} ${fixtures.keyFile}\n  reverse_proxy 127.0.0.1:${upstream}\n}\n`);
    return spawn('caddy', ['run', '--config', file, '--adapter', 'caddyfile'], { ...quiet, env: { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') } });
  }
  const config = join(dir, 'portico.yaml');
  await writeFile(config, `http: ${httpPort}\nhttps: ${httpsPort}\nbind: 127.0.0.1\nworkers: ${WORKERS}\nstate: ${fixtures.porticoState}\nsites:\n  - { name: app, hosts: [127.0.0.1, localhost], proxy: [{ path: /, to: [http://127.0.0.1:${upstream}] }] }\n`);
  const main = name === 'ref' ? referenceMain : PORTICO;
  return spawn(runtime, [main ?? PORTICO, 'serve', '--config', config], { ...quiet, env: { ...process.env, PORTICO_LOG_LEVEL: 'warn' } });
}

/** The application behind the proxies: one node:http process answering 1 KiB with keep-alive. */
export async function startUpstream(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const body = 'x'.repeat(1024);
  const script = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/html', 'content-length': 1024 }); s.end(${JSON.stringify(body)}); }).listen(${port}, '127.0.0.1', () => console.log('up'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  return { port, child };
}

async function launchSites(fixtures: Fixtures, dir: string, httpPort: number, httpsPort: number, logs: boolean): Promise<ChildProcess> {
  const site = (name: string, hosts: string): string => `  - name: ${name}\n    hosts: [${hosts}]\n    root: ${fixtures.site}\n${logs ? `    log: { dir: ${join(dir, 'logs', name)} }\n` : ''}`;
  const config = join(dir, 'portico.yaml');
  await writeFile(
    config,
    `http: ${httpPort}\nhttps: ${httpsPort}\nbind: 127.0.0.1\nworkers: ${WORKERS}\nstate: ${fixtures.porticoState}\nsites:\n${site('bench', '127.0.0.1, localhost')}${site('shop', 'shop.example.test')}${site('blog', 'blog.example.test')}`,
  );
  return spawn(runtime, [PORTICO, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PORTICO_LOG_LEVEL: 'warn' } });
}

function nginxConfig(fixtures: Fixtures, dir: string, httpPort: number, httpsPort: number): string {
  return `worker_processes ${WORKERS};
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  gzip on;
  gzip_types text/plain text/css application/javascript application/json;
  gzip_min_length 1024;
  gzip_comp_level 6;
  server {
    listen 127.0.0.1:${httpPort};
    listen 127.0.0.1:${httpsPort} ssl http2;
    ssl_certificate ${fixtures.certFile};
    ssl_certificate_key ${fixtures.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    root ${fixtures.site};
  }
}
`;
}

function caddyConfig(fixtures: Fixtures, dir: string, httpPort: number, httpsPort: number, internalCa: boolean): string {
  const global = internalCa
    ? `{\n  admin off\n  skip_install_trust\n  local_certs\n  http_port ${httpPort}\n  storage file_system ${dir}/data\n}\n`
    : `{\n  admin off\n  auto_https off\n  storage file_system ${dir}/data\n}\n`;
  const tls = internalCa ? 'tls internal' : `tls ${fixtures.certFile} ${fixtures.keyFile}`;
  return `${global}
http://127.0.0.1:${httpPort} {
  root * ${fixtures.site}
  encode gzip
  file_server
}
https://127.0.0.1:${httpsPort} {
  ${tls}
  root * ${fixtures.site}
  encode gzip
  file_server
}
`;
}

/** Resolves once an HTTPS GET succeeds (any status below 500); rejects after `timeoutMs`. */
export async function waitUntilServing(server: RunningServer, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await httpsOk(server.httpsPort, '/1k.html')) return;
    if (server.child.exitCode !== null) throw new Error(`${server.name} exited with code ${server.child.exitCode}:\n${server.stderr()}`);
    if (Date.now() > deadline) throw new Error(`${server.name} did not serve HTTPS within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function httpsOk(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    // No SNI, as a browser opening https://127.0.0.1/ sends none.
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 500) < 500));
    });
    req.on('error', () => resolve(false));
    req.setTimeout(2_000, () => req.destroy());
    req.end();
  });
}

/** RSS of a process and all its descendants, in bytes (Linux /proc). */
export async function treeResidentBytes(rootPid: number): Promise<number> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const tree = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const pid of tree) total += await residentBytes(pid);
  return total;
}

/** RSS of one process, in bytes; 0 if it is gone. */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}
