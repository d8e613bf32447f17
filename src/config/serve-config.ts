import { isIP } from 'node:net';
import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PorticoError } from '../errors.js';
import { isKeyType, KEY_TYPES, type KeyType } from '../tls/key-types.js';
import { parseDuration } from './duration.js';

/**
 * What `portico serve` runs, validated once in the primary and frozen. Workers receive this
 * object over IPC and never re-derive it, so every process serves the same plan.
 */
export interface ServeConfig {
  readonly root: string;
  /** 0 turns the listener off. */
  readonly httpPort: number;
  readonly httpsPort: number;
  /** Address to listen on; undefined listens on every interface, as nginx and Caddy do. */
  readonly bindAddress: string | undefined;
  /** Names and addresses the leaf certificate covers. */
  readonly hosts: readonly string[];
  readonly workers: number;
  readonly stateDir: string;
  readonly keyType: KeyType;
  readonly certLifetimeMs: number;
  /** How long a handshake that arrives before the certificate is ready is held. */
  readonly handshakeHoldMs: number;
  readonly shutdownGraceMs: number;
  /** List folders without a default document (otherwise 403). */
  readonly browse: boolean;
  readonly cacheControl: string;
  /** A client must send its request headers within this time (slowloris). */
  readonly headerTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  readonly keepAliveTimeoutMs: number;
}

/** The option values as the command line gave them: strings, unvalidated. */
export interface ServeArgs {
  root?: string;
  http?: string;
  https?: string;
  bind?: string;
  host?: string[];
  workers?: string;
  state?: string;
  'key-type'?: string;
  'cert-lifetime'?: string;
  'hold-timeout'?: string;
  browse?: boolean;
  'cache-control'?: string;
  'header-timeout'?: string;
}

export const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'] as const;
const SEVEN_DAYS_MS = 7 * 86_400_000;
const MIN_CERT_LIFETIME_MS = 2_000;

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME.length > 0 ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(dataHome, 'portico');
}

export function buildServeConfig(args: ServeArgs, cwd = process.cwd()): ServeConfig {
  const httpPort = parsePort('--http', args.http ?? '8080');
  const httpsPort = parsePort('--https', args.https ?? '8443');
  if (httpPort === 0 && httpsPort === 0) {
    throw new PorticoError('ERR_INVALID_OPTION', '--http and --https are both 0: there is nothing to serve; give at least one of them a port');
  }
  if (httpPort !== 0 && httpPort === httpsPort) {
    throw new PorticoError('ERR_INVALID_OPTION', `--http and --https are both ${httpPort}: give them different ports`);
  }
  return Object.freeze({
    root: resolve(cwd, args.root ?? '.'),
    httpPort,
    httpsPort,
    bindAddress: parseBindAddress(args.bind),
    hosts: Object.freeze(parseHosts(args.host)),
    workers: parseWorkers(args.workers),
    stateDir: resolve(cwd, args.state ?? defaultStateDir()),
    keyType: parseKeyType(args['key-type']),
    certLifetimeMs: parseDurationOption('--cert-lifetime', args['cert-lifetime'], SEVEN_DAYS_MS, MIN_CERT_LIFETIME_MS),
    handshakeHoldMs: parseDurationOption('--hold-timeout', args['hold-timeout'], 30_000, 1),
    shutdownGraceMs: 10_000,
    browse: args.browse ?? false,
    cacheControl: parseCacheControl(args['cache-control']),
    headerTimeoutMs: parseDurationOption('--header-timeout', args['header-timeout'], 20_000, 100),
    keepAliveTimeoutMs: 5_000,
  });
}

export function parsePort(flag: string, text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new PorticoError('ERR_INVALID_PORT', `${flag} ${JSON.stringify(text)} is not a port: use a number from 1 to 65535, or 0 to turn the listener off`);
  }
  return port;
}

function parseBindAddress(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (isIP(text) === 0) {
    throw new PorticoError('ERR_INVALID_OPTION', `--bind ${JSON.stringify(text)} is not an IP address (for example 127.0.0.1 or ::1)`);
  }
  return text;
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function parseHosts(hosts: string[] | undefined): string[] {
  if (hosts === undefined || hosts.length === 0) return [...DEFAULT_HOSTS];
  const unique = new Set<string>();
  for (const host of hosts) {
    const name = host.trim().toLowerCase();
    if (isIP(name) === 0 && !HOST_NAME.test(name)) {
      throw new PorticoError('ERR_INVALID_OPTION', `--host ${JSON.stringify(host)} is neither a host name nor an IP address`);
    }
    unique.add(name);
  }
  return [...unique];
}

function parseWorkers(text: string | undefined): number {
  if (text === undefined) return availableParallelism();
  const workers = /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
  if (!(workers >= 1 && workers <= 256)) {
    throw new PorticoError('ERR_INVALID_OPTION', `--workers ${JSON.stringify(text)} is not a worker count: use a number from 1 to 256`);
  }
  return workers;
}

function parseKeyType(text: string | undefined): KeyType {
  if (text === undefined) return 'ec-p256';
  if (!isKeyType(text)) {
    throw new PorticoError('ERR_INVALID_OPTION', `--key-type ${JSON.stringify(text)} is not a key type: use one of ${KEY_TYPES.join(', ')}`);
  }
  return text;
}

function parseCacheControl(text: string | undefined): string {
  // Revalidate every time: cheap with ETags (a 304), and a changed file is never served stale.
  if (text === undefined) return 'no-cache';
  if (!/^[\x20-\x7e]{1,512}$/.test(text)) {
    throw new PorticoError('ERR_INVALID_OPTION', `--cache-control ${JSON.stringify(text)} is not a header value (printable ASCII, e.g. "public, max-age=3600")`);
  }
  return text;
}

function parseDurationOption(flag: string, text: string | undefined, fallback: number, minimum: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms < minimum) {
    throw new PorticoError('ERR_INVALID_OPTION', `${flag} ${JSON.stringify(text)} is not a duration of at least ${minimum} ms (examples: 30s, 12h, 7d)`);
  }
  return ms;
}
