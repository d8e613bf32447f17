import { resolve } from 'node:path';
import { defaultStateDir } from '../../config/flags.js';
import { PorticoError } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import { InternalIssuer } from '../../tls/internal-ca/internal-issuer.js';
import { FileStorage } from '../../tls/storage/file-storage.js';

/** `portico ca root`: prints the root CA certificate, or says why there is none. */
export async function caRootCommand(stateArg: string | undefined): Promise<number> {
  const stateDir = resolve(stateArg ?? defaultStateDir());
  const root = await InternalIssuer.readRoot(FileStorage.forReading(stateDir, createLogger('ca')));
  if ('missing' in root) {
    throw new PorticoError('ERR_NO_ROOT_CA', `there is no root CA in ${stateDir} yet: run portico serve --state ${stateDir} once to create it`);
  }
  if ('problem' in root) {
    throw new PorticoError('ERR_NO_ROOT_CA', `the root CA in ${root.where} is unusable (${root.problem}): run portico serve --state ${stateDir} to set it aside and create a new one`);
  }
  process.stdout.write(root.pem.endsWith('\n') ? root.pem : `${root.pem}\n`);
  return 0;
}
