import assert from 'node:assert/strict';
import { connect as http2Connect, constants as http2Constants } from 'node:http2';
import { test } from 'node:test';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * One table of (request → expected outcome), run against a running Portico over three
 * transports and over the spellings of a path an attacker tries (issue 19, "The matrix"): so a
 * rule tested on one transport and one spelling cannot hide a hole on another. Every failing cell
 * is collected and shown as one table, so one run shows every hole at once.
 *
 * Transports:
 * - `h1`: HTTP/1.1 over TLS, the request bytes written as given on a TLS socket (Node's and
 *   curl's clients rewrite `/./` and `//`, so they cannot send what an attacker sends);
 * - `h2`: HTTP/2 with node:http2, `:path` sent as given;
 * - `upgrade`: an HTTP/1.1 WebSocket upgrade (raw bytes, as `h1`); a 101 means it went through.
 *
 * Later features that protect or route add their rows here (see test/sites/site-rules.test.ts).
 */

export type Transport = 'h1' | 'h2' | 'upgrade';
export const TRANSPORTS: readonly Transport[] = ['h1', 'h2', 'upgrade'];

/** Where the requests go: Portico's HTTPS port, the site's name (SNI, Host) and the CA to trust. */
export interface MatrixTarget {
  readonly port: number;
  readonly host: string;
  readonly ca: string;
  /** Another name, for the Host line of an absolute-form request and the `host` beside `:authority`. */
  readonly otherHost?: string;
  /** The local address to connect from (spread tests over 127.0.0.0/8 so per-address limits do not meet). */
  readonly localAddress?: string;
  /** Plain TCP instead of TLS (a plain-HTTP port: for httpsRedirect); HTTP/2 is then h2c with prior knowledge. */
  readonly plain?: boolean;
  /** Per-request deadline; a cell that misses it fails with status 0 (never hangs the run). */
  readonly timeoutMs?: number;
}

export interface MatrixRequest {
  readonly method?: string;
  /** The path (and query) as the canonical client sends it. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/**
 * One spelling of a request. `target` is what goes on the HTTP/1.1 request line (an
 * absolute-form URL for `absolute-form`); `path` is `:path` over HTTP/2. `hostHeader` replaces
 * the Host line (HTTP/1.1) or adds a `host` field beside `:authority` (HTTP/2).
 */
export interface Variant {
  readonly name: VariantName;
  readonly path: string;
  readonly transports: readonly Transport[];
  readonly absolute?: boolean;
  readonly hostHeader?: string;
}

export type VariantName =
  | 'as-is'
  | 'trailing-slash'
  | 'double-slash'
  | 'encoded-slash'
  | 'encoded-dot'
  | 'encoded-letters'
  | 'dot-segment'
  | 'upper-case'
  | 'params-segment'
  | 'params-last'
  | 'trailing-dot'
  | 'absolute-form'
  | 'authority-host';

export const VARIANT_NAMES: readonly VariantName[] = ['as-is', 'trailing-slash', 'double-slash', 'encoded-slash', 'encoded-dot', 'encoded-letters', 'dot-segment', 'upper-case', 'params-segment', 'params-last', 'trailing-dot', 'absolute-form', 'authority-host'];

/**
 * The attacker's spellings of `pathAndQuery` (each one at most once; a variant that would be the
 * same string as another is left out): a trailing `/` (or one taken away), every slash doubled, an
 * inner slash as `%2F`, `/%2e/` inserted, a letter of each segment percent-encoded, `/./`
 * inserted, upper case, `;x` after the first segment and `;x=1` after the last, a trailing dot on
 * the last segment, HTTP/1.1 absolute-form with another Host line, and HTTP/2 `:authority` with
 * another `host` field.
 */
export function pathVariants(pathAndQuery: string, otherHost = 'other.example.test'): Variant[] {
  const queryAt = pathAndQuery.indexOf('?');
  const path = queryAt === -1 ? pathAndQuery : pathAndQuery.slice(0, queryAt);
  const query = queryAt === -1 ? '' : pathAndQuery.slice(queryAt);
  const trailing = path.endsWith('/') && path !== '/';
  const segments = path.split('/').filter((segment) => segment.length > 0);
  const join = (parts: readonly string[], slash = trailing): string => `/${parts.join('/')}${slash && parts.length > 0 ? '/' : ''}`;
  const lastAt = segments.length - 1;
  const editLast = (edit: (segment: string) => string): string | undefined => (lastAt < 0 ? undefined : join(segments.map((segment, i) => (i === lastAt ? edit(segment) : segment))));
  const encodeLetter = (segment: string): string => {
    const at = segment.search(/[A-Za-z]/);
    return at === -1 ? segment : `${segment.slice(0, at)}%${segment.charCodeAt(at).toString(16).padStart(2, '0')}${segment.slice(at + 1)}`;
  };
  const innerSlash = path.indexOf('/', 1);
  const both: readonly Transport[] = TRANSPORTS;
  const candidates: Array<[VariantName, string | undefined, readonly Transport[], Partial<Variant>?]> = [
    ['as-is', path, both],
    ['trailing-slash', path === '/' ? undefined : trailing ? path.slice(0, -1) : `${path}/`, both],
    ['double-slash', path.replaceAll('/', '//'), both],
    ['encoded-slash', innerSlash > 0 && innerSlash < path.length - 1 ? `${path.slice(0, innerSlash)}%2F${path.slice(innerSlash + 1)}` : undefined, both],
    ['encoded-dot', segments.length === 0 ? '/%2e/' : join([...segments.slice(0, -1), '%2e', ...segments.slice(-1)]), both],
    ['encoded-letters', join(segments.map(encodeLetter)), both],
    ['dot-segment', segments.length === 0 ? '/./' : join([...segments.slice(0, -1), '.', ...segments.slice(-1)]), both],
    ['upper-case', path.toUpperCase(), both],
    ['params-segment', segments.length < 2 ? editLast((s) => `${s};x`) : join([`${segments[0]};x`, ...segments.slice(1)]), both],
    ['params-last', editLast((s) => `${s};x=1`), both],
    ['trailing-dot', editLast((s) => `${s}.`), both],
    ['absolute-form', path, ['h1', 'upgrade'], { absolute: true, hostHeader: otherHost }],
    ['authority-host', path, ['h2'], { hostHeader: otherHost }],
  ];
  const seen = new Set<string>();
  const variants: Variant[] = [];
  for (const [name, spelled, transports, extra] of candidates) {
    if (spelled === undefined) continue;
    const key = `${spelled}\0${extra?.absolute ?? ''}\0${extra?.hostHeader ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    variants.push({ name, path: spelled + query, transports, ...extra });
  }
  return variants;
}

/** What one cell got back. `status` 0: no response (the connection or stream ended first, or the deadline passed); `error` says why. */
export interface Outcome {
  readonly transport: Transport;
  readonly variant: VariantName;
  /** The path as sent (the request line's target over HTTP/1.1). */
  readonly sent: string;
  readonly status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly error?: string;
}

/** A check of an outcome: `test` returns true, or a short reason it failed. */
export interface Predicate {
  readonly describe: string;
  test(outcome: Outcome): true | string;
}

export type Expectation = number | Predicate;

export interface Row {
  readonly name: string;
  readonly request: MatrixRequest;
  readonly expect: Expectation;
  /** Which spellings to try: true for every one, a list for some; default only the request as given. */
  readonly variants?: boolean | readonly VariantName[];
  /** Default all three. */
  readonly transports?: readonly Transport[];
  /**
   * Cells known to fail until other work lands, with the reason: run in a separate node:test
   * `todo` test, so they are reported but do not fail the run.
   */
  readonly todo?: { readonly transports?: readonly Transport[]; readonly variants?: readonly VariantName[]; readonly reason: string };
}

export interface Cell {
  readonly row: Row;
  readonly transport: Transport;
  readonly variant: Variant;
  readonly todo: boolean;
}

export interface Failure {
  readonly cell: Cell;
  readonly outcome: Outcome;
  readonly reason: string;
}

// ---- predicates -------------------------------------------------------------------------------

export const status = (expected: number): Predicate => ({ describe: String(expected), test: (o) => o.status === expected || `got ${o.status}` });

export const oneOf = (...statuses: number[]): Predicate => ({ describe: `one of ${statuses.join('/')}`, test: (o) => statuses.includes(o.status) || `got ${o.status}` });

/**
 * The protected resource did not come back: any refusal (4xx, 5xx), a redirect (to the canonical
 * URL, or to HTTPS), or no response at all. Never a 2xx, and never a 101 (a tunnel opened).
 */
export const denied: Predicate = {
  describe: 'denied (not 2xx, not 101)',
  test: (o) => ((o.status >= 200 && o.status < 300) || o.status === 101 ? `got ${o.status}${o.body ? ` ${JSON.stringify(o.body.slice(0, 40))}` : ''}` : true),
};

/** Every 2xx carries `name` with this value (or matching this pattern); other statuses pass. */
export const hasHeader = (name: string, value: string | RegExp): Predicate => ({
  describe: `2xx has ${name}: ${String(value)}`,
  test: (o) => {
    if (o.status < 200 || o.status >= 300) return true;
    const got = o.headers[name.toLowerCase()];
    const ok = got !== undefined && (typeof value === 'string' ? got === value : value.test(got));
    return ok || `${o.status} with ${name}: ${got ?? '(none)'}`;
  },
});

/** Whatever the status, the header `name` equals `value` (matches a pattern; undefined: is absent). */
export const headerIs = (name: string, value: string | RegExp | undefined): Predicate => ({
  describe: `${name}: ${value === undefined ? '(none)' : String(value)}`,
  test: (o) => {
    const got = o.headers[name.toLowerCase()];
    const ok = value === undefined ? got === undefined : got !== undefined && (typeof value === 'string' ? got === value : value.test(got));
    return ok || `${o.status} with ${name}: ${got ?? '(none)'}`;
  },
});

/** A redirect (3xx) whose Location matches. */
export const redirectsTo = (location: string | RegExp, statuses: readonly number[] = [301, 302, 303, 307, 308]): Predicate => ({
  describe: `${statuses.join('/')} to ${String(location)}`,
  test: (o) => {
    const got = o.headers.location;
    const ok = statuses.includes(o.status) && got !== undefined && (typeof location === 'string' ? got === location : location.test(got));
    return ok || `got ${o.status}${got ? ` to ${got}` : ''}`;
  },
});

/** Status and body exactly: the resource itself. */
export const serves = (expectedStatus: number, body: string): Predicate => ({
  describe: `${expectedStatus} ${JSON.stringify(body)}`,
  test: (o) => (o.status === expectedStatus && o.body === body) || `got ${o.status} ${JSON.stringify(o.body.slice(0, 40))}`,
});

/** Every predicate holds. */
export const allOf = (...predicates: Predicate[]): Predicate => ({
  describe: predicates.map((p) => p.describe).join(' and '),
  test: (o) => {
    for (const p of predicates) {
      const result = p.test(o);
      if (result !== true) return result;
    }
    return true;
  },
});

/** A different expectation per transport (the rest: `otherwise`). */
export const byTransport = (expectations: Partial<Record<Transport, Expectation>>, otherwise: Expectation): Predicate => ({
  describe: Object.entries(expectations)
    .map(([transport, e]) => `${transport}: ${describe(e!)}`)
    .concat(`else ${describe(otherwise)}`)
    .join('; '),
  test: (o) => check(expectations[o.transport] ?? otherwise, o),
});

function describe(expectation: Expectation): string {
  return typeof expectation === 'number' ? String(expectation) : expectation.describe;
}

function check(expectation: Expectation, outcome: Outcome): true | string {
  return typeof expectation === 'number' ? outcome.status === expectation || `got ${outcome.status}` : expectation.test(outcome);
}

// ---- transports -------------------------------------------------------------------------------

const MAX_BODY = 1024 * 1024;
const WEBSOCKET_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** The HTTP/1.1 request line's target and the Host line for a variant. */
function http1Head(target: MatrixTarget, variant: Variant): { requestTarget: string; host: string } {
  const requestTarget = variant.absolute ? `${target.plain ? 'http' : 'https'}://${target.host}:${target.port}${variant.path}` : variant.path;
  return { requestTarget, host: variant.hostHeader ?? target.host };
}

/** HTTP/1.1 over TLS, the bytes written as given, `Connection: close`; the response read until the server closes. */
export function sendHttp1(target: MatrixTarget, request: MatrixRequest, variant: Variant): Promise<Outcome> {
  const { requestTarget, host } = http1Head(target, variant);
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const fields = { host, ...request.headers, ...(body ? { 'content-length': String(body.length) } : {}), connection: 'close' };
  return rawTls(target, 'h1', variant, requestTarget, request.method ?? 'GET', fields, body, false);
}

/** An HTTP/1.1 WebSocket upgrade, raw bytes; read up to the end of the head for a 101, else until the server closes. */
export function sendUpgrade(target: MatrixTarget, request: MatrixRequest, variant: Variant): Promise<Outcome> {
  const { requestTarget, host } = http1Head(target, variant);
  const fields = { host, ...request.headers, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': WEBSOCKET_KEY };
  return rawTls(target, 'upgrade', variant, requestTarget, request.method ?? 'GET', fields, undefined, true);
}

function rawTls(target: MatrixTarget, transport: Transport, variant: Variant, requestTarget: string, method: string, fields: Record<string, string>, body: Buffer | undefined, upgrade: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const local = target.localAddress ? { localAddress: target.localAddress } : {};
    const socket: Socket = target.plain ? netConnect({ host: '127.0.0.1', port: target.port, ...local }) : tlsConnect({ host: '127.0.0.1', port: target.port, servername: target.host, ca: target.ca, ALPNProtocols: ['http/1.1'], ...local });
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseHttp1(transport, variant.name, requestTarget, Buffer.concat(chunks), error));
    };
    const timer = setTimeout(() => finish(`no end within ${target.timeoutMs ?? 20_000} ms`), target.timeoutMs ?? 20_000);
    socket.once(target.plain ? 'connect' : 'secureConnect', () => {
      const head = `${method} ${requestTarget} HTTP/1.1\r\n${Object.entries(fields)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')}\r\n`;
      socket.write(body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1'));
    });
    socket.on('data', (chunk: Buffer) => {
      if (size < MAX_BODY) chunks.push(chunk);
      size += chunk.length;
      // Done once the response is whole, whether or not the server closes (after a refused upgrade it may not).
      if (isComplete(Buffer.concat(chunks), method, upgrade)) finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
  });
}

/** Whether `raw` holds a whole response: a 101's head (what follows is the tunnel), or a head and all of its body. */
function isComplete(raw: Buffer, method: string, upgrade: boolean): boolean {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd === -1) return false;
  const head = raw.subarray(0, headEnd).toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  if (status === 101) return upgrade;
  if (status < 200 || status === 204 || status === 304 || method === 'HEAD') return status >= 200;
  const body = raw.subarray(headEnd + 4);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (length !== undefined) return body.length >= Number(length);
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) return /(^|\r\n)0\r\n(.*\r\n)*\r\n$/s.test(body.toString('latin1'));
  return false;
}

function parseHttp1(transport: Transport, variant: VariantName, sent: string, raw: Buffer, error: string | undefined): Outcome {
  const headEnd = raw.indexOf('\r\n\r\n');
  const text = raw.subarray(0, headEnd === -1 ? raw.length : headEnd).toString('latin1');
  const [statusLine = '', ...lines] = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match || headEnd === -1) return { transport, variant, sent, status: 0, headers: {}, body: '', error: error ?? `no complete response head (${JSON.stringify(text.slice(0, 60))})` };
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = raw.subarray(headEnd + 4);
  if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  return { transport, variant, sent, status: Number(match[1]), headers, body: body.toString('utf8'), ...(error ? { error } : {}) };
}

/** A chunked body's data (as much as arrived). */
function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** HTTP/2 with node:http2 on a session of its own: `:path` as given, `:authority` the site, `host` beside it for `authority-host`. */
export function sendHttp2(target: MatrixTarget, request: MatrixRequest, variant: Variant): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    let headers: Record<string, string> = {};
    let status = 0;
    const chunks: Buffer[] = [];
    let size = 0;
    const session = http2Connect(`${target.plain ? 'http' : 'https'}://127.0.0.1:${target.port}`, { servername: target.host, ca: target.ca, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve({ transport: 'h2', variant: variant.name, sent: variant.path, status, headers, body: Buffer.concat(chunks).toString('utf8'), ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(`no end within ${target.timeoutMs ?? 20_000} ms`), target.timeoutMs ?? 20_000);
    session.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    const fields: Record<string, string> = { ':method': request.method ?? 'GET', ':path': variant.path, ':authority': target.host, ...(variant.hostHeader ? { host: variant.hostHeader } : {}), ...request.headers };
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    if (body) fields['content-length'] = String(body.length);
    let stream;
    try {
      stream = session.request(fields, { endStream: body === undefined });
    } catch (error) {
      return finish((error as NodeJS.ErrnoException).code ?? String(error));
    }
    stream.on('response', (received) => {
      status = Number(received[':status']);
      headers = {};
      for (const [name, value] of Object.entries(received)) if (!name.startsWith(':') && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    });
    stream.on('data', (chunk: Buffer) => {
      if (size < MAX_BODY) chunks.push(chunk);
      size += chunk.length;
    });
    stream.on('end', () => finish());
    stream.on('close', () => finish(stream.rstCode !== undefined && stream.rstCode !== http2Constants.NGHTTP2_NO_ERROR ? `stream reset (${stream.rstCode})` : undefined));
    stream.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    if (body) stream.end(body);
  });
}

const RUNNERS: Record<Transport, (target: MatrixTarget, request: MatrixRequest, variant: Variant) => Promise<Outcome>> = { h1: sendHttp1, h2: sendHttp2, upgrade: sendUpgrade };

/** One request over one transport in one spelling. */
export function send(target: MatrixTarget, transport: Transport, request: MatrixRequest, variant: Variant): Promise<Outcome> {
  return RUNNERS[transport](target, request, variant);
}

// ---- the table --------------------------------------------------------------------------------

/** Every (row, transport, spelling) cell of a table. */
export function cellsOf(rows: readonly Row[], otherHost?: string): Cell[] {
  const cells: Cell[] = [];
  for (const row of rows) {
    const all = pathVariants(row.request.path, otherHost);
    const wanted = row.variants === true ? all : all.filter((v) => v.name === 'as-is' || (Array.isArray(row.variants) && row.variants.includes(v.name)));
    for (const transport of row.transports ?? TRANSPORTS) {
      for (const variant of wanted) {
        if (!variant.transports.includes(transport)) continue;
        const todo = row.todo !== undefined && (row.todo.transports ?? TRANSPORTS).includes(transport) && (row.todo.variants ?? VARIANT_NAMES).includes(variant.name);
        cells.push({ row, transport, variant, todo });
      }
    }
  }
  return cells;
}

/** Runs the cells, a few at a time, and returns the ones whose outcome did not meet the row's expectation. */
export async function runCells(target: MatrixTarget, cells: readonly Cell[], concurrency = 6): Promise<Failure[]> {
  const failures: Failure[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cells.length) {
      const cell = cells[next++]!;
      const outcome = await send(target, cell.transport, cell.row.request, cell.variant);
      const result = check(cell.row.expect, outcome);
      if (result !== true) failures.push({ cell, outcome, reason: outcome.error ? `${result} (${outcome.error})` : result });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, cells.length) }, worker));
  return failures.sort((a, b) => cells.indexOf(a.cell) - cells.indexOf(b.cell));
}

/** The failures as a table: row, transport, spelling, what was sent, what was expected, what came. */
export function formatFailures(failures: readonly Failure[]): string {
  const lines = failures.map(({ cell, outcome, reason }) => [cell.row.name, cell.transport, cell.variant.name, `${cell.row.request.method ?? 'GET'} ${outcome.sent}`, describe(cell.row.expect), reason]);
  const header = ['row', 'transport', 'variant', 'sent', 'expected', 'got'];
  const widths = header.map((title, i) => Math.min(60, Math.max(title.length, ...lines.map((line) => line[i]!.length))));
  const format = (line: readonly string[]): string => line.map((value, i) => value.padEnd(widths[i]!)).join(' | ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...lines.map(format)].join('\n');
}

/**
 * Registers the table as node:test tests: one for every cell not marked todo (it fails with
 * the whole table of failing cells), and one `todo` test per todo reason. `target` is asked for
 * when the tests run, after the file's `before` hooks started Portico.
 */
export function matrixTest(name: string, target: () => MatrixTarget, rows: readonly Row[]): void {
  const run = async (todo: boolean, reason?: string): Promise<void> => {
    const chosen = target();
    const cells = cellsOf(rows, chosen.otherHost).filter((cell) => cell.todo === todo && (reason === undefined || cell.row.todo?.reason === reason));
    const failures = await runCells(chosen, cells);
    assert.equal(failures.length, 0, `${failures.length} of ${cells.length} cells failed:\n${formatFailures(failures)}`);
  };
  test(`${name}: ${rows.length} rows over ${TRANSPORTS.join(', ')} and the path variants`, () => run(false));
  for (const reason of new Set(rows.flatMap((row) => (row.todo ? [row.todo.reason] : [])))) {
    test(`${name}: cells waiting on other work (${reason})`, { todo: reason }, () => run(true, reason));
  }
}
