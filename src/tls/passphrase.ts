import { readFile } from 'node:fs/promises';

/** A passphrase file's first line: a trailing newline, which editors add, is not part of the passphrase. */
export async function readPassphrase(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).split(/\r?\n/)[0] ?? '';
}
