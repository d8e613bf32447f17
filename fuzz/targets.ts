import { parseDuration, parseHosts, parsePort } from '../src/config/values.js';
import { parseHost } from '../src/http/host.js';
import { mapPath } from '../src/http/map-path.js';
import { MAX_RANGES, parseRange } from '../src/http/static/byte-range.js';
import { evaluatePreconditions } from '../src/http/static/conditional.js';

/**
 * What the fuzzer feeds: each target parses bytes a client (or a user's flags) controls and
 * checks the promises its module makes. A thrown error, from the parser or from a broken
 * promise, is a finding: the fuzzer saves the input and stops.
 */
export type Target = (data: Buffer) => void;

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
};
