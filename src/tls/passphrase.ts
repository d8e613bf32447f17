import { FILE_LIMITS, readNamedFile } from '../config/named-file.js';

/**
 * A passphrase file's first line: a trailing newline, which editors add, is not part of the
 * passphrase. A device, a FIFO or a file larger than 64 KiB is refused (ERR_NOT_A_FILE,
 * ERR_FILE_TOO_LARGE), never read until memory runs out.
 */
export async function readPassphrase(file: string): Promise<string> {
  return (await readNamedFile(file, FILE_LIMITS.passphrase)).toString('utf8').split(/\r?\n/)[0] ?? '';
}
