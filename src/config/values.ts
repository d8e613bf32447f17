import { isIP } from 'node:net';
import { isKeyType, KEY_TYPES, type KeyType } from '../tls/key-types.js';

/**
 * The values a user writes, in a flag or a config file, parsed one way for both: ports, IP
 * addresses and ranges, host names, durations, sizes, header values, key types. Each returns the
 * value or what is wrong with the text, written to follow the flag's name or the config path.
 * Pure: no defaults here (src/config/defaults.ts), no disk.
 */

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

/** An IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`). */
export function parseAddressRange(text: string): Parsed<string> {
  const [address, bits, extra] = text.split('/');
  const family = isIP(address ?? '');
  const maxBits = family === 4 ? 32 : 128;
  if (family !== 0 && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits))) return { value: text };
  return { problem: `${JSON.stringify(text)} is not an IP address or a CIDR range; write it as 10.0.0.1 or 10.0.0.0/8` };
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Names and addresses for a certificate: lower-cased, de-duplicated. */
export function parseHosts(hosts: readonly string[]): Parsed<string[]> {
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

export function parseLogFormat(text: string): Parsed<'text' | 'json'> {
  return text === 'text' || text === 'json' ? { value: text } : { problem: `${JSON.stringify(text)} is not a log format: use text or json` };
}

export function parseKeyType(text: string): Parsed<KeyType> {
  return isKeyType(text) ? { value: text } : { problem: `${JSON.stringify(text)} is not a key type: use one of ${KEY_TYPES.join(', ')}` };
}

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** A rule's path pattern: a path starting with /, or a file name pattern such as *.js; no control characters. */
export function parsePathPattern(pattern: string): Parsed<string> {
  if ((pattern.startsWith('/') || (pattern.startsWith('*') && !pattern.includes('/'))) && !CONTROL.test(pattern)) return { value: pattern };
  return { problem: `${JSON.stringify(pattern)} is not a path pattern; start it with /, such as /admin/, /old/page or /assets/*, or write a file name pattern such as *.js` };
}

/** Text a rule puts into a header (a value, a redirect target): no line break or control character, which could forge a header. */
export function parseHeaderText(value: string): Parsed<string> {
  return CONTROL.test(value) ? { problem: `${JSON.stringify(value)} contains a line break or control character, which could forge a header; remove it` } : { value };
}

/**
 * Fields that frame the message or the connection, which Portico writes itself: a rule that set
 * one would send Content-Length beside chunked (RFC 9112 §6.2, a response a front proxy misreads
 * as two), or a field HTTP/2 forbids (RFC 9113 §8.2.2), which resets the stream.
 */
const FRAMING_FIELDS = new Set(['connection', 'content-length', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * A header a rule adds to a response (`respond`, `headers`): a field that is not Portico's to
 * frame, and a value both transports can send (text in Latin-1, the bytes HTTP field values are,
 * without line breaks or control characters).
 */
export function parseResponseHeader(name: string, value: string): Parsed<string> {
  if (FRAMING_FIELDS.has(name.toLowerCase())) return { problem: `${name} frames the message or the connection, which Portico does itself (it sets Content-Length or chunked, and HTTP/2 forbids connection fields); remove it` };
  if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) return { problem: `${JSON.stringify(value)} holds a line break, a control character or a character beyond Latin-1, which no header value can carry; remove it, or percent-encode it (RFC 8187)` };
  return { value };
}

export function parseHeaderValue(text: string): Parsed<string> {
  return /^[\x20-\x7e]{1,512}$/.test(text) ? { value: text } : { problem: `${JSON.stringify(text)} is not a header value (printable ASCII, e.g. "public, max-age=3600")` };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `10m`, `12h`, `7d` (or a bare number of seconds) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

export function parseDurationOption(text: string, minimum: number): Parsed<number> {
  const ms = parseDuration(text);
  return ms !== undefined && ms >= minimum ? { value: ms } : { problem: `${JSON.stringify(text)} is not a duration of at least ${minimum} ms (examples: 30s, 12h, 7d)` };
}

const UNIT_BYTES: Record<string, number> = { '': 1, b: 1, kb: 1_000, mb: 1_000_000, gb: 1_000_000_000, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** A size in bytes from a number or `512KiB`, `1MiB`, `2GB` (binary and decimal units). */
export function parseSize(value: number | string): Parsed<number> {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? { value } : { problem: `${value} is not a number of bytes` };
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? UNIT_BYTES[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) return { problem: `${JSON.stringify(value)} is not a size; write bytes as a number, or 512KiB, 1MiB, 2GiB` };
  return { value: Math.round(Number(match[1]) * unit) };
}
