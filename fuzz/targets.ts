import bcrypt from 'bcryptjs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planFromConfigFile } from '../src/config/config-file.js';
import { parseDuration, parseHosts, parsePort } from '../src/config/values.js';
import { parseHost } from '../src/http/host.js';
import { mapPath } from '../src/http/map-path.js';
import { MAX_RANGES, parseRange } from '../src/http/static/byte-range.js';
import { evaluatePreconditions } from '../src/http/static/conditional.js';
import { ERROR_CODES, isPorticoError } from '../src/errors.js';
import { PlanError } from '../src/config/problem.js';
import { serverNameOf } from '../src/server/client-hello.js';

/**
 * What the fuzzer feeds: each target parses bytes a client (or a user's flags) controls and
 * checks the promises its module makes. A thrown error, from the parser or from a broken
 * promise, or an input that runs past the fuzzer's bound (a hang), is a finding: the fuzzer
 * saves the input and stops.
 */
export type Target = (data: Buffer) => void | Promise<void>;

function check(condition: boolean, promise: string): void {
  if (!condition) throw new Error(`broken promise: ${promise}`);
}

export const TARGETS: Record<string, Target> = {
  /** The path resolver: nothing it accepts can leave the root or reach a hidden file. */
  'map-path': (data) => {
    const mapped = mapPath(data.toString('latin1'));
    if (!mapped.ok) return check(mapped.status === 400 || mapped.status === 404, 'a refusal is 400 or 404');
    for (const segment of mapped.segments) {
      check(segment !== '.' && segment !== '..', 'no dot segment');
      check(!segment.includes('/') && !segment.includes('\\') && !segment.includes('\0'), 'no slash, backslash or NUL inside a segment');
    }
    check(mapped.segments.every((segment, i) => !segment.startsWith('.') || (i === 0 && segment === '.well-known')), 'no hidden file');
  },

  /** Range: every range lies inside the file, in order, and there are never too many. */
  'byte-range': (data) => {
    const size = data.length >= 4 ? data.readUInt32BE(0) % 10_000_000 : 0;
    const request = parseRange(data.subarray(4).toString('latin1'), size);
    if (request.kind !== 'ranges') return;
    check(request.ranges.length >= 1 && request.ranges.length <= MAX_RANGES, 'between 1 and MAX_RANGES ranges');
    for (const range of request.ranges) check(Number.isInteger(range.start) && range.start >= 0 && range.start <= range.end && range.end < size, `inside the file: ${range.start}-${range.end}/${size}`);
  },

  /** Preconditions: always one of three outcomes, whatever the headers say. */
  conditional: (data) => {
    const [ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince] = data.toString('latin1').split('\n');
    const outcome = evaluatePreconditions({ method: data[0]! % 2 ? 'GET' : 'PUT', ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince }, { etag: '"5-abc"', lastModified: 784_111_777_000 });
    check(outcome === 'proceed' || outcome === 'not-modified' || outcome === 'precondition-failed', 'one of three outcomes');
  },

  /** Host: what it accepts is normalised and carries nothing that could confuse routing or a log. */
  host: (data) => {
    const host = parseHost(data.toString('latin1'));
    if (host === undefined) return;
    check(!/[\s/\\@?#\0]/.test(host.name), `a clean name: ${JSON.stringify(host.name)}`);
    check(host.name === host.name.toLowerCase() && !host.name.endsWith('.'), 'lower-cased, no trailing dot');
    check(host.port === undefined || (Number.isInteger(host.port) && host.port >= 0 && host.port <= 65535), 'a port number');
  },

  /** The flag parsers (the config file loader comes with the sites issue): values or reasons, never a throw. */
  flags: (data) => {
    const [port = '', duration = '', hosts = ''] = data.toString('latin1').split('\n');
    const parsedPort = parsePort(port);
    if ('value' in parsedPort) check(parsedPort.value === 'off' || (parsedPort.value >= 0 && parsedPort.value <= 65535), 'a port');
    const ms = parseDuration(duration);
    check(ms === undefined || (Number.isFinite(ms) && ms >= 0), 'a finite duration');
    const parsedHosts = parseHosts(hosts.split(','));
    if ('value' in parsedHosts) check(parsedHosts.value.every((host) => host.length > 0 && !host.includes('%') && !/\s/.test(host)), 'certificate names');
  },

  /**
   * The ClientHello reader, which reads a connection's first bytes before any TLS: a name,
   * none, or "incomplete" — and "incomplete" only while the record can still grow to its length,
   * so a peeking connection never waits for more bytes than one record.
   */
  'client-hello': (data) => {
    const name = serverNameOf(data);
    check(name === undefined || typeof name === 'string', 'a name, none or incomplete');
    if (name === 'incomplete') check(data.length < 5 || (data[0] === 0x16 && data.length < 5 + data.readUInt16BE(3)), `incomplete only inside one record (${data.length} bytes)`);
    else if (name !== undefined) check(data[0] === 0x16 && data[5] === 0x01 && name === name.toLowerCase(), 'a lower-cased name only from a handshake record holding a ClientHello');
    // What a shorter read of the same bytes says is consistent: never a different name.
    const shorter = serverNameOf(data.subarray(0, data.length >> 1));
    check(shorter === 'incomplete' || shorter === undefined || shorter === name, `a prefix names ${String(shorter)}, the whole ${String(name)}`);
  },

  /**
   * The config file loader, on any text: a Plan, or a typed error (a PlanError whose problems
   * each carry a catalogued code and a message without a stack trace). Anything else thrown, or
   * a hang, is a finding. It runs in a sandbox folder of its own (with the folders and files the
   * seeds name), and inputs that mention `log` are skipped: the loader creates log folders, and
   * a mutated path must not create one outside the sandbox.
   */
  'config-file': async (data) => {
    const text = data.toString('utf8');
    if (/log/i.test(text)) return;
    const { dir, file } = configSandbox();
    writeFileSync(file, data);
    let plan: unknown;
    try {
      plan = await planFromConfigFile(file, dir);
    } catch (error) {
      check(isPorticoError(error) && error.code in ERROR_CODES, `a typed error, not ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      const problems = error instanceof PlanError ? error.problems : [{ problem: (error as Error).message, code: (error as { code: string }).code }];
      check(problems.length > 0, 'at least one problem');
      for (const problem of problems) {
        check(problem.code in ERROR_CODES, `a catalogued code: ${problem.code}`);
        check(!/\n\s+at .+:\d+:\d+/.test(problem.problem) && !/\b(TypeError|RangeError|ReferenceError|SyntaxError): /.test(problem.problem), `no stack trace or internal error in ${JSON.stringify(problem.problem)}`);
      }
      return;
    }
    check(typeof plan === 'object' && plan !== null && Object.isFrozen(plan), 'a frozen Plan');
  },
};

let sandbox: { dir: string; file: string } | undefined;

/** The config target's folder: what its seed files name (site folders, an htpasswd file), removed at exit. */
function configSandbox(): { dir: string; file: string } {
  if (sandbox) return sandbox;
  const dir = mkdtempSync(join(tmpdir(), 'portico-fuzz-config-'));
  for (const folder of ['docs', 'shop', 'blog', 'files', 'dist', 'state']) mkdirSync(join(dir, folder));
  writeFileSync(join(dir, 'users.htpasswd'), `alice:${bcrypt.hashSync('secret', 4)}\n`);
  writeFileSync(join(dir, 'docs', 'index.html'), 'docs\n');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  sandbox = { dir, file: join(dir, 'portico.yaml') };
  return sandbox;
}
