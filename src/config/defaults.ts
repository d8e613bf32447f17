import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Limits } from './plan.js';
import { parseDuration, parseSize } from './values.js';

/**
 * Every default a user can meet, written once, as the user would write the value: the config
 * schema's descriptions (and so portico.schema.json), `portico serve`'s flags and `--help`, and
 * the config loader all read them here. A default that is computed (the number of CPUs, the state
 * folder) is a function or is said in words where it is shown.
 */
export const DEFAULTS = {
  http: 8080,
  https: 8443,
  hosts: ['localhost', '127.0.0.1', '::1'],
  workers: 'the number of CPUs',
  keyType: 'ec-p256',
  certLifetime: '7d',
  logFormat: 'text',
  /** Revalidate every time: cheap with ETags (a 304), and a changed file is never served stale. */
  cacheControl: 'no-cache',
  limits: {
    headerTimeout: '20s',
    keepAliveTimeout: '5s',
    sendTimeout: '60s',
    bodyTimeout: '60s',
    handshakeHold: '30s',
    http2IdleTimeout: '120s',
    shutdownGrace: '10s',
    maxBodySize: '1MiB',
    maxHeaderSize: '16KiB',
    maxRequestsPerConnection: 10_000,
    maxConnections: 0,
    maxConnectionsPerAddress: 256,
    http2MaxStreams: 100,
  },
  acme: {
    /** Let's Encrypt's production directory (its staging one is in docs/certificates.md). */
    directory: 'https://acme-v02.api.letsencrypt.org/directory',
    challenges: ['http-01', 'tls-alpn-01'],
  },
  onDemand: { ratePerMinute: 10, concurrency: 4, max: 1000 },
  proxy: {
    balance: 'round_robin',
    healthInterval: '5s',
    connect: '5s',
    response: '60s',
    idle: '5m',
    downFor: '5s',
    host: 'keep',
    via: false,
    rewriteLocation: true,
  },
  redis: { prefix: 'portico', lease: '10s' },
  cors: { methods: ['GET', 'HEAD', 'POST'] },
} as const;

/** The shortest each duration may be, in milliseconds, whether it is a flag or a config key. */
export const MINIMUM_MS = {
  certLifetime: 2_000,
  headerTimeout: 100,
  keepAliveTimeout: 100,
  sendTimeout: 100,
  bodyTimeout: 100,
  handshakeHold: 1,
  http2IdleTimeout: 100,
  shutdownGrace: 0,
  proxyTimeout: 1,
  healthInterval: 100,
  downFor: 0,
  lease: 500,
} as const;

/** `$XDG_DATA_HOME/portico`, else `~/.local/share/portico`. */
export const DEFAULT_STATE_DIR_TEXT = '$XDG_DATA_HOME/portico or ~/.local/share/portico';

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME.length > 0 ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(dataHome, 'portico');
}

/** A default duration in milliseconds; a default that does not parse stops Portico at load, in every test. */
export function defaultMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`the default ${JSON.stringify(text)} is not a duration`);
  return ms;
}

function defaultBytes(text: string): number {
  const parsed = parseSize(text);
  if ('problem' in parsed) throw new Error(`the default ${parsed.problem}`);
  return parsed.value;
}

/** The limits every site gets unless the config file's `limits` (or a flag) says otherwise. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  headerTimeoutMs: defaultMs(DEFAULTS.limits.headerTimeout),
  handshakeHoldMs: defaultMs(DEFAULTS.limits.handshakeHold),
  keepAliveTimeoutMs: defaultMs(DEFAULTS.limits.keepAliveTimeout),
  maxHeaderBytes: defaultBytes(DEFAULTS.limits.maxHeaderSize),
  maxRequestTargetBytes: 8 * 1024,
  maxHttp2Streams: DEFAULTS.limits.http2MaxStreams,
  http2IdleTimeoutMs: defaultMs(DEFAULTS.limits.http2IdleTimeout),
  sendTimeoutMs: defaultMs(DEFAULTS.limits.sendTimeout),
  bodyTimeoutMs: defaultMs(DEFAULTS.limits.bodyTimeout),
  maxBodyBytes: defaultBytes(DEFAULTS.limits.maxBodySize),
  maxRequestsPerConnection: DEFAULTS.limits.maxRequestsPerConnection,
  maxConnections: DEFAULTS.limits.maxConnections,
  maxConnectionsPerAddress: DEFAULTS.limits.maxConnectionsPerAddress,
  maxHttp2ResetsPer10s: 200,
});
