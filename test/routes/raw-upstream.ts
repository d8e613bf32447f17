import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { MatrixTarget } from '../support/matrix.js';
import type { PorticoProcess } from '../support/portico-process.js';
import { loopbackConfig, type TestServers } from '../support/test-servers.js';

/**
 * An upstream written on raw sockets, for the routes' attack tests: it records the head of every
 * request it receives (so a test can assert a protected path never reached it) and answers each
 * by its path's last segment, well or badly:
 *
 *   ok         200 with its name            upgrade-ok   101 to a WebSocket upgrade, then echo
 *   garbage    bytes that are not HTTP      status-999   `HTTP/1.1 999`, status-0 `HTTP/1.1 000`
 *   only-100   a lone 100 Continue, closed  switch-101   101 to a request that asked no upgrade
 *   stall-head accepts, never answers       stall-body   head (Content-Length 200000), 1 KiB, silence
 *   stall-small head (Content-Length 1000), 10 bytes, silence
 *   reset-mid  head and part of the body, then a TCP reset
 *   big        a 64 MiB body, written as fast as the proxy takes it
 */
export interface RawUpstream {
  readonly port: number;
  /** Every request head received, in order: the request line and the fields, as sent. */
  readonly heads: string[];
  /** Sockets still open (a stalled answer the proxy has not given up on). */
  openSockets(): number;
  /** Bytes of `big` written so far (what the proxy read from it). */
  bigWritten(): number;
  close(): Promise<void>;
}

export const BIG_BYTES = 64 * 1024 * 1024;

export async function startRawUpstream(name: string): Promise<RawUpstream> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  let bigWritten = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let answering = false;
    socket.on('data', (chunk: Buffer) => {
      if (answering) return;
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buffered.subarray(0, end).toString('latin1');
      heads.push(head);
      const [, target = '/'] = head.split(' ');
      const last = target.split('?')[0]!.split('/').pop() ?? '';
      const rest = buffered.subarray(end + 4);
      // A keep-alive request with no body: answer it and wait for the next one on this socket.
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (last === 'ok' || !['garbage', 'status-999', 'status-0', 'only-100', 'switch-101', 'stall-head', 'stall-body', 'stall-small', 'reset-mid', 'big', 'upgrade-ok', 'two-lengths', 'length-list', 'short-close'].includes(last)) {
        if (rest.length < length) {
          // Read the body before answering (a POST to the app).
          answering = true;
          let got = rest.length;
          const onData = (more: Buffer): void => {
            got += more.length;
            if (got >= length) {
              socket.off('data', onData);
              answering = false;
              buffered = Buffer.alloc(0);
              answer(socket, `${name} ${target} ${got}`);
            }
          };
          socket.on('data', onData);
          return;
        }
        buffered = rest.subarray(length);
        answer(socket, `${name} ${target} ${length}`);
        return;
      }
      answering = true;
      switch (last) {
        case 'garbage':
          return void socket.end('\x00\x01\x02 this is not HTTP at all \xff\xfe\r\n\r\n');
        case 'status-999':
          return void socket.end('HTTP/1.1 999 Weird\r\ncontent-length: 5\r\nconnection: close\r\n\r\nweird');
        case 'status-0':
          return void socket.end('HTTP/1.1 000 Zero\r\ncontent-length: 5\r\nconnection: close\r\n\r\nweird');
        case 'only-100':
          return void socket.end('HTTP/1.1 100 Continue\r\n\r\n');
        case 'switch-101':
          return void socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\nnot http anymore');
        case 'upgrade-ok':
          socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
          return void socket.on('data', (more: Buffer) => socket.write(more));
        case 'stall-head':
          return;
        case 'stall-body':
          return void socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 200000\r\n\r\n${'x'.repeat(1024)}`);
        case 'stall-small':
          return void socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n0123456789');
        case 'reset-mid':
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 200000\r\n\r\n${'y'.repeat(100_000)}`, () => socket.resetAndDestroy());
          return;
        // Framing that does not add up (found by the outside review): two Content-Lengths that differ,
        // one field listing two, and a body shorter than its length before the close.
        case 'two-lengths':
          return void socket.end('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello');
        case 'length-list':
          return void socket.end('HTTP/1.1 200 OK\r\ncontent-length: 5, 7\r\n\r\nhello');
        case 'short-close':
          return void socket.end('HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nhello');
        case 'big': {
          socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${BIG_BYTES}\r\n\r\n`);
          const piece = Buffer.alloc(64 * 1024, 0x61);
          const pump = (): void => {
            while (bigWritten < BIG_BYTES) {
              bigWritten += piece.length;
              if (!socket.write(piece)) return void socket.once('drain', pump);
            }
            socket.end();
          };
          return pump();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    heads,
    openSockets: () => sockets.size,
    bigWritten: () => bigWritten,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function answer(socket: Socket, body: string): void {
  socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** The request targets among `heads`, percent-decoded and lower-cased: what an application would route by. */
export function receivedPaths(heads: readonly string[]): string[] {
  return heads.map((head) => {
    const target = head.split(' ')[1] ?? '';
    let decoded = target;
    try {
      decoded = decodeURIComponent(target);
    } catch {
      // Left as sent.
    }
    return decoded.toLowerCase();
  });
}

/** A Portico whose one site serves ./public (an index.html) and falls back to `@app`, with routes of its own in front; and the raw upstream behind them. */
export interface BehindApp {
  readonly portico: PorticoProcess;
  readonly upstream: RawUpstream;
  readonly target: MatrixTarget;
}

/**
 * Starts a raw upstream and a Portico site `host` with `tryFiles: ["{path}", "@app"]`, whose
 * `routes` are `routeLines(upstreamPort)` (YAML lines, indented for the `routes` list).
 */
export async function serveBehindApp(servers: TestServers, host: string, routeLines: (upstreamPort: number) => readonly string[]): Promise<BehindApp> {
  const box = await servers.ready();
  const upstream = await startRawUpstream('app');
  servers.cleanUp(() => upstream.close());
  await mkdir(join(box.dir, 'public'));
  await writeFile(join(box.dir, 'public', 'index.html'), 'home\n');
  const portico = await servers.serveConfig([
    ...loopbackConfig(box),
    'sites:',
    `  - name: ${host.split('.')[0]}`,
    `    hosts: [${host}]`,
    '    root: ./public',
    '    tryFiles: ["{path}", "@app"]',
    '    routes:',
    ...routeLines(upstream.port),
  ]);
  const [port, ca] = await Promise.all([portico.port('https'), servers.rootCa()]);
  return { portico, upstream, target: { port, host, ca, timeoutMs: 30_000 } };
}

