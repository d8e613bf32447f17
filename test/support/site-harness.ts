import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planFromConfigFile } from '../../src/config/config-file.js';
import type { Plan } from '../../src/config/plan.js';
import { headerGetter, splitTarget, type Exchange } from '../../src/http/exchange.js';
import { RequestState } from '../../src/http/request-state.js';
import { FailureLimit } from '../../src/limits/failure-limit.js';
import { createStaticCaches } from '../../src/http/static/static-handler.js';
import { AccessLogs } from '../../src/sites/access-logs.js';
import { buildSites } from '../../src/sites/site-pipelines.js';
import type { SiteRouter } from '../../src/sites/site-router.js';
import { collect, recordingLogger } from './in-process.js';

/** A request as the harness takes it: what a transport would have parsed. */
/** The start of a config file whose first site is `app` at app.example.test on ports the system picks; a test writes that site's other keys after it. */
export const APP_SITE = 'http: 0\nhttps: 0\nsites:\n  - name: app\n    hosts: [app.example.test]\n';

export interface HarnessRequest {
  readonly headers?: Record<string, string>;
  /** The Host header (default: the first site's first host). */
  readonly host?: string;
  readonly secure?: boolean;
  readonly remoteAddress?: string;
  readonly protocol?: 'HTTP/1.1' | 'HTTP/2';
}

export interface HarnessReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * The pyramid's middle: a config loaded by the real loader, its sites built by the real
 * `buildSites` (compiled routes, kinds, static handler and caches), and requests answered by the
 * real router and pipelines — no sockets, no processes. For the rule, routing and matcher tables;
 * transports, TLS and the founding guarantees stay in process tests.
 */
export interface SiteHarness {
  readonly plan: Plan;
  /** The folder the config was written in: put the site's files and htpasswd here. */
  readonly dir: string;
  /** The operator log's lines so far. */
  readonly log: readonly string[];
  request(method: string, target: string, request?: HarnessRequest): Promise<HarnessReply>;
  close(): Promise<void>;
}

/** Writes `files` (path → content) and `config` (YAML) into a fresh folder, loads and builds it. */
export async function siteHarness(config: string, files: Readonly<Record<string, string>> = {}): Promise<SiteHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-harness-'));
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    await import('node:fs/promises').then((fs) => fs.mkdir(join(file, '..'), { recursive: true }));
    await writeFile(file, content);
  }
  await writeFile(join(dir, 'portico.yaml'), config);
  const plan = await planFromConfigFile(join(dir, 'portico.yaml'), dir);
  const logger = recordingLogger();
  const caches = createStaticCaches(logger);
  const logs = new AccessLogs(logger);
  const router: SiteRouter = await buildSites(plan.serving, { caches, log: logger, httpsPort: () => 8443, signInFailures: new FailureLimit() }, logs);
  const defaultHost = plan.serving.sites[0]?.hosts[0] ?? 'localhost';
  return {
    plan,
    dir,
    log: logger.lines,
    async request(method, target, request = {}) {
      const host = request.host ?? defaultHost;
      const headers: Record<string, string> = { host, ...Object.fromEntries(Object.entries(request.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value])) };
      const exchange: Exchange = {
        method,
        target,
        ...splitTarget(target),
        protocol: request.protocol ?? 'HTTP/1.1',
        remoteAddress: request.remoteAddress ?? '127.0.0.1',
        host: host.split(':')[0]!,
        authority: host,
        secure: request.secure ?? false,
        servername: request.secure ? host.split(':')[0] : undefined,
        localAddress: '127.0.0.1',
        localPort: request.secure ? 8443 : 8080,
        headers,
        header: headerGetter(headers),
        state: new RequestState(),
      };
      const response = await router.select(exchange).handle(exchange);
      return { status: response.status, headers: { ...response.headers }, body: await collect(response) };
    },
    async close() {
      router.close();
      logs.flush();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
