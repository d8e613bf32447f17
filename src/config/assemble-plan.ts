import { dirname } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { type ErrorCode, isPorticoError, describeError, systemErrorCode } from '../errors.js';
import type { KeyType } from '../tls/key-types.js';
import { leafId } from '../tls/storage/storage-keys.js';
import { certificateCovers } from '../tls/certificate-names.js';
import { readPassphrase } from '../tls/passphrase.js';
import { readCaBundle } from './ca-bundle.js';
import { checkFolder } from './folder-check.js';
import { codeOf, renderPath, type Report } from './problem.js';
import { describeReadError, FILE_LIMITS, readNamedFile } from './named-file.js';
import type { SiteRulesInput } from './site-rules-config.js';
import { findKind } from '../routes/registry.js';
import { type PlannedRules, planSiteRules } from '../routes/site-rules-route.js';
import { type AccessLogPlan, type Binding, type CertificatePlan, freezePlan, type Limits, type Plan, type ProxyRoute, type RoutePlan, type SitePlan, type StoragePlan } from './plan.js';

/**
 * What a config file or the command-line flags say, parsed but not yet checked against the disk
 * or against itself. Both modes build one of these and go through `assemblePlan`: one code path
 * from what the user wrote to a Plan.
 */
export interface PlanInput {
  readonly workers: number;
  readonly stateDir: string;
  readonly bindings: readonly Binding[];
  readonly limits: Limits;
  readonly shutdownGraceMs: number;
  readonly keyType: KeyType;
  readonly certLifetimeMs: number;
  readonly logFormat: 'text' | 'json';
  readonly configFile: string | undefined;
  readonly trustedProxies: readonly string[];
  readonly sites: readonly SiteInput[];
  /** Default: the state folder. */
  readonly storage?: StoragePlan;
  readonly tlsGroups?: readonly string[];
  /** Where each site is in the config file's `sites`, when some were left out; problems name that place. */
  readonly siteIndexes?: readonly number[];
}

/** A site as the user described it: its certificate as a source, not yet an id. */
export interface SiteInput extends Omit<SitePlan, 'certificateId' | 'accessLog' | 'trustedProxies' | 'rules' | 'onDemand' | 'proxy' | 'routes'> {
  /** The `routes` key as checked by the schema: each handler's config as written, planned by its kind here. */
  readonly routes: readonly RoutePlan[];
  readonly proxy: readonly ProxyInput[];
  readonly tls: 'internal' | { readonly cert: string; readonly key: string; readonly passphraseFile?: string } | { readonly acme: AcmeInput };
  /** On-demand TLS (tls.onDemand); its certificates come from `tls` (internal or acme). */
  readonly onDemand?: { readonly ask: string; readonly ratePerMinute: number; readonly concurrency: number; readonly max: number };
  readonly log: AccessLogPlan | undefined;
  readonly rules: SiteRulesInput;
}

/** A proxy route as written: its `ca` still a file to read. */
export interface ProxyInput extends Omit<ProxyRoute, 'ca'> {
  readonly caFile: string | undefined;
}

export interface AcmeInput {
  readonly directory: string;
  readonly email: string | undefined;
  readonly caFile: string | undefined;
  readonly challenges: readonly ('http-01' | 'tls-alpn-01')[];
}

/**
 * Each route's handlers planned by their kinds (files read, values parsed), and every `tryFiles`
 * `@name` checked against the routes' names by the caller.
 */
async function planRoutes(routes: readonly RoutePlan[], at: string, base: string, fail: Report): Promise<readonly RoutePlan[]> {
  const planned: RoutePlan[] = [];
  const names = new Map<string, number>();
  for (const [i, route] of routes.entries()) {
    if (route.name !== undefined) {
      const before = names.get(route.name);
      if (before !== undefined) fail(`${at}[${i}].name`, `${route.name} is already the name of ${at}[${before}]; give each route its own name`, 'ERR_CONFIG_CONFLICT');
      else names.set(route.name, i);
    }
    const handle = [];
    for (const [j, entry] of route.handle.entries()) {
      const kind = findKind(entry.kind);
      const place = `${at}[${i}].handle[${j}].${entry.kind}`;
      if (kind === undefined) {
        fail(place, `is not a kind of handler`, 'ERR_CONFIG_INVALID');
        continue;
      }
      const report = (key: readonly (string | number)[], problem: string, code: ErrorCode = 'ERR_CONFIG_INVALID'): void => fail(renderPath([place, ...key]), problem, code);
      handle.push({ kind: entry.kind, config: kind.plan === undefined ? entry.config : await kind.plan(entry.config, { base, report }) });
    }
    planned.push({ ...route, handle });
  }
  return planned;
}

/**
 * Checks what needs the disk or the whole configuration (folders exist, names and hosts are
 * unique, one default, certificate files match their key and cover the site's hosts, log folders
 * can be written), reporting every problem, and returns the frozen Plan, or undefined if anything
 * was reported.
 */
export async function assemblePlan(input: PlanInput, report: Report): Promise<Plan | undefined> {
  let failed = false;
  const fail: Report = (path, problem, code) => {
    failed = true;
    report(path, problem, code);
  };
  const names = new Map<string, number>();
  const hosts = new Map<string, number>();
  let defaultAt: number | undefined;
  const plannedRules = new Map<SiteInput, PlannedRules>();
  const proxyCas = new Map<SiteInput, Map<ProxyInput, string>>();
  const plannedRoutes = new Map<SiteInput, readonly RoutePlan[]>();
  const place = (i: number): string => `sites[${input.siteIndexes?.[i] ?? i}]`;
  for (const [i, site] of input.sites.entries()) {
    const at = place(i);
    const before = names.get(site.name);
    if (before !== undefined) fail(`${at}.name`, `${JSON.stringify(site.name)} is already the name of ${place(before)}; give each site its own name`, 'ERR_CONFIG_CONFLICT');
    else names.set(site.name, i);
    for (const [j, host] of site.hosts.entries()) {
      const owner = hosts.get(host);
      if (owner !== undefined && owner !== i) fail(`${at}.hosts[${j}]`, `${host} is claimed by ${place(owner)} (${input.sites[owner]!.name}) too; a name can belong to one site only`, 'ERR_CONFIG_CONFLICT');
      else hosts.set(host, i);
    }
    if (site.hosts.includes('*') && site.onDemand === undefined) fail(`${at}.hosts[${site.hosts.indexOf('*')}]`, '* matches any name, and only on-demand TLS can have a certificate for any name: add tls: { onDemand: { ask: URL } }, or list the names (default: true answers every other Host)', 'ERR_CONFIG_INVALID');
    if (site.onDemand !== undefined && !site.hosts.some((host) => host === '*' || host.startsWith('*.'))) fail(`${at}.tls.onDemand`, 'needs a host pattern to match names against: add * (any name) or *.example.test to the hosts', 'ERR_CONFIG_INVALID');
    if (site.isDefault) {
      if (defaultAt !== undefined) fail(`${at}.default`, `${place(defaultAt)} (${input.sites[defaultAt]!.name}) is the default site already; at most one site can be default: true`, 'ERR_CONFIG_CONFLICT');
      else defaultAt = i;
    }
    if (site.root !== undefined) await checkFolder(site.root, `${at}.root`, fail);
    else if (!site.proxy.some((route) => route.path === '/')) fail(`${at}.root`, 'is missing: add the folder this site serves, or proxy every path (proxy: [{ path: /, to: [http://127.0.0.1:3000] }])', 'ERR_CONFIG_INVALID');
    const proxyCa = new Map<ProxyInput, string>();
    for (const [j, route] of site.proxy.entries()) {
      if (route.caFile === undefined) continue;
      const pem = await readCaFile(route.caFile, `${at}.proxy[${j}].ca`, fail);
      if (pem !== undefined) proxyCa.set(route, pem);
    }
    if (site.tls !== 'internal' && 'acme' in site.tls && site.tls.acme.caFile !== undefined) await readCaFile(site.tls.acme.caFile, `${at}.tls.acme.ca`, fail);
    proxyCas.set(site, proxyCa);
    const prefixes = new Set<string>();
    for (const [j, vdir] of site.vdirs.entries()) {
      if (!/^\/[^?#]*[^/?#]$/.test(vdir.path)) fail(`${at}.vdirs[${j}].path`, `${JSON.stringify(vdir.path)} is not a URL prefix; start it with / and leave off a trailing / (for example /downloads)`, 'ERR_INVALID_OPTION');
      else if (prefixes.has(vdir.path)) fail(`${at}.vdirs[${j}].path`, `${vdir.path} is mapped twice; keep one of them`, 'ERR_CONFIG_CONFLICT');
      prefixes.add(vdir.path);
      await checkFolder(vdir.root, `${at}.vdirs[${j}].root`, fail);
    }
    if (site.tls !== 'internal' && !('acme' in site.tls) && input.bindings.some((binding) => binding.tls)) await checkCertificateFiles(site.tls, site.hosts, `${at}.tls`, fail);
    if (site.log) await checkLogFolder(site.log.dir, `${at}.log.dir`, fail);
    const base = input.configFile === undefined ? process.cwd() : dirname(input.configFile);
    // The rule keys, each planned by its kind (values checked, htpasswd files read).
    plannedRules.set(site, await planSiteRules(site.rules.written, (key) => ({ base, report: (path, problem, code = 'ERR_CONFIG_INVALID') => fail(renderPath([`${at}.${key}`, ...path]), problem, code) })));
    plannedRoutes.set(site, await planRoutes(site.routes, `${at}.routes`, base, fail));
  }
  if (failed) return undefined;

  const tls = input.bindings.some((binding) => binding.tls);
  const certificates: CertificatePlan[] = [];
  const sites: SitePlan[] = input.sites.map((site) => {
    let certificateId: string | undefined;
    // An on-demand site's patterns get a certificate per name as names arrive; only its own names get one now.
    const named = site.onDemand === undefined ? site.hosts : site.hosts.filter((host) => host !== '*' && !host.startsWith('*.'));
    if (tls && named.length > 0) {
      const certificate: CertificatePlan =
        site.tls === 'internal'
          ? { source: 'internal', id: leafId(named, input.keyType), hosts: named, keyType: input.keyType, lifetimeMs: input.certLifetimeMs }
          : 'acme' in site.tls
            ? { source: 'acme', id: `acme-site-${site.name}`, hosts: named, keyType: input.keyType, lifetimeMs: input.certLifetimeMs, ...site.tls.acme }
            : { source: 'files', id: `files-${site.name}`, hosts: site.hosts, certFile: site.tls.cert, keyFile: site.tls.key, ...(site.tls.passphraseFile ? { passphraseFile: site.tls.passphraseFile } : {}) };
      certificates.push(certificate);
      certificateId = certificate.id;
    }
    return {
      name: site.name,
      hosts: site.hosts,
      isDefault: site.isDefault,
      root: site.root,
      browse: site.browse,
      cacheControl: site.cacheControl,
      vdirs: site.vdirs,
      certificateId,
      accessLog: site.log,
      onDemand: site.onDemand !== undefined,
      proxy: site.proxy.map((route) => {
        const { caFile: _caFile, ...rest } = route;
        return { ...rest, ca: proxyCas.get(site)?.get(route) };
      }),
      trustedProxies: input.trustedProxies,
      routes: plannedRoutes.get(site) ?? [],
      rules: { tryFiles: site.rules.tryFiles, symlinks: site.rules.symlinks, ...plannedRules.get(site)! },
    };
  });
  return freezePlan({
    workers: input.workers,
    shutdownGraceMs: input.shutdownGraceMs,
    stateDir: input.stateDir,
    certificates,
    configFile: input.configFile,
    logFormat: input.logFormat,
    storage: input.storage ?? { kind: 'files' },
    onDemand: input.sites.flatMap((site) =>
      site.onDemand === undefined ? [] : [{ site: site.name, ...site.onDemand, keyType: input.keyType, lifetimeMs: input.certLifetimeMs, acme: site.tls !== 'internal' && 'acme' in site.tls ? site.tls.acme : undefined }],
    ),
    serving: { bindings: input.bindings, sites, limits: input.limits, shutdownGraceMs: input.shutdownGraceMs, answersAcme: certificates.some((certificate) => certificate.source === 'acme') || input.sites.some((site) => site.onDemand !== undefined && site.tls !== 'internal' && 'acme' in site.tls), ...(input.tlsGroups ? { tlsGroups: input.tlsGroups } : {}) },
  });
}


/** Own certificate files: readable PEM, the key belongs to the certificate, and it covers every host. */
async function checkCertificateFiles(files: { cert: string; key: string; passphraseFile?: string }, hosts: readonly string[], at: string, fail: Report): Promise<void> {
  let cert: X509Certificate | undefined;
  let key: ReturnType<typeof createPrivateKey> | undefined;
  try {
    cert = new X509Certificate(await readNamedFile(files.cert, FILE_LIMITS.pem));
  } catch (error) {
    fail(`${at}.cert`, `${isPorticoError(error) ? error.message : `${files.cert} ${systemErrorCode(error) === 'ENOENT' ? 'does not exist' : 'is not a PEM certificate'}`}; give the certificate file (PEM, leaf first)`, codeOf(error, 'ERR_CERTIFICATE_FILES'));
  }
  let passphrase: string | undefined;
  if (files.passphraseFile) {
    try {
      passphrase = await readPassphrase(files.passphraseFile);
    } catch (error) {
      fail(`${at}.passphraseFile`, `${describeReadError(files.passphraseFile, error)}; give the file holding the key's passphrase`, codeOf(error, 'ERR_CERTIFICATE_FILES'));
      return;
    }
  }
  let keyText = '';
  try {
    keyText = (await readNamedFile(files.key, FILE_LIMITS.pem)).toString('latin1');
    key = createPrivateKey({ key: keyText, ...(passphrase !== undefined ? { passphrase } : {}) });
  } catch (error) {
    // OpenSSL's errors for a missing passphrase vary by version: the PEM header says it plainly.
    const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyText);
    const why =
      systemErrorCode(error) === 'ENOENT'
        ? "does not exist; give the certificate's private key (PEM)"
        : encrypted && passphrase === undefined
          ? 'is encrypted; add passphraseFile: FILE with its passphrase'
          : encrypted
            ? 'cannot be decrypted with the passphrase in passphraseFile; check that file'
            : "is not a PEM private key; give the certificate's private key (PEM)";
    fail(`${at}.key`, isPorticoError(error) ? `${error.message}; give the certificate's private key (PEM)` : `${files.key} ${why}`, codeOf(error, 'ERR_CERTIFICATE_FILES'));
  }
  if (!cert || !key) return;
  if (!cert.checkPrivateKey(key)) return fail(`${at}.key`, `${files.key} is not the private key of ${files.cert}; give the key the certificate was issued for`, 'ERR_CERTIFICATE_FILES');
  const uncovered = hosts.filter((host) => !certificateCovers(cert, host));
  if (uncovered.length > 0) fail(`${at}.cert`, `${files.cert} does not cover ${uncovered.join(', ')}; use a certificate issued for every host of the site, or tls: internal`, 'ERR_CERTIFICATE_FILES');
}

/** A PEM bundle of CA certificates (a proxy route's or an ACME directory's `ca`), or undefined after reporting why not. */
function readCaFile(file: string, at: string, fail: Report): Promise<string | undefined> {
  return readCaBundle(file, (problem, code) => fail(at, problem, code));
}

async function checkLogFolder(dir: string, at: string, fail: Report): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    fail(at, `${dir} cannot be created or written (${systemErrorCode(error) ?? describeError(error)}); make it writable by the user Portico runs as, or choose another folder`, 'ERR_LOG_DIR');
  }
}
