import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * A small application for the reverse-proxy tests, run as its own process (so a test can
 * SIGKILL it): `node upstream-server.js PORT NAME`. It prints `listening PORT` when ready.
 *
 *   /whoami          its NAME              /slow?ms=N   its NAME after N ms
 *   /hang            accepts, never answers  /hanging     how many /hang requests are still open
 *   /chunks          5 chunks, 200 ms apart /sse         3 server-sent events, 100 ms apart
 *   /upload (POST)   {"bytes", "sha256"} of the body
 *   /headers         the request's header fields as JSON
 *   /hop             a response with hop-by-hop fields, a Location at itself and a cookie
 *   /health          200
 *   /ws              a WebSocket echo (RFC 6455, text frames)
 *   /status?code=N   a raw `HTTP/1.1 N Weird` response (any three digits, valid or not)
 *   /raw?head=NAME   a raw response head undici refuses: `overflow` (a 20 KiB field), `upgrade`
 *                    (101 to a plain GET), `continue` (a lone 100), `short` (2 of 100 body bytes)
 */
const port = Number(process.argv[2]);
const name = process.argv[3] ?? 'upstream';

let hanging = 0;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://upstream');
  switch (url.pathname.replace(/^\/(api|lc|dead|via|ip)(?=\/)/, '').replace(/^.*(?=\/(?:whoami|upload|headers|status|raw|hang|hanging)$)/, '')) {
    case '/whoami':
      return void res.end(name);
    case '/slow':
      return void setTimeout(() => res.end(name), Number(url.searchParams.get('ms') ?? 1000));
    case '/hang':
      hanging += 1;
      // Over when its connection closes: the proxy gave up on it.
      req.socket.once('close', () => (hanging -= 1));
      return;
    case '/hanging':
      return void res.end(String(hanging));
    case '/chunks':
      res.writeHead(200, { 'content-type': 'text/plain' });
      return paced(res, 5, 200, (i) => `chunk ${i} at ${Date.now()}\n`);
    case '/sse':
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      return paced(res, 3, 100, (i) => `id: ${i}\ndata: event ${i} at ${Date.now()}\n\n`);
    case '/upload': {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
      return;
    }
    case '/headers':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(req.headers));
    case '/hop':
      res.writeHead(302, [
        ['Connection', 'X-Upstream-Private'],
        ['X-Upstream-Private', 'secret'],
        ['Keep-Alive', 'timeout=5'],
        ['X-Kept', 'yes'],
        ['Location', `http://127.0.0.1:${port}/elsewhere?q=1`],
        ['Set-Cookie', 'a=1; Domain=internal.test; Path=/'],
        ['Set-Cookie', 'b=2; Path=/'],
      ]);
      return void res.end();
    case '/health':
      return void res.end('ok');
    case '/raw': {
      const heads: Record<string, string> = {
        overflow: `HTTP/1.1 200 OK\r\nx-echo: ${'a'.repeat(20_000)}\r\ncontent-length: 2\r\n\r\nok`,
        upgrade: 'HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n',
        continue: 'HTTP/1.1 100 Continue\r\n\r\n',
        short: 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nok',
      };
      return void req.socket.end(heads[url.searchParams.get('head') ?? ''] ?? 'HTTP/1.1 500 Nothing\r\ncontent-length: 0\r\n\r\n');
    }
    case '/status':
      // Written past node:http, which would refuse a status it thinks invalid.
      return void req.socket.end(`HTTP/1.1 ${url.searchParams.get('code') ?? '999'} Weird\r\ncontent-length: 5\r\nconnection: close\r\n\r\nweird`);
    default:
      res.writeHead(404);
      return void res.end(`${name}: no ${url.pathname}`);
  }
});

server.on('upgrade', (req, socket: Duplex) => {
  const key = req.headers['sec-websocket-key'];
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') return void socket.destroy();
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Upstream: ${name}\r\n\r\n`);
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = buffer[0]! & 0x0f;
      let length = buffer[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      const masked = (buffer[1]! & 0x80) !== 0;
      if (buffer.length < at + (masked ? 4 : 0) + length) return;
      const mask = masked ? buffer.subarray(at, at + 4) : undefined;
      at += masked ? 4 : 0;
      const payload = Buffer.from(buffer.subarray(at, at + length));
      if (mask) for (let i = 0; i < payload.length; i += 1) payload[i]! ^= mask[i % 4]!;
      buffer = buffer.subarray(at + length);
      if (opcode === 0x8) {
        socket.end(frame(0x8, payload.subarray(0, 2)));
        return;
      }
      if (opcode === 0x1 || opcode === 0x2) socket.write(frame(opcode, payload));
    }
  });
  socket.on('error', () => undefined);
});

/** Writes `count` pieces `gapMs` apart, then ends the response. */
function paced(res: import('node:http').ServerResponse, count: number, gapMs: number, piece: (i: number) => string): void {
  let sent = 0;
  const timer = setInterval(() => {
    res.write(piece(sent));
    if (++sent === count) {
      clearInterval(timer);
      res.end();
    }
  }, gapMs);
}

/** A server frame: FIN, the opcode, unmasked. */
function frame(opcode: number, payload: Buffer): Buffer {
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}

server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
