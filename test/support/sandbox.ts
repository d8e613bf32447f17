import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
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
