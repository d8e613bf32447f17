import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { type ClientHttp2Session, connect as connectHttp2, constants } from 'node:http2';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { before, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import type { PorticoProcess } from '../support/portico-process.js';
import type { Sandbox } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

// A browser closing a tab that holds an EventSource, a phone losing its network, a client
// cancelling a long download: over HTTP/2 the client hangs up in the middle of a streamed
// response. That is an ordinary end, not a client that "broke the protocol": no WARN for it.
// A real protocol error still gets its WARN.
const HOST = 'app.example.test';
const servers = useTestServers();
let box: Sandbox;
let portico: PorticoProcess;
let httpsPort: number;
let ca: string;
let upstream: Server;
const streams = new Set<ServerResponse>();
let pump: NodeJS.Timeout;

before(async () => {
  box = await servers.ready();
  servers.cleanUp(() => {
    clearInterval(pump);
    for (const res of streams) res.destroy();
    upstream?.close();
  });
  // Server-sent events, one every 20 ms, for as long as the client stays (at most a minute).
  upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    streams.add(res);
    const started = Date.now();
    res.on('close', () => streams.delete(res));
    res.on('error', () => streams.delete(res));
    (res as ServerResponse & { started?: number }).started = started;
  });
  pump = setInterval(() => {
    for (const res of streams) {
      if (Date.now() - ((res as ServerResponse & { started?: number }).started ?? 0) > 60_000) res.end();
      else res.write(`data: ${Date.now()}\n\n`);
    }
  }, 20);
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const upstreamPort = (upstream.address() as { port: number }).port;
  portico = await servers.serveConfig(
    `http: off\nhttps: 0\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\nsites:\n  - name: app\n    hosts: [${HOST}]\n    root: ${box.site}\n    proxy:\n      - { path: /events/, to: [http://127.0.0.1:${upstreamPort}] }\n`,
  );
  httpsPort = await portico.port('https');
  ca = await servers.rootCa();
});

/** An HTTP/2 session over a TCP socket the test holds, so it can reset that socket; from its own address, as WARNs come once a minute per address. */
async function session(localAddress = '127.0.0.1'): Promise<{ client: ClientHttp2Session; tcp: Socket }> {
  const tcp = connectTcp({ port: httpsPort, host: '127.0.0.1', localAddress });
  await once(tcp, 'connect');
  const client = connectHttp2(`https://${HOST}:${httpsPort}`, { createConnection: () => connectTls({ socket: tcp, servername: HOST, ca, ALPNProtocols: ['h2'] }) });
  client.on('error', () => undefined);
  return { client, tcp };
}

/** Opens the event stream and resolves once two events have come, so the hang-up is mid-stream. */
async function streaming(client: ClientHttp2Session): Promise<ReturnType<ClientHttp2Session['request']>> {
  const stream = client.request({ ':path': '/events/live', ':authority': HOST });
  stream.on('error', () => undefined);
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if ((seen.match(/^data: /gm) ?? []).length >= 2) resolve();
    });
    stream.on('close', () => reject(new Error(`the stream closed after ${JSON.stringify(seen)}`)));
  });
  return stream;
}

/**
 * A client from `localAddress` that does break the protocol: HTTP/1.1 bytes on a connection that
 * negotiated h2 (nghttp2: bad client magic). Resolves once its WARN is out: the worker logs in
 * order, so every line about what came before is out too.
 */
async function protocolError(localAddress: string): Promise<void> {
  // localAddress is passed through to net.connect, which the TLS typings do not show.
  const socket = connectTls({ host: '127.0.0.1', port: httpsPort, servername: HOST, ca, ALPNProtocols: ['h2'], ...({ localAddress } as object) });
  socket.on('error', () => undefined);
  await once(socket, 'secureConnect');
  socket.write(`GET / HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`);
  await portico.waitFor(new RegExp(`WARN .*HTTP/2 client ${localAddress.replaceAll('.', '\\.')} broke the protocol`));
  socket.destroy();
}

type HangUp = (client: ClientHttp2Session, tcp: Socket, stream: ReturnType<ClientHttp2Session['request']>) => void;

// How clients leave in the middle of a response. (A plain FIN, without a reset or a GOAWAY, is
// left out: Portico does not notice it while it streams, a matter of the transport, not of logs.)
const HANG_UPS: Record<string, HangUp> = {
  'resets the TCP connection (RST)': (_client, tcp) => tcp.resetAndDestroy(),
  'sends GOAWAY CANCEL': (client) => client.goaway(constants.NGHTTP2_CANCEL),
  'cancels the stream (RST_STREAM CANCEL)': (_client, _tcp, stream) => stream.close(constants.NGHTTP2_CANCEL),
};

let marker = 10;
for (const [i, [how, hangUp]] of Object.entries(HANG_UPS).entries()) {
  test(`an HTTP/2 client that ${how} during a stream of server-sent events is no protocol error: no WARN`, async () => {
    const address = `127.0.0.${20 + i}`;
    for (let round = 0; round < 3; round++) {
      const { client, tcp } = await session(address);
      const stream = await streaming(client);
      hangUp(client, tcp, stream);
      // Portico has seen the hang-up once the upstream's stream is gone: it closes it when its client goes.
      await eventually(() => streams.size === 0, { what: 'the upstream stream was closed when the client went' });
      client.destroy();
    }
    await protocolError(`127.0.0.${marker++}`);
    assert.doesNotMatch(portico.output, new RegExp(`WARN .*${address.replaceAll('.', '\\.')}\\b`));
  });
}

test('a client that does break the protocol still gets its WARN', async () => {
  await protocolError(`127.0.0.${marker++}`);
});
