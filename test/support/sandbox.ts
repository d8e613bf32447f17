import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const INDEX_HTML = '<!doctype html><title>Portico test</title><h1>It works</h1>\n';

/** A temporary folder with a site (index.html) and an empty place for state. */
export interface Sandbox {
  readonly dir: string;
  readonly site: string;
  readonly state: string;
  remove(): Promise<void>;
}

export async function createSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-test-'));
  const site = join(dir, 'site');
  await import('node:fs/promises').then((fs) => fs.mkdir(site));
  await writeFile(join(site, 'index.html'), INDEX_HTML);
  return { dir, site, state: join(dir, 'state'), remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A port that was free a moment ago on 127.0.0.1, for a server that must be told its port before
 * it starts (Pebble, and the instances it validates against). It is taken below the kernel's
 * ephemeral range, from which every `listen(0)` and every client socket of a concurrently running
 * test draws: a port from there can be taken by one of them before its server binds it.
 */
export async function freePort(): Promise<number> {
  const first = Number((await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '')).split(/\s+/)[0]);
  const ephemeralLow = first > 4_096 ? first : 32_768;
  const low = Math.min(20_000, ephemeralLow - 2_000);
  for (;;) {
    const port = low + Math.floor(Math.random() * (ephemeralLow - low));
    if (await canListen(port)) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The arguments every test server gets: loopback only, any free ports (read them back with
 * PorticoProcess.port()), its own state.
 */
export function anyPortArgs(box: Sandbox, extra: readonly string[] = []): string[] {
  return [box.site, '--bind', '127.0.0.1', '--http', '0', '--https', '0', '--state', box.state, ...extra];
}

/**
 * Arguments with two ports chosen before the server starts, for the tests that need them then:
 * clients that connect before the listener exists, or a port that must stay the same across a
 * restart of a lone worker (port 0 would give the new worker a new port).
 */
export async function serveArgs(box: Sandbox, extra: readonly string[] = []): Promise<{ args: string[]; httpPort: number; httpsPort: number }> {
  const httpPort = await freePort();
  const httpsPort = await freePort();
  return {
    args: [box.site, '--bind', '127.0.0.1', '--http', String(httpPort), '--https', String(httpsPort), '--state', box.state, ...extra],
    httpPort,
    httpsPort,
  };
}
