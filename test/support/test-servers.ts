import { after, afterEach, before, beforeEach } from 'node:test';
import { PorticoProcess } from './portico-process.js';
import { createSandbox, type Sandbox } from './sandbox.js';

export interface TestServers {
  /** The current sandbox (site, state); a new one per test with scope 'each'. */
  readonly box: Sandbox;
  /** The sandbox, for hooks: Node 20 runs root-level before() hooks concurrently, not in order. */
  ready(): Promise<Sandbox>;
  /** Starts `portico serve` and stops it, and its workers, when the scope ends. */
  serve(args: readonly string[], env?: NodeJS.ProcessEnv, prefix?: readonly string[]): PorticoProcess;
}

/** Registers the hooks that give a test file (or each test) a sandbox and clean it up. */
export function useTestServers(scope: 'file' | 'each' = 'file'): TestServers {
  let current: Sandbox | undefined;
  let creating: Promise<Sandbox> | undefined;
  const running: PorticoProcess[] = [];
  const ready = (): Promise<Sandbox> => {
    creating ??= createSandbox().then((box) => (current = box));
    return creating;
  };
  const setUp = async (): Promise<void> => {
    await ready();
  };
  const tearDown = async (): Promise<void> => {
    await Promise.all(running.splice(0).map((portico) => portico.stop()));
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
  return {
    ready,
    get box(): Sandbox {
      if (!current) throw new Error('useTestServers(): the sandbox exists only inside tests and hooks');
      return current;
    },
    serve(args, env = {}, prefix = []) {
      const portico = PorticoProcess.serve(args, env, prefix);
      running.push(portico);
      return portico;
    },
  };
}
