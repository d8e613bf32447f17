import { stat } from 'node:fs/promises';
import { Primary } from '../../cluster/primary.js';
import { buildServeConfig, type ServeArgs } from '../../config/serve-config.js';
import { PorticoError, systemErrorCode } from '../../errors.js';
import { createLogger } from '../../log/logger.js';

/** `portico serve`: validates everything a user can get wrong, then runs the primary. */
export async function serveCommand(args: ServeArgs): Promise<number> {
  const config = buildServeConfig(args);
  await checkRoot(config.root);
  const primary = new Primary(config, createLogger('primary'), (line) => process.stdout.write(`${line}\n`));
  await primary.start();
  return primary.done;
}

async function checkRoot(root: string): Promise<void> {
  try {
    if (!(await stat(root)).isDirectory()) {
      throw new PorticoError('ERR_ROOT_NOT_DIRECTORY', `${root} is not a folder: give portico serve the folder to serve`);
    }
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') throw new PorticoError('ERR_ROOT_NOT_FOUND', `${root} does not exist: give portico serve an existing folder`);
    throw error;
  }
}
