import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

// HTTP/1.1 request framing, Host rules and methods over a raw socket, byte for byte. Each row
// names the RFC section that decides it; where nginx 1.22 or Caddy 2.6 answer otherwise, the row
// says so. Every request either asks for `Connection: close` or is one the server must close on,
// so each exchange ends when the server closes: nothing waits on a timer.
const servers = useTestServers();
let port: number;

before(async () => {
  const box = await servers.ready();
  await writeFile(join(box.site, 'x.txt'), 'x');
  const portico = servers.serve(anyPortArgs(box, ['--https', 'off', '--workers', '1']));
  port = await portico.port('http');
});

const C = 'Connection: close\r\n';

interface Row {
  readonly name: string;
  readonly request: string;
  /** The status of the one response expected. */
  readonly status: number;
  readonly rule: string;
  /** Other statuses in the response head, or headers, that must be present. */
  readonly expect?: RegExp;
}

const rows: Row[] = [
  // The request line (RFC 9112 §3) and versions (RFC 9110 §2.5).
  { name: 'a plain GET', request: `GET /x.txt HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 200, rule: 'RFC 9110 §9.3.1' },
  { name: 'HEAD answers headers only', request: `HEAD /x.txt HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 200, rule: 'RFC 9110 §9.3.2', expect: /content-length: 1\r\n[\s\S]*\r\n\r\n$/ },
  { name: 'HTTP/1.0 without Host', request: 'GET /x.txt HTTP/1.0\r\n\r\n', status: 200, rule: 'RFC 9112 §3.2 (Host is required of 1.1 only)' },
  { name: 'HTTP/2.0 on an HTTP/1.1 connection', request: `GET / HTTP/2.0\r\nHost: x\r\n${C}\r\n`, status: 505, rule: 'RFC 9110 §15.6.6; nginx and Caddy 505' },
  { name: 'an HTTP/0.9 request line', request: 'GET /\r\n\r\n', status: 505, rule: 'RFC 9112 §2.3 (0.9 is not supported); nginx 400' },
  { name: 'HTTP/1.2', request: `GET / HTTP/1.2\r\nHost: x\r\n${C}\r\n`, status: 505, rule: 'RFC 9110 §2.5 says SHOULD handle as 1.1, but Node’s parser refuses the version (docs/security.md); nginx and Caddy 200' },
  { name: 'HTTP/3.0', request: `GET / HTTP/3.0\r\nHost: x\r\n${C}\r\n`, status: 505, rule: 'RFC 9110 §15.6.6' },
  { name: 'a lower-case version', request: `GET / http/1.1\r\nHost: x\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §2.3 (HTTP-name is case-sensitive)' },
  { name: 'a tab between method and target', request: `GET\t/ HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §3' },
  { name: 'two spaces between method and target', request: `GET  /x.txt HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 200, rule: 'RFC 9112 §3 (MAY parse on whitespace boundaries)' },
  { name: 'bare LF line ends', request: `GET / HTTP/1.1\nHost: x\n${C.replace('\r', '')}\n`, status: 400, rule: 'RFC 9112 §2.2 (recognising a bare LF is optional); nginx 200' },
  { name: 'a control byte in the target', request: `GET /\x01 HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §3.2' },
  { name: 'raw UTF-8 in the target', request: `GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 400, rule: 'RFC 3986 §2 (non-ASCII must be percent-encoded)' },
  { name: 'a target that is not a path', request: `GET * HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §3.2.4 (asterisk-form is for OPTIONS only)' },
  { name: 'a target over 8 KiB', request: `GET /${'a'.repeat(9_000)} HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 414, rule: 'RFC 9110 §15.5.15' },
  { name: 'a request line over 16 KiB', request: `GET /${'b'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 414, rule: 'RFC 9110 §15.5.15' },
  { name: 'header fields over 16 KiB', request: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'c'.repeat(20_000)}\r\n${C}\r\n`, status: 431, rule: 'RFC 6585 §5' },
  { name: 'a percent sign that is not an escape', request: `GET /% HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 400, rule: 'RFC 3986 §2.1' },
  { name: 'a dot-segment', request: `GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 400, rule: 'RFC 3986 §5.2.4 (never leaves the root)' },

  // Methods (RFC 9110 §9).
  { name: 'an unknown method', request: `FOO / HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 501, rule: 'RFC 9110 §9.1; nginx 400' },
  { name: 'a lower-case method (methods are case-sensitive)', request: `get / HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 501, rule: 'RFC 9110 §9.1; nginx 400' },
  { name: 'POST to a file', request: `POST /x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n${C}\r\n`, status: 405, rule: 'RFC 9110 §15.5.6', expect: /allow: GET, HEAD, OPTIONS/ },
  { name: 'PUT with a body', request: `PUT /x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n${C}\r\nhello`, status: 405, rule: 'RFC 9110 §15.5.6' },
  { name: 'DELETE', request: `DELETE /x.txt HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 405, rule: 'RFC 9110 §15.5.6' },
  { name: 'PATCH', request: `PATCH /x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n${C}\r\n`, status: 405, rule: 'RFC 9110 §15.5.6' },
  { name: 'TRACE', request: `TRACE / HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 405, rule: 'RFC 9110 §9.3.8 (echoing requests is not offered)' },
  { name: 'OPTIONS on a path', request: `OPTIONS /x.txt HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 204, rule: 'RFC 9110 §9.3.7', expect: /allow: GET, HEAD, OPTIONS/ },
  { name: 'OPTIONS * (the server itself)', request: `OPTIONS * HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 204, rule: 'RFC 9112 §3.2.4' },
  { name: 'CONNECT to an origin server', request: 'CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n', status: 405, rule: 'RFC 9110 §9.3.6 (no tunnels here); nginx 400, finding 8' },
  { name: 'PUT with Expect: 100-continue is refused before the body is invited', request: `PUT /x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n${C}\r\n`, status: 405, rule: 'RFC 9110 §10.1.1, finding 8' },
  { name: 'GET with Expect: 100-continue', request: `GET /x.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n${C}\r\n`, status: 200, rule: 'RFC 9110 §10.1.1 (a final status may be sent instead of 100)' },
  { name: 'an expectation the server cannot meet', request: `GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n${C}\r\n`, status: 417, rule: 'RFC 9110 §10.1.1' },

  // Host (RFC 9112 §3.2) and absolute-form (§3.2.2).
  { name: 'HTTP/1.1 without Host', request: `GET / HTTP/1.1\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §3.2, finding 4' },
  { name: 'two Host lines', request: `GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §3.2, finding 4' },
  { name: 'a Host with a space and a slash', request: `GET / HTTP/1.1\r\nHost: a b/c\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §3.2, finding 4' },
  { name: 'a Host with userinfo', request: `GET / HTTP/1.1\r\nHost: user@x\r\n${C}\r\n`, status: 400, rule: 'RFC 9110 §4.2.4 (userinfo is not allowed)' },
  { name: 'a Host with a port above 65535', request: `GET / HTTP/1.1\r\nHost: x:99999\r\n${C}\r\n`, status: 400, rule: 'RFC 3986 §3.2.3' },
  { name: 'an empty Host (an authority with no host)', request: `GET /x.txt HTTP/1.1\r\nHost:\r\n${C}\r\n`, status: 200, rule: 'RFC 9112 §3.2' },
  { name: 'an IPv6 literal Host with a port', request: `GET /x.txt HTTP/1.1\r\nHost: [::1]:8080\r\n${C}\r\n`, status: 200, rule: 'RFC 3986 §3.2.2' },
  { name: 'a Host with a trailing dot', request: `GET /x.txt HTTP/1.1\r\nHost: localhost.\r\n${C}\r\n`, status: 200, rule: 'RFC 3986 §3.2.2' },
  { name: 'absolute-form, Host ignored', request: `GET http://localhost/x.txt HTTP/1.1\r\nHost: other\r\n${C}\r\n`, status: 200, rule: 'RFC 9112 §3.2.2 MUST accept, finding 6' },
  { name: 'absolute-form with https and a port', request: `GET https://localhost:8443/x.txt HTTP/1.1\r\nHost: localhost:8443\r\n${C}\r\n`, status: 200, rule: 'RFC 9112 §3.2.2' },
  { name: 'absolute-form without Host', request: `GET http://localhost/x.txt HTTP/1.1\r\n${C}\r\n`, status: 200, rule: 'RFC 9112 §3.2.2 (the Host field is ignored "if any"); nginx 200' },
  { name: 'absolute-form with an invalid authority', request: `GET http://a b/x.txt HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §3.2.2' },

  // Header fields (RFC 9112 §5, RFC 9110 §5.5).
  { name: 'a space before the colon', request: `GET / HTTP/1.1\r\nHost : x\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §5.1 MUST reject' },
  { name: 'a field name with a parenthesis', request: `GET / HTTP/1.1\r\nHost: x\r\nX(Y): z\r\n${C}\r\n`, status: 400, rule: 'RFC 9110 §5.1 (a name is a token)' },
  { name: 'a NUL in a field value', request: `GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n${C}\r\n`, status: 400, rule: 'RFC 9110 §5.5 MUST reject' },
  { name: 'a bare CR in a field value', request: `GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n${C}\r\n`, status: 400, rule: 'RFC 9110 §5.5 MUST reject' },
  { name: 'obs-fold (a continuation line)', request: `GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n${C}\r\n`, status: 400, rule: 'RFC 9112 §5.2 (MAY reject; smuggling)' },

  // Message framing and smuggling (RFC 9112 §6).
  { name: 'Content-Length and Transfer-Encoding together', request: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n${C}\r\n0\r\n\r\n`, status: 400, rule: 'RFC 9112 §6.1 (close after; Caddy answers twice)' },
  { name: 'two different Content-Lengths', request: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n${C}\r\nhello!`, status: 400, rule: 'RFC 9112 §6.3 MUST reject' },
  { name: 'two equal Content-Lengths', request: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n${C}\r\nhello`, status: 400, rule: 'RFC 9112 §6.3 (MAY accept; refused as smuggling bait)' },
  { name: 'a Content-Length list', request: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n${C}\r\nhello`, status: 400, rule: 'RFC 9112 §6.3' },
  { name: 'a negative Content-Length', request: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n${C}\r\n`, status: 400, rule: 'RFC 9110 §8.6' },
  { name: 'a Content-Length with a plus sign', request: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n${C}\r\nhello`, status: 400, rule: 'RFC 9110 §8.6 (1*DIGIT)' },
  { name: 'chunked that is not the last coding', request: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n${C}\r\n0\r\n\r\n`, status: 400, rule: 'RFC 9112 §6.3 MUST 400 and close' },
  { name: 'a coding that is not chunked', request: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n${C}\r\n0\r\n\r\n`, status: 400, rule: 'RFC 9112 §6.3 MUST 400 and close' },
  { name: 'a coding before chunked (gzip, chunked)', request: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n${C}\r\n0\r\n\r\n`, status: 501, rule: 'RFC 9112 §6.1 SHOULD 501 (a coding not implemented; never dropped silently); nginx and Caddy 501' },
  { name: 'gzip and chunked on two Transfer-Encoding lines', request: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n${C}\r\n0\r\n\r\n`, status: 501, rule: 'RFC 9110 §5.3 (lines combine into one list), RFC 9112 §6.1' },
  { name: 'a coding that was removed (identity, chunked)', request: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n${C}\r\n0\r\n\r\n`, status: 501, rule: 'RFC 9112 §6.1 (identity is no longer a transfer coding)' },
  { name: 'chunked twice', request: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n${C}\r\n0\r\n\r\n`, status: 400, rule: 'RFC 9112 §6.1 (MUST NOT apply chunked more than once)' },
  { name: 'Chunked in another case', request: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n${C}\r\n0\r\n\r\n`, status: 405, rule: 'RFC 9112 §7 (coding names are case-insensitive)' },
  { name: 'a body over the limit, refused before it is read', request: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n${C}\r\n`, status: 413, rule: 'RFC 9110 §15.5.14' },
  { name: 'a chunked body on GET (read, then the connection closes)', request: 'GET /x.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', status: 200, rule: 'RFC 9110 §9.3.1', expect: /connection: close/ },
  // A malformed chunked body after a request that was answered: one response, never a second
  // (a pipelining proxy would take a second one for its next request). Finding 3.
  { name: 'a chunk size that is not hex', request: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', status: 405, rule: 'RFC 9112 §7.1, finding 3' },
  { name: 'a chunk size that overflows', request: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n', status: 405, rule: 'RFC 9112 §7.1, finding 3' },
  { name: 'a chunk size with 0x', request: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n', status: 405, rule: 'RFC 9112 §7.1, finding 3' },
  { name: 'chunks ended by bare LF', request: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n', status: 405, rule: 'RFC 9112 §7.1, finding 3' },
  { name: 'a 20 KB chunk extension', request: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;${'a'.repeat(20_000)}\r\nabc\r\n0\r\n\r\n`, status: 405, rule: 'RFC 9112 §7.1.1, finding 3' },

  // Connections (RFC 9112 §9).
  { name: 'Connection: close is honoured', request: `GET /x.txt HTTP/1.1\r\nHost: x\r\n${C}\r\n`, status: 200, rule: 'RFC 9112 §9.6', expect: /connection: close/i },
  { name: 'HTTP/1.0 closes by default', request: 'GET /x.txt HTTP/1.0\r\nHost: x\r\n\r\n', status: 200, rule: 'RFC 9112 §9.3' },
];

/** Sends bytes on a fresh connection and returns all the server sent before it closed. */
function exchange(bytes: string, endAfterWriting = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(Buffer.from(bytes, 'latin1'));
      if (endAfterWriting) socket.end();
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(Buffer.concat(chunks).toString('latin1')) : reject(error)));
  });
}

/** The status of each response in order (a body may end right where the next status line begins). */
const statusLines = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) [A-Z]/g)].map((m) => m[1]!);

test(`the HTTP/1.1 table has at least 60 rows (${rows.length})`, () => {
  assert.ok(rows.length >= 60);
});

for (const row of rows) {
  test(`HTTP/1.1: ${row.name} → ${row.status} (${row.rule})`, async () => {
    const response = await exchange(row.request);
    assert.deepEqual(statusLines(response), [String(row.status)], `exactly one response:\n${response.slice(0, 400)}`);
    assert.doesNotMatch(response, /100 Continue/, 'no 100 Continue');
    if (row.expect) assert.match(response, row.expect);
  });
}

test('HTTP/1.1: pipelined requests are answered in order on one connection (RFC 9112 §9.3.2)', async () => {
  const response = await exchange(`GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\nHEAD /x.txt HTTP/1.1\r\nHost: x\r\n${C}\r\n`);
  assert.deepEqual(statusLines(response), ['200', '404', '200']);
});

test("HTTP/1.1: a request followed at once by the client's FIN is answered, then closed (finding 5)", async () => {
  // `printf 'GET / …' | nc`: twenty health checks, each answered.
  const answers = await Promise.all(Array.from({ length: 20 }, () => exchange('GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n', true)));
  assert.deepEqual(
    answers.map((text) => statusLines(text)),
    answers.map(() => ['200']),
  );
});

// A malformed request pipelined behind valid ones, in the same packet: each valid request is
// answered, in order, and only then the error's status, after which the connection closes
// (RFC 9112 §9.3.2). Sending the error at once left the client pairing it with its first
// request. The first response is made slow on purpose: a file read for the first time, a large
// file streamed in pieces.
interface PipelineRow {
  readonly name: string;
  /** The valid requests in front of the malformed bytes, and the statuses they get. */
  readonly before: string;
  readonly malformed: string;
  readonly statuses: readonly string[];
  /** Written into the site before the request; the body the first response must carry whole. */
  readonly file?: { readonly name: string; readonly bytes: number };
}

let fresh = 0;
const pipelineRows = (): PipelineRow[] => [
  { name: 'a GET, then garbage', before: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', malformed: 'GARBAGE\r\n\r\n', statuses: ['200', '400'] },
  { name: 'a GET for a file not read yet, then garbage', before: `GET /fresh-${++fresh}.txt HTTP/1.1\r\nHost: x\r\n\r\n`, malformed: 'GARBAGE\r\n\r\n', statuses: ['200', '400'], file: { name: `fresh-${fresh}.txt`, bytes: 3000 } },
  { name: 'a GET for a 6 MiB file, then garbage', before: 'GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n', malformed: 'GARBAGE\r\n\r\n', statuses: ['200', '400'], file: { name: 'large.bin', bytes: 6 * 1024 * 1024 } },
  { name: 'three requests, then garbage', before: 'GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\nHEAD /x.txt HTTP/1.1\r\nHost: x\r\n\r\n', malformed: 'GARBAGE\r\n\r\n', statuses: ['200', '404', '200', '400'] },
  { name: 'a GET, then an unknown method', before: 'GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n', malformed: 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n', statuses: ['200', '501'] },
  { name: 'a GET, then HTTP/3.0', before: 'GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n', malformed: 'GET / HTTP/3.0\r\nHost: x\r\n\r\n', statuses: ['200', '505'] },
  { name: 'a GET, then a request line over 16 KiB', before: 'GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n', malformed: `GET /${'b'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, statuses: ['200', '414'] },
  { name: 'a GET, then header fields over 16 KiB', before: 'GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n', malformed: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'c'.repeat(20_000)}\r\n\r\n`, statuses: ['200', '431'] },
];

for (const row of pipelineRows()) {
  test(`HTTP/1.1 pipelined: ${row.name} → ${row.statuses.join(', ')}, then close (RFC 9112 §9.3.2)`, async () => {
    if (row.file) await writeFile(join(servers.box.site, row.file.name), Buffer.alloc(row.file.bytes, 'a'));
    const response = await exchange(row.before + row.malformed);
    assert.deepEqual(statusLines(response), row.statuses, `every response, in order:\n${response.slice(0, 400)}`);
    const error = response.lastIndexOf('HTTP/1.1 ');
    assert.match(response.slice(error), /^HTTP\/1\.1 \d{3} [^\r]*\r\n(?:[^\r]*\r\n)*connection: close\r\n/i, 'the error says the connection closes');
    if (row.file) {
      const bodyStart = response.indexOf('\r\n\r\n') + 4;
      assert.equal(error - bodyStart, row.file.bytes, 'the first response carries its whole body before the error');
    }
  });
}
