import { createServer, type ListenOptions, type Server } from 'node:net';

/** listen()'s options with `reusePort` (Node ≥ 22.12), which the Node 20 types do not know. */
export type ReusePortListenOptions = ListenOptions & { reusePort?: boolean };

/**
 * Whether each worker can open its own listening socket on a shared port with SO_REUSEPORT, so
 * that the kernel spreads new connections across workers. Found by trying it: two listeners on
 * one port of 127.0.0.1. Node 20 ignores `reusePort` (the second gets EADDRINUSE); a system
 * without balancing SO_REUSEPORT refuses the option. Either way the answer is no.
 */
export async function reusePortBalances(): Promise<boolean> {
  const first = createServer();
  const second = createServer();
  try {
    const port = await listen(first, { port: 0, host: '127.0.0.1', reusePort: true, exclusive: true });
    await listen(second, { port, host: '127.0.0.1', reusePort: true, exclusive: true });
    return true;
  } catch {
    return false;
  } finally {
    first.close();
    second.close();
  }
}

function listen(server: Server, options: ReusePortListenOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => resolve((server.address() as { port: number }).port));
  });
}
