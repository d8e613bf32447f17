import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { PorticoError } from '../errors.js';

/**
 * The most Portico reads of each kind of file the configuration names. Each is far above what a
 * real one holds (a PEM chain is a few KiB, a CA bundle some hundred, an htpasswd line 60 bytes),
 * and low enough that a wrong path (`/dev/zero`, a disk image, a log) is refused at once instead
 * of being read until memory runs out.
 */
export const FILE_LIMITS = {
  config: 4 * 1024 * 1024,
  pem: 4 * 1024 * 1024,
  htpasswd: 16 * 1024 * 1024,
  passphrase: 64 * 1024,
} as const;

/**
 * Reads a file the configuration names (the config file, a certificate, a key, a CA bundle, an
 * htpasswd or passphrase file), refusing what is not a regular file (a device, a FIFO, a folder,
 * a socket) or is larger than `limit` bytes: ERR_NOT_A_FILE or ERR_FILE_TOO_LARGE, whose message
 * starts with the path ("/dev/zero is a character device, not a regular file"). It is opened without
 * blocking, so a FIFO with no writer is refused rather than waited on, and at most `limit + 1`
 * bytes are read, so a file that grows while it is read is refused too. Errors of the system
 * (ENOENT, EACCES) are thrown as they are.
 */
export async function readNamedFile(path: string, limit: number): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new PorticoError('ERR_NOT_A_FILE', `${path} is ${kindOf(info)}, not a regular file`);
    if (info.size > limit) throw tooLarge(path, limit);
    // stat's size is a hint only (a file may grow, /proc files say 0): read until the end, or past the limit.
    let buffer = Buffer.alloc(Math.min(limit + 1, Math.max(info.size + 1, 65_536)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > limit) throw tooLarge(path, limit);
        const larger = Buffer.alloc(Math.min(limit + 1, buffer.length * 2));
        buffer.copy(larger, 0, 0, length);
        buffer = larger;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > limit) throw tooLarge(path, limit);
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/** What went wrong reading a named file, starting with its path: `/x does not exist`, `/dev/zero is a character device, not a regular file`. */
export function describeReadError(path: string, error: unknown): string {
  if (error instanceof PorticoError) return error.message;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  if (code === 'ENOENT') return `${path} does not exist`;
  if (code === 'EACCES' || code === 'EPERM') return `${path} cannot be read: permission denied`;
  return `${path} cannot be read (${code || (error instanceof Error ? error.message : String(error))})`;
}

function tooLarge(path: string, limit: number): PorticoError {
  return new PorticoError('ERR_FILE_TOO_LARGE', `${path} is larger than ${formatBytes(limit)}, more than such a file ever holds`);
}

function kindOf(info: { isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.floor(bytes / (1024 * 1024))} MiB` : bytes >= 1024 ? `${Math.floor(bytes / 1024)} KiB` : `${bytes} bytes`;
}
