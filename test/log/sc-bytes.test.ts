import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { accessLogLines } from '../support/access-log-lines.js';
import { eventually } from '../support/eventually.js';
import type { PorticoProcess } from '../support/portico-process.js';
import type { Sandbox } from '../support/sandbox.js';
import { loopbackConfig, useTestServers } from '../support/test-servers.js';

// sc-bytes is the response body's bytes as the client receives them once its transport's framing
// is taken off (docs/logs.md): for a proxied response of unknown length, which HTTP/1.1 sends
// chunked, the chunks' data without their size lines and CRLFs; over HTTP/2 the DATA frames'
// payload. The upstream here writes a body of known size in several writes and no
// Content-Length; a raw TCP client counts what it received after the head, both ways.
const HOST = 'app.example.test';
/** Several writes, of sizes that make chunks of very different size lines. */
const PIECES = [1000, 1, 65_536, 300, 7];
const BODY_BYTES = PIECES.reduce((sum, size) => sum + size, 0);
let box: Sandbox;
let portico: PorticoProcess;
let httpPort: number;
let httpsPort: number;
let rootCa: string;
let upstream: Server;
const servers = useTestServers();

before(async () => {
  box = await servers.ready();
  servers.cleanUp(() => upstream?.close());
  upstream = createServer((_request, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    // One write after another has gone out, so the body reaches Portico in pieces.
    const write = (i: number): void => {
      if (i === PIECES.length) return void res.end();
      res.write(Buffer.alloc(PIECES[i]!, 0x61 + i), () => write(i + 1));
    };
    write(0);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as { port: number }).port;
  portico = await servers.serveConfig([
    ...loopbackConfig(box),
    'sites:',
    '  - name: app',
    `    hosts: [${HOST}]`,
    '    log: { dir: ./logs, fields: [cs-method, cs-uri-stem, sc-status, sc-bytes, cs-version] }',
    `    proxy: [{ path: /, to: [http://127.0.0.1:${upstreamPort}] }]`,
  ]);
  [httpPort, httpsPort, rootCa] = await Promise.all([portico.port('http'), portico.port('https'), servers.rootCa()]);
});

const logLines = (): Promise<string[]> => accessLogLines(join(box.dir, 'logs'));

/** The sc-bytes of the one line for `path`, once it is written (within a second or so). */
async function scBytes(path: string): Promise<number> {
  const line = async (): Promise<string | undefined> => (await logLines()).find((candidate) => candidate.split(' ')[1] === path);
  const found = await eventually(async () => (await line()) ?? false, { what: `a log line for ${path}` });
  return Number(found.split(' ')[3]);
}

/** Takes the chunked framing off a body (RFC 9112 §7.1): the data's bytes, or an error for a malformed one. */
function unchunk(framed: Buffer): { data: number; chunks: number } {
  let at = 0;
  let data = 0;
  let chunks = 0;
  for (;;) {
    const lineEnd = framed.indexOf('\r\n', at);
    assert.ok(lineEnd !== -1, 'a chunk size line');
    const size = parseInt(framed.subarray(at, lineEnd).toString('latin1').split(';')[0]!, 16);
    assert.ok(Number.isInteger(size), 'a hexadecimal chunk size');
    at = lineEnd + 2;
    if (size === 0) {
      // No trailers: the last chunk is followed by the blank line, and nothing else.
      assert.equal(framed.subarray(at).toString('latin1'), '\r\n');
      return { data, chunks };
    }
    assert.equal(framed.subarray(at + size, at + size + 2).toString('latin1'), '\r\n', 'CRLF after a chunk');
    data += size;
    chunks += 1;
    at += size + 2;
  }
}

test('HTTP/1.1, a chunked proxied response: sc-bytes is the chunks\' data the client received, without the framing', async () => {
  const received = await new Promise<Buffer>((resolve, reject) => {
    const socket = netConnect(httpPort, '127.0.0.1', () => socket.write(`GET /api/chunked HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`));
    const parts: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(parts)));
    socket.once('error', reject);
  });
  const headEnd = received.indexOf('\r\n\r\n');
  const head = received.subarray(0, headEnd).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.match(head, /\r\ntransfer-encoding: chunked/i, 'no Content-Length from the upstream: Portico sends it chunked');
  assert.doesNotMatch(head, /\r\ncontent-length:/i);
  const raw = received.subarray(headEnd + 4);
  const { data, chunks } = unchunk(raw);
  assert.equal(data, BODY_BYTES, 'the body arrived whole');
  assert.ok(raw.length > data, 'the framing is on the wire too');
  const logged = await scBytes('/api/chunked');
  assert.equal(logged, data, `sc-bytes ${logged}: the ${data} bytes of data in ${chunks} chunk(s), not the ${raw.length} bytes with their framing`);
});

test('HTTP/2, the same response: sc-bytes is the DATA frames\' payload the client received', async () => {
  const session = http2Connect(`https://127.0.0.1:${httpsPort}`, { ca: rootCa, servername: HOST });
  let data = 0;
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':path': '/api/chunked-h2', ':authority': HOST });
      let answered = 0;
      stream.on('response', (headers) => (answered = Number(headers[':status'])));
      stream.on('data', (chunk: Buffer) => (data += chunk.length));
      stream.on('end', () => resolve(answered));
      stream.on('error', reject);
    });
    assert.equal(status, 200);
  } finally {
    session.close();
  }
  assert.equal(data, BODY_BYTES);
  assert.equal(await scBytes('/api/chunked-h2'), data);
});
