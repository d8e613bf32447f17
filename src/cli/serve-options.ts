import type { ParseArgsConfig } from 'node:util';
import { DEFAULT_STATE_DIR_TEXT, DEFAULTS } from '../config/defaults.js';
import { KEY_TYPES } from '../tls/key-types.js';

/**
 * `portico serve`'s options, each declared once: this table builds the argument parser, the
 * `--help` text and the defaults (from src/config/defaults.ts). Values stay strings here;
 * src/config/flags.ts validates them.
 */
export interface OptionSpec {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The value's placeholder in --help (`PORT`). */
  readonly value?: string;
  /** The value used when the flag is absent; undefined when the default is computed. */
  readonly default?: string;
  /** How --help describes the default, where it is not simply `default`. */
  readonly defaultText?: string;
  readonly help: string;
}

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { name: 'config', type: 'string', value: 'FILE', help: 'serve the sites of this config file (YAML or JSON; see docs/config.md) instead of ROOT and the flags below' },
  { name: 'http', type: 'string', value: 'PORT', default: String(DEFAULTS.http), help: 'plain HTTP port; 0: any free port; off: no plain HTTP' },
  { name: 'https', type: 'string', value: 'PORT', default: String(DEFAULTS.https), help: 'HTTPS port, HTTP/2 and HTTP/1.1; 0: any free port; off: no HTTPS' },
  { name: 'bind', type: 'string', value: 'ADDRESS', defaultText: 'every interface', help: 'listen on this IP address only' },
  { name: 'host', type: 'string', multiple: true, value: 'NAME', defaultText: DEFAULTS.hosts.join(', '), help: 'a name or IP address the certificate covers; repeat for more (replaces the defaults)' },
  { name: 'cert', type: 'string', value: 'FILE', defaultText: 'a certificate from the internal CA', help: 'serve your own certificate (PEM chain, leaf first); needs --key' },
  { name: 'key', type: 'string', value: 'FILE', help: 'the private key of --cert (PEM)' },
  { name: 'workers', type: 'string', value: 'N', defaultText: DEFAULTS.workers, help: 'worker processes' },
  { name: 'state', type: 'string', value: 'DIR', defaultText: DEFAULT_STATE_DIR_TEXT, help: 'where keys and certificates live' },
  { name: 'key-type', type: 'string', value: 'TYPE', default: DEFAULTS.keyType, help: `certificate key: ${KEY_TYPES.join(' | ')}` },
  { name: 'cert-lifetime', type: 'string', value: 'TIME', default: DEFAULTS.certLifetime, help: 'certificate lifetime, renewed at two thirds (e.g. 12h, 90s)' },
  { name: 'hold-timeout', type: 'string', value: 'TIME', default: DEFAULTS.limits.handshakeHold, help: 'how long a handshake waits for a certificate' },
  { name: 'browse', type: 'boolean', defaultText: 'off: 403', help: 'list folders that have no index.html' },
  { name: 'cache-control', type: 'string', value: 'VALUE', default: DEFAULTS.cacheControl, help: 'Cache-Control for files ("no-cache": revalidate each time)' },
  { name: 'header-timeout', type: 'string', value: 'TIME', default: DEFAULTS.limits.headerTimeout, help: 'a client must send its request headers within this' },
  { name: 'send-timeout', type: 'string', value: 'TIME', default: DEFAULTS.limits.sendTimeout, help: 'a client that stops reading a response is dropped after this' },
  { name: 'spa', type: 'boolean', defaultText: 'off', help: 'single-page app: a path that is not a file gets /index.html (tryFiles: ["{path}", "/index.html"])' },
  { name: 'cors', type: 'string', multiple: true, value: 'ORIGIN', help: 'allow this origin (or *) cross-origin requests; repeat for more' },
  { name: 'header', type: 'string', multiple: true, value: "'NAME: VALUE'", help: 'add this header to every response; repeat for more' },
  { name: 'log-format', type: 'string', value: 'FORMAT', default: DEFAULTS.logFormat, help: 'the operator log on stderr: text | json' },
];

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** The parser configuration node:util's parseArgs takes, built from the table. */
export function parserOptions(specs: readonly OptionSpec[]): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const spec of specs) options[spec.name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}) };
  return options;
}

/** The values given, with each absent option's literal default filled in. */
export function withDefaults(specs: readonly OptionSpec[], values: OptionValues): OptionValues {
  const filled: OptionValues = { ...values };
  for (const spec of specs) if (filled[spec.name] === undefined && spec.default !== undefined) filled[spec.name] = spec.default;
  return filled;
}

/** The options section of --help, one line per option. */
export function optionsHelp(specs: readonly OptionSpec[]): string {
  const lines = specs.map((spec) => {
    const flag = `--${spec.name}${spec.value ? ` ${spec.value}` : ''}`;
    const fallback = spec.defaultText ?? spec.default;
    return `  ${flag.padEnd(23)}${spec.help}${fallback ? ` (default: ${fallback})` : ''}`;
  });
  return [...lines, `  ${'-h, --help'.padEnd(23)}show this help`].join('\n');
}
