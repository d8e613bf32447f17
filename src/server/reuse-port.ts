import { readFile } from 'node:fs/promises';
import { createServer, isIPv4, type ListenOptions, type Server } from 'node:net';

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

/**
 * How many sockets listen where a binding would (its address, or any address, on `port`), read
 * from the kernel's tables (Linux /proc; undefined where they cannot be read). Asked before
 * workers bind with SO_REUSEPORT: a second Portico of the same user would otherwise join the
 * first one's sockets and split its connections, where a shared socket fails with EADDRINUSE.
 * Reading the table binds nothing, so a client connecting early is never reset.
 */
export async function listeningSockets(address: string | undefined, port: number): Promise<number | undefined> {
  const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((file) => readFile(file, 'utf8').catch(() => undefined)));
  if (tables.every((table) => table === undefined)) return undefined;
  const wanted = address === undefined ? undefined : procAddress(address);
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of tables) {
    for (const line of (table ?? '').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local?.endsWith(`:${portHex}`)) continue;
      const bound = local.slice(0, -5);
      if (wanted === undefined || /^0+$/.test(bound) || bound === wanted) count++;
    }
  }
  return count;
}

/** An IP address as the kernel's tables spell it: 32-bit words in host (little-endian) byte order. */
function procAddress(address: string): string {
  const bytes = isIPv4(address) ? address.split('.').map(Number) : ipv6Bytes(address);
  const words: string[] = [];
  for (let i = 0; i < bytes.length; i += 4) words.push(bytes.slice(i, i + 4).reverse().map((byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(''));
  return words.join('');
}

function ipv6Bytes(address: string): number[] {
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = address.includes('::') ? groups(tail) : [];
  const all = [...left, ...Array.from({ length: 8 - left.length - right.length }, () => '0'), ...right];
  return all.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}
