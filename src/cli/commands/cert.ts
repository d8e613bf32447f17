import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defaultStateDir, parseHosts, parseKeyType } from '../../config/flags.js';
import { PlanError, type Problem } from '../../config/problem.js';
import { describeError, PorticoError } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import { installCertificate, loadInstalled, requestCertificate } from '../../tls/key-manager.js';
import { FileStorage } from '../../tls/storage/file-storage.js';

/**
 * `portico cert request --host NAME... [--key-type T] [--state DIR]`: IIS's Key Manager step one.
 * Makes a key pair, keeps the private key pending in the store (owner-only), and prints a PKCS#10
 * request for a CA to sign.
 */
export async function certRequestCommand(hosts: readonly string[], keyTypeText: string | undefined, stateArg: string | undefined): Promise<number> {
  const names = parseHosts(hosts.length > 0 ? hosts : undefined);
  const keyType = parseKeyType(keyTypeText ?? 'ec-p256');
  const problems: Problem[] = [];
  if (hosts.length === 0) problems.push({ path: '--host', problem: 'is missing: name every host the certificate is for (--host shop.example.test --host www.shop.example.test)', code: 'ERR_INVALID_OPTION' });
  else if ('problem' in names) problems.push({ path: '--host', problem: names.problem, code: 'ERR_INVALID_OPTION' });
  if ('problem' in keyType) problems.push({ path: '--key-type', problem: keyType.problem, code: 'ERR_INVALID_OPTION' });
  if (problems.length > 0 || 'problem' in names || 'problem' in keyType) throw new PlanError(problems);
  const stateDir = resolve(stateArg ?? defaultStateDir());
  const storage = await FileStorage.open(stateDir, createLogger('cert', 'warn'));
  const { csr, keyAt } = await requestCertificate(storage, names.value, keyType.value);
  process.stdout.write(csr);
  process.stderr.write(`the private key waits in ${keyAt}; once a CA has signed this request, run: portico cert install SIGNED.pem --state ${stateDir}\n`);
  return 0;
}

/** `portico cert install FILE [--state DIR]`: the signed certificate (with its chain), matched to its pending key. */
export async function certInstallCommand(file: string | undefined, stateArg: string | undefined): Promise<number> {
  if (file === undefined) throw new PorticoError('ERR_USAGE', 'cert install needs the signed certificate file: portico cert install SIGNED.pem; see portico cert --help');
  let pem: string;
  try {
    pem = await readFile(resolve(file), 'utf8');
  } catch (error) {
    throw new PorticoError('ERR_CERTIFICATE_INSTALL', `cannot read ${file}: ${describeError(error)}`);
  }
  const stateDir = resolve(stateArg ?? defaultStateDir());
  const installed = await installCertificate(await FileStorage.open(stateDir, createLogger('cert', 'warn')), pem, Date.now());
  process.stdout.write(`installed ${installed.fingerprint256} for ${installed.hosts.join(', ')} (issued by ${installed.issuer}, valid until ${new Date(installed.notAfter).toISOString()}); a running Portico with --state ${stateDir} serves it within 5 s for sites whose hosts it covers and whose tls is internal\n`);
  return 0;
}

/** `portico cert list [--json] [--state DIR]`: the installed certificates. */
export async function certListCommand(json: boolean, stateArg: string | undefined): Promise<number> {
  const stateDir = resolve(stateArg ?? defaultStateDir());
  const bundles = await loadInstalled(FileStorage.forReading(stateDir, createLogger('cert', 'warn')), Date.now());
  const rows = bundles.map((bundle) => ({ names: bundle.hosts, notAfter: new Date(bundle.notAfter).toISOString(), keyType: bundle.keyType, fingerprint256: bundle.fingerprint256, source: 'installed' }));
  if (json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) process.stdout.write(`no installed certificates in ${stateDir}\n`);
  else for (const row of rows) process.stdout.write(`${row.names.join(', ')}  until ${row.notAfter}  ${row.keyType}  ${row.fingerprint256}  ${row.source}\n`);
  return 0;
}
