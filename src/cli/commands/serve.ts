import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { Primary } from '../../cluster/primary.js';
import { buildServeConfig, type ServeArgs, type ServeConfig } from '../../config/serve-config.js';
import { PorticoError, systemErrorCode } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import { listenError } from '../../server/listeners.js';

/** `portico serve`: validates everything a user can get wrong, then runs the primary. */
export async function serveCommand(args: ServeArgs): Promise<number> {
  const config = buildServeConfig(args);
  await checkRoot(config.root);
  await checkPortsFree(config);
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

/**
 * Finds a port that is taken before any worker starts, so the user gets one clear line. The
 * workers' own listen errors remain the authority (another program can take a port after this).
 */
async function checkPortsFree(config: ServeConfig): Promise<void> {
  for (const [name, port] of [['http', config.httpPort], ['https', config.httpsPort]] as const) {
    if (port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', (error) => reject(listenError(name, port, error)));
      probe.listen({ port, host: config.bindAddress, exclusive: true }, () => probe.close(() => resolve()));
    });
  }
}
