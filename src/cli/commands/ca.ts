import { defaultStateDir } from '../../config/flags.js';
import { PorticoError } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import { checkRoot } from '../../tls/certificate-check.js';
import { StateStore } from '../../tls/storage/state-store.js';
import { resolve } from 'node:path';

/** `portico ca root`: prints the root CA certificate, or says why there is none. */
export async function caRootCommand(stateArg: string | undefined): Promise<number> {
  const stateDir = resolve(stateArg ?? defaultStateDir());
  const store = StateStore.forReading(stateDir, createLogger('ca'));
  const paths = store.rootPaths();
  const root = checkRoot(await store.readPair(paths), Date.now());
  if (!root.ok && root.missing) {
    throw new PorticoError('ERR_NO_ROOT_CA', `there is no root CA in ${stateDir} yet: run portico serve --state ${stateDir} once to create it`);
  }
  if (!root.ok) {
    throw new PorticoError('ERR_NO_ROOT_CA', `the root CA in ${paths.cert} is unusable (${root.problem}): run portico serve --state ${stateDir} to set it aside and create a new one`);
  }
  process.stdout.write(root.value.certPem.endsWith('\n') ? root.value.certPem : `${root.value.certPem}\n`);
  return 0;
}
