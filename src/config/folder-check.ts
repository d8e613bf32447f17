import { stat } from 'node:fs/promises';
import { describeError, systemErrorCode } from '../errors.js';
import type { Report } from './problem.js';

/** Reports a folder to serve that is missing, not a folder, or unreadable. */
export async function checkFolder(path: string, at: string, fail: Report): Promise<void> {
  try {
    if (!(await stat(path)).isDirectory()) fail(at, `${path} is not a folder; give the folder to serve`, 'ERR_ROOT_NOT_DIRECTORY');
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') fail(at, `${path} does not exist; create it or correct the path`, 'ERR_ROOT_NOT_FOUND');
    else fail(at, `${path} cannot be read: ${describeError(error)}`, 'ERR_ROOT_NOT_FOUND');
  }
}
