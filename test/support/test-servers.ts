import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach } from 'node:test';
import { PorticoProcess } from './portico-process.js';
import { fetchRootCa } from './root-ca.js';
import { createSandbox, type Sandbox } from './sandbox.js';

/**
 * The one scaffold of process tests: a sandbox (site, state) per file or per test, the Portico
 * processes started in it and whatever else a test starts (upstreams, agents), all stopped and
 * removed when the scope ends, in one place. A test file calls `useTestServers()` once at its
 * top and starts servers through it instead of writing its own before/after hooks for them.
 */
export interface TestServers {
  /** The current sandbox (site, state); a new one per test with scope 'each'. */
  readonly box: Sandbox;
  /** The sandbox, for hooks: Node 20 runs root-level before() hooks concurrently, not in order. */
  ready(): Promise<Sandbox>;
  /** Starts `portico serve` and stops it, and its workers, when the scope ends. */
  serve(args: readonly string[], env?: NodeJS.ProcessEnv, prefix?: readonly string[]): PorticoProcess;
  /**
   * Writes `config` (YAML; lines are joined) as the sandbox's `file` (portico.yaml) and serves
   * it; resolves once Portico says it is ready. Stopped when the scope ends.
   */
  serveConfig(config: string | readonly string[], options?: { readonly file?: string; readonly env?: NodeJS.ProcessEnv }): Promise<PorticoProcess>;
  /** The path of a config file in the sandbox (default portico.yaml), for `portico reload --config`. */
  configFile(file?: string): string;
  /** The internal root CA's PEM, for clients of the HTTPS port (once a server has created it). */
  rootCa(): Promise<string>;
  /** Runs `stop` when the scope ends, after Portico stopped and before the sandbox goes (last registered, first run). */
  cleanUp(stop: () => unknown): void;
}

/** The top of a test's config file: any free ports on loopback, `workers` workers, the sandbox's state. */
export function loopbackConfig(box: Sandbox, workers = 1): string[] {
  return ['http: 0', 'https: 0', 'bind: 127.0.0.1', `workers: ${workers}`, `state: ${box.state}`];
}

/** Registers the hooks that give a test file (or each test) a sandbox and clean it up. */
export function useTestServers(scope: 'file' | 'each' = 'file'): TestServers {
  let current: Sandbox | undefined;
  let creating: Promise<Sandbox> | undefined;
  const running: PorticoProcess[] = [];
  const cleanUps: Array<() => unknown> = [];
  const ready = (): Promise<Sandbox> => {
    creating ??= createSandbox().then((box) => (current = box));
    return creating;
  };
  const setUp = async (): Promise<void> => {
    await ready();
  };
  const tearDown = async (): Promise<void> => {
    await Promise.all(running.splice(0).map((portico) => portico.stop()));
    for (const stop of cleanUps.splice(0).reverse()) await stop();
    await current?.remove();
    current = undefined;
    creating = undefined;
  };
  if (scope === 'each') {
    beforeEach(setUp);
    afterEach(tearDown);
  } else {
    before(setUp);
    after(tearDown);
  }
  const box = (): Sandbox => {
    if (!current) throw new Error('useTestServers(): the sandbox exists only inside tests and hooks');
    return current;
  };
  const serve = (args: readonly string[], env: NodeJS.ProcessEnv = {}, prefix: readonly string[] = []): PorticoProcess => {
    const portico = PorticoProcess.serve(args, env, prefix);
    running.push(portico);
    return portico;
  };
  const configFile = (file = 'portico.yaml'): string => join(box().dir, file);
  return {
    ready,
    get box(): Sandbox {
      return box();
    },
    serve,
    configFile,
    async serveConfig(config, { file, env } = {}) {
      await ready();
      const path = configFile(file);
      await writeFile(path, typeof config === 'string' ? config : [...config, ''].join('\n'));
      const portico = serve(['--config', path], env);
      await portico.waitFor(/^ready: /m, 60_000);
      return portico;
    },
    async rootCa() {
      return (await fetchRootCa(box().state)).pem;
    },
    cleanUp(stop) {
      cleanUps.push(stop);
    },
  };
}
