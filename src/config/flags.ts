import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ErrorCode } from '../errors.js';
import { certificateNames } from '../tls/certificate-names.js';
import { assemblePlan, checkFolder } from './assemble-plan.js';
import { isKeyType, KEY_TYPES, type KeyType } from '../tls/key-types.js';
import { parseDuration } from './duration.js';
import { type Binding, DEFAULT_LIMITS, NO_RULES, type Plan } from './plan.js';
import { FILE_LIMITS, readNamedFile } from './named-file.js';
import { PlanError, type Problem } from './problem.js';

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

export const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'] as const;
const MIN_CERT_LIFETIME_MS = 2_000;

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME.length > 0 ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(dataHome, 'portico');
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
  const httpPort = check('--http', 'ERR_INVALID_PORT', parsePort(flags.http ?? '8080'));
  const httpsPort = check('--https', 'ERR_INVALID_PORT', parsePort(flags.https ?? '8443'));
  if (httpPort === 'off' && httpsPort === 'off') problems.push({ path: '--http', problem: 'and --https are both off: there is nothing to serve; give at least one of them a port', code: 'ERR_INVALID_OPTION' });
  if (typeof httpPort === 'number' && httpPort !== 0 && httpPort === httpsPort) problems.push({ path: '--http', problem: `and --https are both ${httpPort}: give them different ports`, code: 'ERR_INVALID_OPTION' });
  const address = flags.bind === undefined ? undefined : check('--bind', 'ERR_INVALID_OPTION', parseBindAddress(flags.bind));
  if ((flags.cert === undefined) !== (flags.key === undefined)) problems.push({ path: flags.cert === undefined ? '--key' : '--cert', problem: `needs ${flags.cert === undefined ? '--cert' : '--key'} too: give the certificate and its private key`, code: 'ERR_INVALID_OPTION' });
  const own = flags.cert !== undefined && flags.key !== undefined ? { cert: resolve(cwd, flags.cert), key: resolve(cwd, flags.key) } : undefined;
  // With your own certificate, the names it covers are the site's names, unless --host says otherwise.
  const hosts = check('--host', 'ERR_INVALID_OPTION', parseHosts(flags.host ?? (own ? await namesInCertificateFile(own.cert) : undefined)));
  const workers = check('--workers', 'ERR_INVALID_OPTION', parseWorkers(flags.workers));
  const keyType = check('--key-type', 'ERR_INVALID_OPTION', parseKeyType(flags['key-type'] ?? 'ec-p256'));
  const lifetimeMs = check('--cert-lifetime', 'ERR_INVALID_OPTION', parseDurationOption(flags['cert-lifetime'] ?? '7d', MIN_CERT_LIFETIME_MS));
  const handshakeHoldMs = check('--hold-timeout', 'ERR_INVALID_OPTION', parseDurationOption(flags['hold-timeout'] ?? '30s', 1));
  // Revalidate every time by default: cheap with ETags (a 304), and a changed file is never served stale.
  const cacheControl = check('--cache-control', 'ERR_INVALID_OPTION', parseHeaderValue(flags['cache-control'] ?? 'no-cache'));
  const headerTimeoutMs = check('--header-timeout', 'ERR_INVALID_OPTION', parseDurationOption(flags['header-timeout'] ?? '20s', 100));
  const sendTimeoutMs = check('--send-timeout', 'ERR_INVALID_OPTION', parseDurationOption(flags['send-timeout'] ?? '60s', 100));
  const logFormat = check('--log-format', 'ERR_INVALID_OPTION', parseLogFormat(flags['log-format'] ?? 'text'));
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
  const shutdownGraceMs = 10_000;
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
      sites: [{ name: 'default', hosts: hosts!, isDefault: true, root, browse: flags.browse ?? false, cacheControl: cacheControl!, tls: own ?? 'internal', log: undefined, vdirs: [], proxy: [], rules: {
            ...NO_RULES,
            auth: [],
            tryFiles: flags.spa ? ['{path}', '/index.html'] : undefined,
            headers: headers!.length > 0 ? [{ path: '/**', always: true, caseSensitive: undefined, set: {}, add: Object.fromEntries(headers!), remove: [] }] : [],
            cors: origins!.length > 0 ? { origins: origins!, methods: ['GET', 'HEAD', 'POST'], headers: undefined, credentials: false, maxAge: undefined } : undefined,
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

/** A parsed value, or what is wrong with the text (written to follow the flag's name). */
export type Parsed<T> = { readonly value: T } | { readonly problem: string };

/** A port number, 0 for any free port, or `off`. */
export function parsePort(text: string): Parsed<number | 'off'> {
  if (text === 'off') return { value: 'off' };
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (port >= 0 && port <= 65535) return { value: port };
  return { problem: `${JSON.stringify(text)} is not a port: use a number from 1 to 65535, 0 for any free port, or off to turn the listener off` };
}

export function parseBindAddress(text: string): Parsed<string> {
  return isIP(text) === 0 ? { problem: `${JSON.stringify(text)} is not an IP address (for example 127.0.0.1 or ::1)` } : { value: text };
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Names and addresses for a certificate: lower-cased, de-duplicated. */
export function parseHosts(hosts: readonly string[] | undefined): Parsed<string[]> {
  if (hosts === undefined || hosts.length === 0) return { value: [...DEFAULT_HOSTS] };
  const unique = new Set<string>();
  for (const host of hosts) {
    const parsed = parseHostName(host);
    if ('problem' in parsed) return parsed;
    unique.add(parsed.value);
  }
  return { value: [...unique] };
}

/**
 * One name a site answers and its certificate covers: a DNS name, a `*.` wildcard over one
 * label (as in certificates), or an IP address; lower-cased. `*` (any name) is for on-demand
 * sites, which the plan checks. IPv6 zone ids are refused (a
 * certificate cannot name one).
 */
export function parseHostName(host: string): Parsed<string> {
  const name = host.trim().toLowerCase();
  if (name.includes('%')) return { problem: `${JSON.stringify(host)} has an IPv6 zone id (%...), which a certificate cannot name: give the address without it` };
  if (isIP(name) !== 0 || name === '*') return { value: name };
  const bare = name.startsWith('*.') ? name.slice(2) : name;
  if (!HOST_NAME.test(bare) || (bare !== name && !bare.includes('.'))) return { problem: `${JSON.stringify(host)} is neither a host name, a *.name wildcard over one label, nor an IP address` };
  return { value: name };
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

export function parseLogFormat(text: string): Parsed<'text' | 'json'> {
  return text === 'text' || text === 'json' ? { value: text } : { problem: `${JSON.stringify(text)} is not a log format: use text or json` };
}

function parseWorkers(text: string | undefined): Parsed<number> {
  if (text === undefined) return { value: availableParallelism() };
  const workers = /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
  return workers >= 1 && workers <= 256 ? { value: workers } : { problem: `${JSON.stringify(text)} is not a worker count: use a number from 1 to 256` };
}

export function parseKeyType(text: string): Parsed<KeyType> {
  return isKeyType(text) ? { value: text } : { problem: `${JSON.stringify(text)} is not a key type: use one of ${KEY_TYPES.join(', ')}` };
}

export function parseHeaderValue(text: string): Parsed<string> {
  return /^[\x20-\x7e]{1,512}$/.test(text) ? { value: text } : { problem: `${JSON.stringify(text)} is not a header value (printable ASCII, e.g. "public, max-age=3600")` };
}

export function parseDurationOption(text: string, minimum: number): Parsed<number> {
  const ms = parseDuration(text);
  return ms !== undefined && ms >= minimum ? { value: ms } : { problem: `${JSON.stringify(text)} is not a duration of at least ${minimum} ms (examples: 30s, 12h, 7d)` };
}
