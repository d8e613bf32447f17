import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { ServerHttp2Stream } from 'node:http2';
import { connect as connectTcp, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS } from '../../src/config/defaults.js';
import type { Exchange } from '../../src/http/exchange.js';
import { bytesResponse, type Response } from '../../src/http/response.js';
import type { Dispatch } from '../../src/server/dispatch.js';
import { Http2Transport } from '../../src/server/http2-transport.js';
import { ERROR_CODE, FLAG, FRAME, frame, getRequestBlock, literalField, PREFACE, readFrames } from '../support/http2-frames.js';
import { recordingLogger } from '../support/in-process.js';
import { createSandbox, freePort, type Sandbox } from '../support/sandbox.js';
import { PorticoProcess } from '../support/portico-process.js';

// HTTP/2 header fields that HPACK can carry but RFC 9113 §8.2.1 forbids: a request holding one
// is malformed (a stream error). nghttp2 refuses some itself (an upper-case name, a
// connection-specific field, a bad pseudo-header). The others (CR, LF or NUL in a value, a colon
// or a space in a name, an empty name, whitespace around a value) it drops, because Node's
// Http2Session::OnInvalidHeader tells it to (src/node_http2.cc), and the request arrives without
// them: Portico never sees them and cannot refuse it (docs/security.md, "HTTP/2"). What is
// tested here is that nothing gets through: what a handler sees, and what a proxied upstream
// is sent, holds none of the dropped bytes, and the fields after a dropped one are intact.
// Should a runtime start refusing such a request (RST_STREAM PROTOCOL_ERROR), the rows pass too.

const UPSTREAM = fileURLToPath(new URL('../support/upstream-server.js', import.meta.url));
const HOST = 'fields.example.test';
/** Sent after the malformed field: it must arrive, whole, whatever was dropped before it. */
const MARKER = literalField('x-after', 'intact');

interface Row {
  readonly name: string;
  readonly fields: readonly Buffer[];
  /** Refused by nghttp2 (RST_STREAM PROTOCOL_ERROR) on every runtime, rather than dropped. */
  readonly refused?: true;
  /** The request's :authority, when the row is about it. */
  readonly authority?: string;
}

const rows: Row[] = [
  { name: 'a value with LF', fields: [literalField('x-evil', 'a\nx-injected: 1')] },
  { name: 'a value with CR', fields: [literalField('x-evil', 'a\rx-injected: 1')] },
  { name: 'a value with CRLF and a second field', fields: [literalField('x-evil', 'a\r\nx-injected: 1')] },
  { name: 'a value with NUL', fields: [literalField('x-evil', 'a\0x-injected')] },
  { name: 'a name with a colon', fields: [literalField('x-evil:x-injected', '1')] },
  { name: 'a name with a space', fields: [literalField('x-evil x-injected', '1')] },
  { name: 'an empty name', fields: [literalField('', 'x-injected')] },
  { name: 'a value with a leading space', fields: [literalField('x-evil', ' x-injected')] },
  { name: 'a Host with CRLF beside :authority', fields: [literalField('host', 'x-injected.example\r\nx-evil: 1')] },
  { name: 'an X-Forwarded-For with LF', fields: [literalField('x-forwarded-for', '203.0.113.9\nx-injected: 1')] },
  { name: 'a Cookie with NUL', fields: [literalField('cookie', 'a=1\0x-injected=1')] },
  { name: 'an upper-case name', fields: [literalField('X-Evil', 'x-injected')], refused: true },
  { name: 'Connection (connection-specific)', fields: [literalField('connection', 'x-injected')], refused: true },
  { name: 'Transfer-Encoding (connection-specific)', fields: [literalField('transfer-encoding', 'chunked')], refused: true },
  { name: 'TE other than trailers', fields: [literalField('te', 'gzip')], refused: true },
  { name: 'an :authority with LF', fields: [], authority: `${HOST}\nx-injected: 1`, refused: true },
];

interface Outcome {
  /** The stream's RST_STREAM error code, if it was reset. */
  readonly reset?: number;
  /** :status when the response's HEADERS indexed it in the static table (nghttp2 does for 200, 400, 404, ...). */
  readonly status?: number;
  readonly body: string;
}

const STATIC_STATUS: Record<number, number> = { 0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500 };

/** One GET on stream 1 of a fresh connection, its header block written byte for byte. */
function rawRequest(socket: Duplex, path: string, row: Row): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    let status: number | undefined;
    let body = '';
    const done = (outcome: Outcome): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      for (const f of readFrames(Buffer.concat(received))) {
        if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0) continue;
        if (f.type === FRAME.GOAWAY) return done({ reset: f.payload.readUInt32BE(4), body });
        if (f.streamId !== 1) continue;
        if (f.type === FRAME.RST_STREAM) return done({ reset: f.payload.readUInt32BE(0), status, body });
        if (f.type === FRAME.HEADERS) status = STATIC_STATUS[f.payload[0]!];
        if (f.type === FRAME.DATA) body += f.payload.toString('utf8');
        if ((f.type === FRAME.HEADERS || f.type === FRAME.DATA) && (f.flags & FLAG.END_STREAM) !== 0) return done({ status, body });
      }
      body = '';
      status = undefined;
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the connection closed before stream 1 ended (${Buffer.concat(received).length} bytes in)`)));
    const block = getRequestBlock(path, row.authority ?? HOST, [...row.fields, MARKER]);
    socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0), frame(FRAME.SETTINGS, FLAG.ACK, 0), frame(FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS, 1, block)]));
  });
}

/** What must hold of the header fields someone was given for a row that was served. */
function assertNothingSmuggled(headers: Record<string, unknown>, where: string): void {
  const text = JSON.stringify(headers);
  assert.doesNotMatch(text, /evil|injected/i, `${where} holds none of the dropped field: ${text}`);
  assert.doesNotMatch(text, /\\[rn]|\\u0000/, `${where} holds no CR, LF or NUL: ${text}`);
  assert.equal(headers['x-after'], 'intact', `${where} has the field sent after the dropped one: ${text}`);
}

function assertOutcome(row: Row, outcome: Outcome, where: string): Record<string, unknown> | undefined {
  if (row.refused || outcome.reset !== undefined) {
    assert.equal(outcome.reset, ERROR_CODE.PROTOCOL_ERROR, `${where}: RST_STREAM PROTOCOL_ERROR, not ${JSON.stringify(outcome)}`);
    return undefined;
  }
  assert.equal(outcome.status, 200, `${where}: ${JSON.stringify(outcome)}`);
  return JSON.parse(outcome.body) as Record<string, unknown>;
}

// What a handler sees: Portico's HTTP/2 transport in this process, over cleartext HTTP/2 (the
// transport is the same behind TLS), with a dispatcher that answers with the exchange's fields.
let transport: Http2Transport;
let plain: TcpServer;
let plainPort: number;

// What an upstream is sent: a Portico process proxying /api/ to a small application that
// answers with the header fields it received (test/support/upstream-server.ts, /headers).
let box: Sandbox;
let portico: PorticoProcess;
let upstream: ChildProcess;
let httpsPort: number;

before(async () => {
  const dispatch: Dispatch = (exchange: Exchange, out, writer, answer?: Response) => {
    const response = answer ?? bytesResponse(200, { 'content-type': 'application/json' }, JSON.stringify(exchange.headers));
    writer.writeHead(out, response, false);
    (out as unknown as ServerHttp2Stream).end(response.body.kind === 'bytes' ? response.body.data : '');
  };
  transport = new Http2Transport({ ...DEFAULT_LIMITS, headerTimeoutMs: 20_000, handshakeHoldMs: 5_000 }, dispatch, recordingLogger(), { streamsBody: () => false });
  plain = createTcpServer((socket) => transport.accept(socket));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  plainPort = (plain.address() as { port: number }).port;

  box = await createSandbox();
  const upstreamPort = await freePort();
  upstream = spawn(process.execPath, [UPSTREAM, String(upstreamPort), 'fields'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    upstream.stdout!.on('data', (chunk: Buffer) => (/listening/.test(chunk.toString()) ? resolve() : undefined));
    upstream.once('exit', (code) => reject(new Error(`the upstream exited (${code})`)));
  });
  await writeFile(
    join(box.dir, 'portico.yaml'),
    ['http: 0', 'https: 0', 'bind: 127.0.0.1', 'workers: 1', `state: ${box.state}`, 'sites:', '  - name: fields', `    hosts: [${HOST}]`, `    root: ${box.site}`, '    proxy:', `      - { path: /api/, to: [http://127.0.0.1:${upstreamPort}] }`, ''].join('\n'),
  );
  portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')]);
  await portico.waitFor(/^ready: /m);
  httpsPort = await portico.port('https');
});

after(async () => {
  transport?.stop();
  plain?.close();
  await portico?.stop();
  upstream?.kill('SIGKILL');
  await box?.remove();
});

const openPlain = (): Promise<Duplex> =>
  new Promise((resolve, reject) => {
    const socket = connectTcp(plainPort, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });

const openTls = (): Promise<Duplex> =>
  new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port: httpsPort, servername: HOST, ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => resolve(socket));
    socket.once('error', reject);
  });

test('a well-formed request with the marker field is served, and the marker arrives (both views)', async () => {
  const row: Row = { name: 'well-formed', fields: [literalField('x-fine', 'a\tb')] };
  const seen = assertOutcome(row, await rawRequest(await openPlain(), '/', row), 'the handler')!;
  assert.equal(seen['x-fine'], 'a\tb');
  assert.equal(seen['x-after'], 'intact');
  const sent = assertOutcome(row, await rawRequest(await openTls(), '/api/headers', row), 'the upstream')!;
  assert.equal(sent['x-fine'], 'a\tb');
  assert.equal(sent['x-after'], 'intact');
});

for (const row of rows) {
  const expected = row.refused ? 'RST_STREAM PROTOCOL_ERROR' : 'dropped by nghttp2 (known deviation), nothing smuggled';
  test(`HTTP/2: ${row.name} → ${expected} (RFC 9113 §8.2.1, §8.2.2, §8.3.1)`, async () => {
    const seen = assertOutcome(row, await rawRequest(await openPlain(), '/', row), 'the handler');
    if (seen) assertNothingSmuggled(seen, 'what the handler sees');
    const sent = assertOutcome(row, await rawRequest(await openTls(), '/api/headers', row), 'the upstream');
    if (sent) {
      assertNothingSmuggled(sent, 'what the upstream is sent');
      assert.equal(sent['x-forwarded-for'], '127.0.0.1', `the upstream is told the client's address only: ${JSON.stringify(sent)}`);
    }
  });
}

