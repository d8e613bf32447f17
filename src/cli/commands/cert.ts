import { createPrivateKey, X509Certificate } from 'node:crypto';
import { FILE_LIMITS, readNamedFile } from '../../config/named-file.js';
import { resolve } from 'node:path';
import { DEFAULTS, defaultStateDir } from '../../config/defaults.js';
import { parseHosts, parseKeyType } from '../../config/values.js';
import { PlanError, type Problem } from '../../config/problem.js';
import { describeError, isPorticoError, PorticoError } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import { planFromConfigFile } from '../../config/config-file.js';
import type { CertificatePlan, Plan } from '../../config/plan.js';
import type { Logger } from '../../log/logger.js';
import { bundleCovers, installCertificate, loadInstalled, requestCertificate } from '../../tls/key-manager.js';
import { certificateNames } from '../../tls/certificate-names.js';
import { acmeLeafId, storedChallenges } from '../../tls/acme/acme-issuer.js';
import { FileStorage } from '../../tls/storage/file-storage.js';
import type { Storage } from '../../tls/storage/storage.js';
import { StorageKeys } from '../../tls/storage/storage-keys.js';
import { loadPair } from '../../tls/storage/pair-storage.js';
import { keyTypeOf } from '../../tls/key-types.js';
import { InternalIssuer } from '../../tls/internal-ca/internal-issuer.js';
import { Keyring } from '../../tls/keyring.js';

/**
 * `portico cert request --host NAME... [--key-type T] [--state DIR]`: IIS's Key Manager step one.
 * Makes a key pair, keeps the private key pending in the store (owner-only), and prints a PKCS#10
 * request for a CA to sign.
 */
export async function certRequestCommand(hosts: readonly string[], keyTypeText: string | undefined, stateArg: string | undefined): Promise<number> {
  const names = parseHosts(hosts);
  const keyType = parseKeyType(keyTypeText ?? DEFAULTS.keyType);
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
    pem = (await readNamedFile(resolve(file), FILE_LIMITS.pem)).toString('utf8');
  } catch (error) {
    throw new PorticoError(isPorticoError(error) ? error.code : 'ERR_CERTIFICATE_INSTALL', isPorticoError(error) ? error.message : `cannot read ${file}: ${describeError(error)}`);
  }
  const stateDir = resolve(stateArg ?? defaultStateDir());
  const installed = await installCertificate(await FileStorage.open(stateDir, createLogger('cert', 'warn')), pem, Date.now());
  process.stdout.write(`installed ${installed.fingerprint256} for ${installed.hosts.join(', ')} (issued by ${installed.issuer}, valid until ${new Date(installed.notAfter).toISOString()}); a running Portico with --state ${stateDir} serves it within 5 s for sites whose hosts it covers and whose tls is internal\n`);
  return 0;
}

/** The store a command works on: the config file's (its state folder, or its Redis), else the state folder. */
async function openStore(stateArg: string | undefined, configArg: string | undefined, log: Logger): Promise<{ storage: Storage; plan: Plan | undefined; where: string; close: () => void }> {
  if (configArg === undefined) {
    const stateDir = resolve(stateArg ?? defaultStateDir());
    return { storage: FileStorage.forReading(stateDir, log), plan: undefined, where: stateDir, close: () => undefined };
  }
  const plan = await planFromConfigFile(resolve(configArg));
  if (plan.storage.kind === 'redis') {
    const { RedisStorage, safeUrl } = await import('../../tls/storage/redis-storage.js');
    const redis = await RedisStorage.open(plan.storage, log);
    return { storage: redis, plan, where: `${safeUrl(plan.storage.url)} (prefix ${plan.storage.prefix})`, close: () => redis.close() };
  }
  return { storage: await FileStorage.open(plan.stateDir, log), plan, where: plan.stateDir, close: () => undefined };
}

interface CertificateRow {
  readonly names: readonly string[];
  readonly issuer: string;
  readonly notAfter: string;
  readonly keyType: string;
  readonly fingerprint256: string;
  readonly source: 'internal' | 'files' | 'acme' | 'installed';
  readonly sites: readonly string[];
}

function describeCertificate(certPem: string, keyPem: string | undefined, source: CertificateRow['source'], sites: readonly string[]): CertificateRow | undefined {
  try {
    const leaf = new X509Certificate(certPem);
    const key = keyPem ? createPrivateKey(keyPem) : leaf.publicKey;
    return {
      names: certificateNames(leaf),
      issuer: leaf.issuer.replaceAll('\n', ', '),
      notAfter: new Date(leaf.validTo).toISOString(),
      keyType: keyTypeOf(key) ?? key.asymmetricKeyType ?? 'unknown',
      fingerprint256: leaf.fingerprint256,
      source,
      sites,
    };
  } catch {
    return undefined;
  }
}

/**
 * `portico cert list [--json] [--config FILE | --state DIR]`: every certificate in the store
 * (internal, ACME, installed); with a config file also each site's own files, and which sites
 * use each certificate.
 */
export async function certListCommand(json: boolean, stateArg: string | undefined, configArg?: string): Promise<number> {
  const log = createLogger('cert', 'warn');
  const { storage, plan, where, close } = await openStore(stateArg, configArg, log);
  try {
    const rows: CertificateRow[] = [];
    const sitesOf = (id: string): string[] => (plan?.serving.sites ?? []).filter((site) => site.certificateId === id).map((site) => site.name);
    const installed = await loadInstalled(storage, Date.now());
    const installedSites = new Map<string, string[]>();
    for (const wanted of plan?.certificates ?? []) {
      if (wanted.source === 'files') {
        const certPem = await readNamedFile(wanted.certFile, FILE_LIMITS.pem).then((bytes) => bytes.toString('utf8'), () => undefined);
        const row = certPem && describeCertificate(certPem, undefined, 'files', sitesOf(wanted.id));
        if (row) rows.push(row);
      } else if (wanted.source === 'internal') {
        const match = installed.find((bundle) => bundleCovers(bundle, wanted.hosts));
        if (match) installedSites.set(match.fingerprint256, [...(installedSites.get(match.fingerprint256) ?? []), ...sitesOf(wanted.id)]);
      }
    }
    // What the store holds: leaves of the internal CA and of ACME CAs (their ids start with acme-).
    for (const key of await storage.list('certificates')) {
      const match = /^certificates\/([^/]+)\/bundle\.pem$/.exec(key);
      if (!match) continue;
      const id = match[1]!;
      const { certPem, keyPem } = await loadPair(storage, StorageKeys.leaf(id));
      const acme = id.startsWith('acme-');
      const users = (plan?.certificates ?? []).filter((wanted) => storedIdOf(wanted) === id && !(wanted.source === 'internal' && installedSites.size > 0 && installed.some((bundle) => bundleCovers(bundle, wanted.hosts)))).flatMap((wanted) => sitesOf(wanted.id));
      const row = certPem && describeCertificate(certPem, keyPem, acme ? 'acme' : 'internal', users);
      if (row) rows.push(row);
    }
    for (const bundle of installed) {
      const row = describeCertificate(bundle.certPem, bundle.keyPem, 'installed', installedSites.get(bundle.fingerprint256) ?? []);
      if (row) rows.push(row);
    }
    if (json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) process.stdout.write(`no certificates in ${where}\n`);
    else for (const row of rows) process.stdout.write(`${row.names.join(', ')}  until ${row.notAfter}  ${row.keyType}  ${row.source}  ${row.sites.length > 0 ? `sites: ${row.sites.join(', ')}` : 'no site'}  issuer: ${row.issuer}  sha256 ${row.fingerprint256}\n`);
    return 0;
  } finally {
    close();
  }
}

/** The storage id of a certificate plan's own stored leaf (an ACME one is the account's and the hosts'). */
function storedIdOf(wanted: CertificatePlan): string | undefined {
  if (wanted.source === 'internal') return wanted.id;
  if (wanted.source === 'acme') return acmeLeafId(wanted);
  return undefined;
}

/**
 * `portico cert renew [--site NAME] --config FILE`: issues new certificates now, under the same
 * lock as a running server's renewal (so a fleet still orders each once), and stores them;
 * every running instance on that store serves them within a few seconds.
 */
export async function certRenewCommand(siteName: string | undefined, configArg: string | undefined): Promise<number> {
  if (configArg === undefined) throw new PorticoError('ERR_USAGE', 'cert renew needs --config FILE: the sites to renew and where their certificates come from; see portico cert --help');
  const log = createLogger('cert', 'info');
  const { storage, plan, close } = await openStore(undefined, configArg, log);
  try {
    const sites = plan!.serving.sites.filter((site) => siteName === undefined || site.name === siteName);
    if (sites.length === 0) throw new PorticoError('ERR_USAGE', `there is no site named ${JSON.stringify(siteName)} in ${configArg}; sites: ${plan!.serving.sites.map((site) => site.name).join(', ')}`);
    const internal = new InternalIssuer(storage, log);
    for (const site of sites) {
      const wanted = plan!.certificates.find((certificate) => certificate.id === site.certificateId);
      if (wanted === undefined) continue;
      if (wanted.source === 'files') {
        process.stderr.write(`site ${site.name} serves its own files (${wanted.certFile}): replace them and run portico reload; nothing renewed for it\n`);
        continue;
      }
      const noPublish = (): void => undefined;
      const keyring = wanted.source === 'internal' ? new Keyring(storage, internal, wanted, log, noPublish) : await acmeKeyring(wanted, storage, log);
      const bundle = await keyring.renewStored();
      process.stdout.write(`renewed ${bundle.hosts.join(', ')} (site ${site.name}): sha256 ${bundle.fingerprint256}, valid until ${new Date(bundle.notAfter).toISOString()}; running instances on this store serve it within 5 s\n`);
    }
    return 0;
  } finally {
    close();
  }
}

/** An ACME order from the command line: challenge answers go into the store, where the running servers find them. */
async function acmeKeyring(wanted: Extract<CertificatePlan, { source: 'acme' }>, storage: Storage, log: Logger): Promise<Keyring> {
  const { AcmeCertificate } = await import('../../tls/acme/acme-certificate.js');
  return AcmeCertificate.keyring(wanted, storage, storedChallenges(storage), log, () => undefined);
}
