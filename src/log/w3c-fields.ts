/**
 * The fields of a W3C Extended log line, as IIS names them, and how each is written. Pure: a
 * record in, one line out, with no CR, LF or control byte that could end a line early or forge
 * one (every value is escaped), so a hostile User-Agent stays inside its field.
 */

/** IIS's default fields, in IIS's order. */
export const DEFAULT_W3C_FIELDS = [
  'date',
  'time',
  's-ip',
  'cs-method',
  'cs-uri-stem',
  'cs-uri-query',
  's-port',
  'cs-username',
  'c-ip',
  'cs(User-Agent)',
  'cs(Referer)',
  'sc-status',
  'sc-substatus',
  'sc-win32-status',
  'time-taken',
] as const;

export const W3C_FIELDS = [...DEFAULT_W3C_FIELDS, 'cs-host', 'sc-bytes', 'cs-bytes', 'cs-version', 's-sitename', 'cs(Cookie)', 'x-upstream', 'x-upstream-time'] as const;

export type W3cField = (typeof W3C_FIELDS)[number];

/** What one finished exchange contributes to a line. */
export interface AccessRecord {
  /** When the exchange ended (ms since the epoch): the line's date and time, in UTC. */
  readonly endedAt: number;
  readonly startedAt: number;
  readonly method: string;
  readonly path: string;
  /** With its leading `?`, or ''. */
  readonly query: string;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly clientAddress: string | undefined;
  readonly user: string | undefined;
  readonly status: number;
  /** False when the client left or the body was cut short: written as win32 status 64, as IIS does. */
  readonly complete: boolean;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly protocol: string;
  readonly site: string;
  /** The upstream that answered a proxied request (host:port) and how long it took (ms), or undefined. */
  readonly upstream?: { readonly address: string; readonly ms: number } | undefined;
  header(name: string): string | undefined;
}

/** ERROR_NETNAME_DELETED: what IIS writes when the client went away before the response was sent. */
const WIN32_CLIENT_GONE = '64';

type Writer = (record: AccessRecord) => string;

const WRITERS: Record<W3cField, Writer> = {
  date: (r) => dateOf(r.endedAt),
  time: (r) => timeOf(r.endedAt),
  's-ip': (r) => escapeValue(r.localAddress),
  'cs-method': (r) => escapeValue(r.method),
  'cs-uri-stem': (r) => escapeValue(r.path),
  'cs-uri-query': (r) => escapeValue(r.query.slice(1)),
  's-port': (r) => (r.localPort === undefined ? '-' : String(r.localPort)),
  'cs-username': (r) => escapeValue(r.user),
  'c-ip': (r) => escapeValue(r.clientAddress),
  'cs(User-Agent)': (r) => escapeValue(r.header('user-agent')),
  'cs(Referer)': (r) => escapeValue(r.header('referer')),
  'sc-status': (r) => String(r.status),
  'sc-substatus': () => '0',
  'sc-win32-status': (r) => (r.complete ? '0' : WIN32_CLIENT_GONE),
  'time-taken': (r) => String(Math.max(0, r.endedAt - r.startedAt)),
  'cs-host': (r) => escapeValue(r.header('host') ?? r.header(':authority')),
  'sc-bytes': (r) => String(r.bytesSent),
  'cs-bytes': (r) => String(r.bytesReceived),
  'cs-version': (r) => r.protocol,
  's-sitename': (r) => escapeValue(r.site),
  'cs(Cookie)': (r) => escapeValue(r.header('cookie')),
  // Application-specific fields (the x- prefix of the W3C draft): the proxy's upstream and its time to respond.
  'x-upstream': (r) => escapeValue(r.upstream?.address),
  'x-upstream-time': (r) => (r.upstream === undefined ? '-' : String(r.upstream.ms)),
};

/** Builds the function that writes one line (with its LF) for these fields. */
export function lineWriter(fields: readonly W3cField[]): (record: AccessRecord) => string {
  const writers = fields.map((field) => WRITERS[field]);
  return (record) => {
    let line = writers[0]!(record);
    for (let i = 1; i < writers.length; i += 1) line += ` ${writers[i]!(record)}`;
    return `${line}\n`;
  };
}

/** The header block at the top of every file (and again wherever the fields change). */
export function headerBlock(software: string, fields: readonly W3cField[], createdAt: number): string {
  return `#Software: ${software}\n#Version: 1.0\n#Date: ${dateOf(createdAt)} ${timeOf(createdAt)}\n#Fields: ${fields.join(' ')}\n`;
}

/** The file for a UTC day, as IIS names it: u_exYYMMDD.log. */
export function dayFileName(at: number): string {
  return `u_ex${dateOf(at).slice(2).replaceAll('-', '')}.log`;
}

const SAFE = /^[\x21-\x7e]+$/;
const SAFE_WITH_SPACES = /^[\x20-\x7e]+$/;

/**
 * `-` for nothing; a space becomes `+` (as IIS writes it); every other byte outside printable
 * ASCII is percent-encoded, so a line is always one line of ASCII whatever a client sends.
 */
export function escapeValue(value: string | undefined): string {
  if (value === undefined || value.length === 0) return '-';
  if (SAFE.test(value)) return value;
  // A browser's User-Agent: printable ASCII with spaces, the common case, without a byte loop.
  if (SAFE_WITH_SPACES.test(value)) return value.replaceAll(' ', '+');
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte === 0x20) out += '+';
    else if (byte > 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

let cachedSecond = -1;
let cachedDate = '';
let cachedTime = '';

/** Date and time change once a second: formatted once a second, not once a line. */
function refresh(at: number): void {
  const second = Math.floor(at / 1000);
  if (second === cachedSecond) return;
  cachedSecond = second;
  const iso = new Date(second * 1000).toISOString();
  cachedDate = iso.slice(0, 10);
  cachedTime = iso.slice(11, 19);
}

export function dateOf(at: number): string {
  refresh(at);
  return cachedDate;
}

function timeOf(at: number): string {
  refresh(at);
  return cachedTime;
}
