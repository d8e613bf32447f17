import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every line of the W3C access-log files in `folder` so far, without the header lines. */
export async function accessLogLines(folder: string): Promise<string[]> {
  const files = await readdir(folder).catch(() => [] as string[]);
  const texts = await Promise.all(files.filter((file) => file.startsWith('u_ex')).map((file) => readFile(join(folder, file), 'utf8')));
  return texts.join('').split('\n').filter((line) => line.length > 0 && !line.startsWith('#'));
}
