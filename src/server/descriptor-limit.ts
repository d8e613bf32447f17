import { readFileSync } from 'node:fs';

/** Descriptors kept free for everything that is not a client connection: files being sent, logs, IPC. */
const RESERVED_DESCRIPTORS = 128;
const UNLIMITED_CONNECTIONS = 65_536;

/**
 * How many connections a worker may hold open: the process's soft limit on open files
 * (RLIMIT_NOFILE, from /proc/self/limits on Linux) less a reserve, so a flood of connections is
 * refused at accept instead of leaving the worker without a descriptor to open a file or log a
 * line (EMFILE). Where the limit cannot be read, a fixed ceiling.
 */
export function connectionLimit(limits: string | undefined = readLimits()): number {
  const soft = limits === undefined ? undefined : /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
  if (soft === undefined || soft === 'unlimited') return UNLIMITED_CONNECTIONS;
  return Math.max(16, Math.min(UNLIMITED_CONNECTIONS, Number(soft) - RESERVED_DESCRIPTORS));
}

function readLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
