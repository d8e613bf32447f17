import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultStateDir } from '../../config/defaults.js';
import { PorticoError } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import { InternalIssuer } from '../../tls/internal-ca/internal-issuer.js';
import { FileStorage } from '../../tls/storage/file-storage.js';
import { readTrustRecords, type TrustStoreKind, trustRoot, untrustRoot } from '../../tls/trust-stores.js';

/** `portico ca root`: prints the root CA certificate, or says why there is none. */
export async function caRootCommand(stateArg: string | undefined): Promise<number> {
  const root = await readRootPem(stateArg);
  process.stdout.write(root.endsWith('\n') ? root : `${root}\n`);
  return 0;
}

/** `portico ca trust`: the root into the system store and the browsers' NSS databases; what was added is recorded for untrust. */
export async function caTrustCommand(stateArg: string | undefined, only: string | undefined): Promise<number> {
  if (only !== undefined && only !== 'nss' && only !== 'system') throw new PorticoError('ERR_USAGE', `--only ${JSON.stringify(only)}: use nss (Chromium and Firefox) or system; see portico ca --help`);
  const stateDir = resolve(stateArg ?? defaultStateDir());
  const root = await readRootPem(stateArg);
  const record = join(stateDir, 'trust.json');
  const before = await readTrustRecords(record);
  const added = await trustRoot(root, only as TrustStoreKind | undefined, (line) => process.stdout.write(`${line}\n`));
  await writeFile(record, `${JSON.stringify([...before, ...added], null, 2)}\n`, { mode: 0o600 });
  process.stdout.write(`the root CA of ${stateDir} is trusted; portico ca untrust --state ${stateDir} removes it again\n`);
  return 0;
}

/** `portico ca untrust`: removes exactly what `ca trust` added. */
export async function caUntrustCommand(stateArg: string | undefined): Promise<number> {
  const stateDir = resolve(stateArg ?? defaultStateDir());
  const record = join(stateDir, 'trust.json');
  const records = await readTrustRecords(record);
  if (records.length === 0) {
    process.stdout.write(`nothing to remove: portico ca trust added nothing for ${stateDir}\n`);
    return 0;
  }
  await untrustRoot(records, (line) => process.stdout.write(`${line}\n`));
  await rm(record, { force: true });
  return 0;
}

async function readRootPem(stateArg: string | undefined): Promise<string> {
  const stateDir = resolve(stateArg ?? defaultStateDir());
  const root = await InternalIssuer.readRoot(FileStorage.forReading(stateDir, createLogger('ca')));
  if ('missing' in root) {
    throw new PorticoError('ERR_NO_ROOT_CA', `there is no root CA in ${stateDir} yet: run portico serve --state ${stateDir} once to create it`);
  }
  if ('problem' in root) {
    throw new PorticoError('ERR_NO_ROOT_CA', `the root CA in ${root.where} is unusable (${root.problem}): run portico serve --state ${stateDir} to set it aside and create a new one`);
  }
  return root.pem;
}
