import assert from 'node:assert/strict';
import { connect as connectHttp2 } from 'node:http2';
import { connect as connectTcp, type Socket } from 'node:net';
import { before, test } from 'node:test';
import { connect as connectTls } from 'node:tls';
import { httpRequest, rawExchange } from '../support/http-request.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

const servers = useTestServers();
let httpPort: number;
let httpsPort: number;
let portico: ReturnType<typeof servers.serve>;

before(async () => {
  const box = await servers.ready();
  portico = servers.serve(anyPortArgs(box, ['--workers', '1', '--header-timeout', '2s']));
  httpPort = await portico.port('http');
  httpsPort = await portico.port('https');
  await portico.waitUntilServing();
});

/**
 * A slowloris client: sends the start of a request, then one header byte per second, for at
 * most `maxBytes` seconds. Resolves with how many of those bytes it managed to send before the
 * server closed the connection, and what the server sent.
 */
function slowloris(socket: Socket, maxBytes = 40): Promise<{ sent: number; received: string }> {
  return new Promise((resolve) => {
    let sent = 0;
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ sent, received });
    });
    const start = (): void => {
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      timer = setInterval(() => {
        if (sent >= maxBytes) {
          clearInterval(timer);
          socket.destroy();
          return;
        }
        socket.write('a');
        sent += 1;
      }, 1_000);
    };
    if (socket instanceof Object && 'encrypted' in socket) socket.once('secureConnect', start);
    else socket.once('connect', start);
  });
}

test('a slowloris client on plain HTTP is cut off after the header timeout while others are served', async () => {
  const attack = slowloris(connectTcp(httpPort, '127.0.0.1'));
  assert.equal((await httpRequest(httpPort, '/')).status, 200, 'another client is served meanwhile');
  const { sent, received } = await attack;
  assert.ok(sent < 40, `cut off after ${sent} bytes, before the client gave up`);
  assert.match(received, /^HTTP\/1\.1 408/);
});

test('a slowloris client on HTTPS (HTTP/1.1 over TLS) is cut off after the header timeout too', async () => {
  const socket = connectTls({ host: '127.0.0.1', port: httpsPort, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
  const attack = slowloris(socket);
  const { sent } = await attack;
  assert.ok(sent < 40, `cut off after ${sent} bytes, before the client gave up`);
});

test('a request target over 8 KiB is 414', async () => {
  const reply = await httpRequest(httpPort, `/${'a'.repeat(9_000)}`);
  assert.equal(reply.status, 414);
});

test('a request line beyond the header limit is 414 too', async () => {
  const response = (await rawExchange(httpPort, `GET /${'b'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toString('latin1');
  assert.match(response, /^HTTP\/1\.1 414/);
});

test('header fields over 16 KiB are 431', async () => {
  const response = (await rawExchange(httpPort, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'c'.repeat(20_000)}\r\nConnection: close\r\n\r\n`)).toString('latin1');
  assert.match(response, /^HTTP\/1\.1 431/);
});

/** One HTTP/2 request with a body, sent in two DATA frames; resolves with the status. */
function http2Post(contentLength: string | undefined, bodyBytes: number): Promise<number> {
  const session = connectHttp2(`https://127.0.0.1:${httpsPort}`, { rejectUnauthorized: false });
  return new Promise<number>((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': '/', ...(contentLength ? { 'content-length': contentLength } : {}) }, { endStream: false });
    stream.on('response', (headers) => resolve(Number(headers[':status'])));
    stream.on('error', reject);
    stream.write(Buffer.alloc(bodyBytes / 2));
    setImmediate(() => stream.end(Buffer.alloc(bodyBytes / 2)));
  }).finally(() => session.close());
}

test('HTTP/2: a request body is read before the answer (405 for a static site), and one over the limit gets 413', async () => {
  assert.equal(await http2Post(undefined, 4096), 405);
  assert.equal(await http2Post(String(2 * 1024 * 1024), 2 * 1024 * 1024), 413);
  // No Content-Length: counted as it arrives, and refused once, however many frames follow.
  assert.equal(await http2Post(undefined, 3 * 1024 * 1024), 413);
  // One more with a Content-Length: its line comes after every line of the one before (the
  // worker's lines arrive in order), so once three are there, a flood would have shown.
  assert.equal(await http2Post(String(2 * 1024 * 1024), 2 * 1024 * 1024), 413);
  const refusals = /refused a request body over \d+ bytes [^\n]*\(HTTP\/2\)/g;
  await portico.waitFor(/(?:refused a request body over[^\n]*\(HTTP\/2\)[^]*){3}/, 10_000);
  assert.equal(portico.matches(refusals).length, 3, 'one WARN line per refused body, not one per DATA frame');
});

test('HTTP/2 advertises a bound of 100 concurrent streams per connection', async () => {
  const session = connectHttp2(`https://127.0.0.1:${httpsPort}`, { rejectUnauthorized: false });
  try {
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) => session.once('remoteSettings', resolve));
    assert.equal(settings.maxConcurrentStreams, 100);
  } finally {
    session.close();
  }
});

test('a malformed request line gets 400 and the server keeps serving', async () => {
  const response = (await rawExchange(httpPort, 'THIS IS NOT HTTP\r\n\r\n')).toString('latin1');
  assert.match(response, /^HTTP\/1\.1 400/);
  assert.equal((await httpRequest(httpPort, '/')).status, 200);
});

test('over TLS, header fields over 16 KiB get 431 whatever their size, not 414 (finding 9)', async () => {
  for (const size of [20_000, 100_000]) {
    const response = await new Promise<string>((resolve, reject) => {
      let received = '';
      const socket = connectTls({ host: '127.0.0.1', port: httpsPort, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () =>
        socket.write(`GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'c'.repeat(size)}\r\nConnection: close\r\n\r\n`),
      );
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('close', () => resolve(received));
      socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(received) : reject(error)));
    });
    assert.match(response, /^HTTP\/1\.1 431 /, `${size} bytes`);
  }
});
