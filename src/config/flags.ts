import { X509Certificate } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { ErrorCode } from '../errors.js';
import { certificateNames } from '../tls/certificate-names.js';
import { assemblePlan } from './assemble-plan.js';
import { checkFolder } from './folder-check.js';
import { DEFAULT_LIMITS, DEFAULTS, defaultMs, defaultStateDir, MINIMUM_MS } from './defaults.js';
import { type Binding, type Plan } from './plan.js';
import { FILE_LIMITS, readNamedFile } from './named-file.js';
import { PlanError, type Problem } from './problem.js';
import { type Parsed, parseBindAddress, parseDurationOption, parseHeaderValue, parseHosts, parseKeyType, parseLogFormat, parsePort } from './values.js';

/** The flag values of `portico serve`, defaults filled in, still unvalidated strings. */
export interface ServeFlags {
  readonly root?: string;
  readonly http?: string;
  readonly https?: string;
  readonly bind?: string;
  readonly host?: readonly string[];
  readonly workers?: string;
  readonly state?: string;
  readonly 'key-type'?: string;
  readonly 'cert-lifetime'?: string;
  readonly 'hold-timeout'?: string;
  readonly browse?: boolean;
  readonly 'cache-control'?: string;
  readonly 'header-timeout'?: string;
  readonly 'send-timeout'?: string;
  readonly 'log-format'?: string;
  readonly spa?: boolean;
  readonly cert?: string;
  readonly key?: string;
  readonly cors?: readonly string[];
  readonly header?: readonly string[];
}

/**
 * Builds the Plan for flag mode: one site, served on the plain and TLS bindings the flags name.
 * Collects every problem before failing, so the user sees them all at once (PlanError).
 */
export async function planFromFlags(flags: ServeFlags, cwd = process.cwd()): Promise<Plan> {
  const problems: Problem[] = [];
  const check = <T>(path: string, code: ErrorCode, parsed: Parsed<T>): T | undefined => {
    if ('value' in parsed) return parsed.value;
    problems.push({ path, problem: parsed.problem, code });
    return undefined;
  };
  const httpPort = check('--http', 'ERR_INVALID_PORT', parsePort(flags.http ?? String(DEFAULTS.http)));
  const httpsPort = check('--https', 'ERR_INVALID_PORT', parsePort(flags.https ?? String(DEFAULTS.https)));
  if (httpPort === 'off' && httpsPort === 'off') problems.push({ path: '--http', problem: 'and --https are both off: there is nothing to serve; give at least one of them a port', code: 'ERR_INVALID_OPTION' });
  if (typeof httpPort === 'number' && httpPort !== 0 && httpPort === httpsPort) problems.push({ path: '--http', problem: `and --https are both ${httpPort}: give them different ports`, code: 'ERR_INVALID_OPTION' });
  const address = flags.bind === undefined ? undefined : check('--bind', 'ERR_INVALID_OPTION', parseBindAddress(flags.bind));
  if ((flags.cert === undefined) !== (flags.key === undefined)) problems.push({ path: flags.cert === undefined ? '--key' : '--cert', problem: `needs ${flags.cert === undefined ? '--cert' : '--key'} too: give the certificate and its private key`, code: 'ERR_INVALID_OPTION' });
  const own = flags.cert !== undefined && flags.key !== undefined ? { cert: resolve(cwd, flags.cert), key: resolve(cwd, flags.key) } : undefined;
  // With your own certificate, the names it covers are the site's names, unless --host says otherwise.
  const named = flags.host ?? (own ? await namesInCertificateFile(own.cert) : undefined);
  const hosts = check('--host', 'ERR_INVALID_OPTION', parseHosts(named !== undefined && named.length > 0 ? named : DEFAULTS.hosts));
  const workers = check('--workers', 'ERR_INVALID_OPTION', parseWorkers(flags.workers));
  const keyType = check('--key-type', 'ERR_INVALID_OPTION', parseKeyType(flags['key-type'] ?? DEFAULTS.keyType));
  const lifetimeMs = check('--cert-lifetime', 'ERR_INVALID_OPTION', parseDurationOption(flags['cert-lifetime'] ?? DEFAULTS.certLifetime, MINIMUM_MS.certLifetime));
  const handshakeHoldMs = check('--hold-timeout', 'ERR_INVALID_OPTION', parseDurationOption(flags['hold-timeout'] ?? DEFAULTS.limits.handshakeHold, MINIMUM_MS.handshakeHold));
  const cacheControl = check('--cache-control', 'ERR_INVALID_OPTION', parseHeaderValue(flags['cache-control'] ?? DEFAULTS.cacheControl));
  const headerTimeoutMs = check('--header-timeout', 'ERR_INVALID_OPTION', parseDurationOption(flags['header-timeout'] ?? DEFAULTS.limits.headerTimeout, MINIMUM_MS.headerTimeout));
  const sendTimeoutMs = check('--send-timeout', 'ERR_INVALID_OPTION', parseDurationOption(flags['send-timeout'] ?? DEFAULTS.limits.sendTimeout, MINIMUM_MS.sendTimeout));
  const logFormat = check('--log-format', 'ERR_INVALID_OPTION', parseLogFormat(flags['log-format'] ?? DEFAULTS.logFormat));
  const headers = check('--header', 'ERR_INVALID_OPTION', parseHeaderFlags(flags.header ?? []));
  const origins = check('--cors', 'ERR_INVALID_OPTION', parseOrigins(flags.cors ?? []));
  const root = resolve(cwd, flags.root ?? '.');
  if (problems.length > 0) {
    // The folder is checked too, so every problem is reported at once.
    await checkFolder(root, '', (path, problem, code) => problems.push({ path, problem, code }));
    throw new PlanError(problems);
  }

  const bindings: Binding[] = [];
  if (typeof httpPort === 'number') bindings.push({ name: 'http', port: httpPort, address, tls: false, setting: '--http' });
  if (typeof httpsPort === 'number') bindings.push({ name: 'https', port: httpsPort, address, tls: true, setting: '--https' });
  const shutdownGraceMs = defaultMs(DEFAULTS.limits.shutdownGrace);
  // Flag mode is one default site, through the same assembly as a config file.
  const plan = await assemblePlan(
    {
      workers: workers!,
      stateDir: resolve(cwd, flags.state ?? defaultStateDir()),
      bindings,
      limits: { ...DEFAULT_LIMITS, headerTimeoutMs: headerTimeoutMs!, handshakeHoldMs: handshakeHoldMs!, sendTimeoutMs: sendTimeoutMs! },
      shutdownGraceMs,
      keyType: keyType!,
      certLifetimeMs: lifetimeMs!,
      logFormat: logFormat!,
      configFile: undefined,
      trustedProxies: [],
      sites: [{ name: 'default', hosts: hosts!, isDefault: true, root, browse: flags.browse ?? false, cacheControl: cacheControl!, tls: own ?? 'internal', log: undefined, vdirs: [], proxy: [], routes: [], rules: {
            tryFiles: flags.spa ? ['{path}', '/index.html'] : undefined,
            symlinks: 'inside',
            // The rule keys a config file would have, planned by their kinds.
            written: {
              ...(headers!.length > 0 ? { headers: [{ path: '/**', always: true, add: Object.fromEntries(headers!) }] } : {}),
              ...(origins!.length > 0 ? { cors: { origins: origins! } } : {}),
            },
          } }],
    },
    // The site-level problems flags can cause: the folder (the command's argument) and own certificate files.
    (path, problem, code) => problems.push({ path: FLAG_OF[path] ?? path, problem, code }),
  );
  if (!plan) throw new PlanError(problems);
  return plan;
}

const FLAG_OF: Record<string, string> = { 'sites[0].root': '', 'sites[0].tls.cert': '--cert', 'sites[0].tls.key': '--key' };

/** The DNS names and IP addresses a certificate file names; undefined if it cannot be read (the check reports it). */
async function namesInCertificateFile(file: string): Promise<string[] | undefined> {
  try {
    const names = certificateNames(new X509Certificate(await readNamedFile(file, FILE_LIMITS.pem)));
    return names.length > 0 ? names : undefined;
  } catch {
    return undefined;
  }
}

/** `--header 'Name: value'`, each a header name and a value without line breaks. */
function parseHeaderFlags(values: readonly string[]): Parsed<[string, string][]> {
  const headers: [string, string][] = [];
  for (const value of values) {
    const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*([\x20-\x7e\t]*)$/.exec(value);
    if (!match) return { problem: `${JSON.stringify(value)} is not 'Name: value' (a header name, a colon, a value on one line)` };
    headers.push([match[1]!.toLowerCase(), match[2]!.trim()]);
  }
  return { value: headers };
}

function parseOrigins(values: readonly string[]): Parsed<string[]> {
  const bad = values.find((origin) => origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin));
  return bad === undefined ? { value: [...values] } : { problem: `${JSON.stringify(bad)} is not an origin: write scheme and host, such as https://app.example.test, or *` };
}

function parseWorkers(text: string | undefined): Parsed<number> {
  if (text === undefined) return { value: availableParallelism() };
  const workers = /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
  return workers >= 1 && workers <= 256 ? { value: workers } : { problem: `${JSON.stringify(text)} is not a worker count: use a number from 1 to 256` };
}
