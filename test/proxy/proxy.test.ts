import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect as http2Connect } from 'node:http2';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { before, test } from 'node:test';
import { Agent, WebSocket } from 'undici';
import type { PorticoProcess } from '../support/portico-process.js';
import { eventually } from '../support/eventually.js';
import { openDescriptors } from '../support/process-stats.js';
import { residentBytes } from '../support/process-memory.js';
import { freePort, type Sandbox } from '../support/sandbox.js';
import { loopbackConfig, useTestServers } from '../support/test-servers.js';
import { startUpstream as startProcess } from '../support/upstream-process.js';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';

// Portico in front of two real application processes (test/support/upstream-server.ts, small
// node:http servers), one worker so that balancing is observable request by request.
const HOST = 'app.example.test';
const servers = useTestServers();
let box: Sandbox;
let portico: PorticoProcess;
let httpPort: number;
let httpsPort: number;
let rootCa: string;
let secureUpstream: Server;
const ports: number[] = [];
const upstreams = new Map<number, ChildProcess>();

async function startUpstream(port: number, name: string): Promise<void> {
  upstreams.set(port, await startProcess(port, name));
}

before(async () => {
  box = await servers.ready();
  servers.cleanUp(() => {
    secureUpstream?.close();
    for (const child of upstreams.values()) child.kill('SIGKILL');
  });
  ports.push(await freePort(), await freePort());
  const refused = await freePort();
  await Promise.all([startUpstream(ports[0]!, 'A'), startUpstream(ports[1]!, 'B')]);
  // An HTTPS upstream whose certificate comes from a CA of the test's: trusted only through the route's `ca`.
  const upstreamCa = await createRootCa(Date.now());
  const upstreamLeaf = await issueLeaf(upstreamCa, ['127.0.0.1'], 'ec-p256', { notBefore: Date.now() - 60_000, notAfter: Date.now() + 86_400_000 });
  await writeFile(join(box.dir, 'upstream-ca.pem'), upstreamCa.certPem);
  secureUpstream = createHttpsServer({ cert: upstreamLeaf.certPem, key: upstreamLeaf.keyPem }, (req, res) => res.end(`secure ${req.url}`));
  const securePort = await freePort();
  await new Promise<void>((resolve) => secureUpstream.listen(securePort, '127.0.0.1', resolve));
  await mkdir(join(box.dir, 'public'));
  await writeFile(join(box.dir, 'public', 'index.html'), 'the static side\n');
  const to = `[http://127.0.0.1:${ports[0]}, http://127.0.0.1:${ports[1]}]`;
  portico = await servers.serveConfig([
    ...loopbackConfig(box),
    'trustedProxies: [127.0.0.2]',
    'sites:',
    '  - name: app',
    `    hosts: [${HOST}]`,
    '    root: ./public',
    '    log: { dir: ./logs, fields: [cs-method, cs-uri-stem, sc-status, x-upstream, x-upstream-time] }',
    '    proxy:',
    `      - { path: /api/, to: ${to}, downFor: 1s, timeouts: { response: 1s }, cookieDomain: ${HOST} }`,
    `      - { path: /lc/, to: ${to}, balance: least_conn }`,
    `      - { path: /dead/, to: [http://127.0.0.1:${refused}] }`,
    `      - { path: /via/, to: [http://127.0.0.1:${ports[0]}], host: upstream, via: true }`,
    `      - { path: /ip/, to: ${to}, balance: ip_hash }`,
    `      - { path: /secure/, to: [https://127.0.0.1:${securePort}], ca: ./upstream-ca.pem }`,
    `      - { path: /untrusted/, to: [https://127.0.0.1:${securePort}] }`,
  ]);
  [httpPort, httpsPort, rootCa] = await Promise.all([portico.port('http'), portico.port('https'), servers.rootCa()]);
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP/1.1 request to Portico's plain port, as a user's client sends it. */
function get(path: string, options: { headers?: Record<string, string>; localAddress?: string; method?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: httpPort, path, method: options.method ?? 'GET', headers: { host: HOST, ...options.headers }, ...(options.localAddress ? { localAddress: options.localAddress } : {}), agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const whoami = async (prefix = '/api'): Promise<string> => (await get(`${prefix}/whoami`)).body;

test('round robin alternates between the two upstreams; what no route takes is served from the folder', async () => {
  const seen = [await whoami(), await whoami(), await whoami(), await whoami()];
  assert.ok(seen.join('') === 'ABAB' || seen.join('') === 'BABA', seen.join(''));
  assert.equal((await get('/')).body, 'the static side\n');
});

test('least_conn sends new requests to the idle upstream while the other is busy', async () => {
  const busy = get('/lc/slow?ms=1500');
  // The busy one is A (both idle: the first); B is idle until it ends.
  const during = [await whoami('/lc'), await whoami('/lc'), await whoami('/lc')];
  assert.deepEqual(during, ['B', 'B', 'B']);
  assert.equal((await busy).body, 'A');
});

test('ip_hash keeps each client on one upstream', async () => {
  for (const localAddress of ['127.0.0.1', '127.0.0.3', '127.0.0.4']) {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i += 1) seen.add((await get('/ip/whoami', { localAddress })).body);
    assert.equal(seen.size, 1, `${localAddress} went to ${[...seen].join(' and ')}`);
  }
});

test('an upstream killed with SIGKILL: every request goes to the other, none fails; started again, it is used again', async () => {
  upstreams.get(ports[1]!)!.kill('SIGKILL');
  await new Promise((resolve) => upstreams.get(ports[1]!)!.once('exit', resolve));
  const answers = await Promise.all(Array.from({ length: 8 }, () => get('/api/whoami')));
  assert.deepEqual(
    answers.map((answer) => `${answer.status} ${answer.body}`),
    Array.from({ length: 8 }, () => '200 A'),
  );
  await portico.waitFor(/WARN .*proxy \/api\/: upstream http:\/\/127\.0\.0\.1:\d+ is down for 1 s: /);
  await startUpstream(ports[1]!, 'B');
  await eventually(async () => (await whoami()) === 'B', { what: 'B is used again after its down time', timeoutMs: 5_000 });
});

test('a 200 MiB upload reaches the upstream byte-exact while the worker\'s memory stays flat', async () => {
  const [worker] = portico.workerPids();
  const before = await residentBytes(worker!);
  let peak = before;
  const sampler = setInterval(() => void residentBytes(worker!).then((rss) => (peak = Math.max(peak, rss)), () => undefined), 50);
  const block = randomBytes(64 * 1024);
  const total = 200 * 1024 * 1024;
  const sent = createHash('sha256');
  let produced = 0;
  const body = new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      // Each block differs (its first bytes are its number), so a reordered or repeated block would not hash the same.
      const chunk = Buffer.from(block);
      chunk.writeUInt32BE(produced / block.length, 0);
      produced += chunk.length;
      sent.update(chunk);
      this.push(chunk);
    },
  });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: httpPort, path: '/lc/upload', method: 'POST', headers: { host: HOST, 'content-type': 'application/octet-stream' }, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      body.pipe(req);
    });
    assert.deepEqual(JSON.parse(answer), { bytes: total, sha256: sent.digest('hex') });
  } finally {
    clearInterval(sampler);
  }
  // Buffered, the upload would add 200 MiB. Newer V8s keep a larger young generation under this
  // rate of short-lived buffers (Node 24 peaked at 64 MiB here), so flat is under half of it.
  assert.ok(peak - before < 96 * 1024 * 1024, `the worker grew by ${Math.round((peak - before) / 1048576)} MiB for a 200 MiB upload`);
});

test('an upstream that sends one chunk every 200 ms reaches the client chunk by chunk', async () => {
  const arrivals: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: httpPort, path: '/api/chunks', headers: { host: HOST }, agent: false }, (res) => {
      res.on('data', () => arrivals.push(Date.now()));
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  assert.ok(arrivals.length >= 4, `${arrivals.length} reads for 5 chunks sent 200 ms apart`);
  assert.ok(arrivals.at(-1)! - arrivals[0]! >= 600, 'the first chunk came long before the last');
});

test('server-sent events through HTTP/2 to the client, each as it is sent', async () => {
  const session = http2Connect(`https://127.0.0.1:${httpsPort}`, { ca: rootCa, servername: HOST });
  try {
    const events: number[] = [];
    let contentType: unknown;
    let text = '';
    await new Promise<void>((resolve, reject) => {
      const stream = session.request({ ':path': '/api/sse', ':authority': HOST });
      stream.on('response', (headers) => (contentType = headers['content-type']));
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        events.push(Date.now());
      });
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    assert.equal(contentType, 'text/event-stream');
    assert.deepEqual(text.match(/^data: event \d/gm), ['data: event 0', 'data: event 1', 'data: event 2']);
    assert.ok(events.length >= 2 && events.at(-1)! - events[0]! >= 100, 'events arrived apart, not all at the end');
  } finally {
    session.close();
  }
});

test('headers: hop-by-hop fields are removed both ways; forwarding fields are set, replaced for an untrusted client and extended for a trusted proxy', async () => {
  const seen = async (headers: Record<string, string>, localAddress?: string): Promise<Record<string, string>> => JSON.parse((await get('/api/headers', { headers, ...(localAddress ? { localAddress } : {}) })).body) as Record<string, string>;
  const cases: Array<[string, Record<string, string>, string | undefined, (upstream: Record<string, string>) => void]> = [
    ['hop-by-hop from the client', { connection: 'keep-alive, X-Private', 'x-private': '1', 'keep-alive': 'timeout=9', te: 'trailers', 'proxy-connection': 'keep-alive', 'x-app': 'kept' }, undefined, (up) => {
      for (const name of ['x-private', 'keep-alive', 'te', 'proxy-connection']) assert.equal(up[name], undefined, name);
      assert.equal(up['x-app'], 'kept');
    }],
    ['no forwarding fields', {}, undefined, (up) => {
      assert.equal(up['x-forwarded-for'], '127.0.0.1');
      assert.equal(up['x-forwarded-proto'], 'http');
      assert.equal(up['x-forwarded-host'], HOST);
      assert.equal(up.forwarded, `for=127.0.0.1;host=${HOST};proto=http`);
      assert.equal(up.host, HOST, 'Host passed through');
    }],
    ['a spoofed X-Forwarded-For from an untrusted client is replaced', { 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' }, undefined, (up) => {
      assert.equal(up['x-forwarded-for'], '127.0.0.1');
      assert.equal(up.forwarded, `for=127.0.0.1;host=${HOST};proto=http`);
      assert.equal(up['x-forwarded-host'], HOST);
      assert.equal(up['x-forwarded-proto'], 'http');
    }],
    ['a trusted proxy\'s X-Forwarded-For is appended to', { 'x-forwarded-for': '203.0.113.9', forwarded: 'for=203.0.113.9', 'x-forwarded-proto': 'https' }, '127.0.0.2', (up) => {
      assert.equal(up['x-forwarded-for'], '203.0.113.9, 127.0.0.2');
      assert.equal(up.forwarded, `for=203.0.113.9, for=127.0.0.2;host=${HOST};proto=http`);
      assert.equal(up['x-forwarded-proto'], 'https');
    }],
    ['names with an underscore and address claims from an untrusted client are dropped', { x_forwarded_for: '6.6.6.6', x_app: 'y', 'x-real-ip': '6.6.6.6', 'true-client-ip': '6.6.6.6', 'client-ip': '6.6.6.6', 'x-proxyuser-ip': '6.6.6.6', 'x-original-url': '/api/admin/x', 'x-rewrite-url': '/api/admin/x', 'x-forwarded-port': '1', 'x-app': 'kept', 'proxy-client-ip': '6.6.6.6', 'wl-proxy-client-ip': '6.6.6.6', 'x-original-uri': '/api/admin/', 'x-original-forwarded-for': '6.6.6.6', 'x-host': 'evil', 'remote-addr': '6.6.6.6' }, undefined, (up) => {
      for (const name of ['x_forwarded_for', 'x_app', 'x-real-ip', 'true-client-ip', 'client-ip', 'x-proxyuser-ip', 'x-original-url', 'x-rewrite-url', 'x-forwarded-port', 'proxy-client-ip', 'wl-proxy-client-ip', 'x-original-uri', 'x-original-forwarded-for', 'x-host', 'remote-addr']) assert.equal(up[name], undefined, name);
      assert.equal(up['x-forwarded-for'], '127.0.0.1');
      assert.equal(up['x-app'], 'kept');
    }],
    ['a trusted proxy\'s address claims are kept, names with an underscore still dropped', { x_forwarded_for: '6.6.6.6', 'x-real-ip': '203.0.113.9', 'x-forwarded-port': '443' }, '127.0.0.2', (up) => {
      assert.equal(up.x_forwarded_for, undefined);
      assert.equal(up['x-real-ip'], '203.0.113.9');
      assert.equal(up['x-forwarded-port'], '443');
    }],
  ];
  for (const [name, headers, from, check] of cases) {
    await test(name, async () => check(await seen(headers, from)));
  }
  await test('over HTTP/2, names with an underscore and address claims from an untrusted client are dropped too', async () => {
    const session = http2Connect(`https://127.0.0.1:${httpsPort}`, { ca: rootCa, servername: HOST });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/api/headers', ':authority': HOST, x_forwarded_for: '6.6.6.6', 'x-real-ip': '6.6.6.6', 'x-app': 'kept' });
        let text = '';
        stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
      });
      const up = JSON.parse(body) as Record<string, string>;
      assert.deepEqual([up.x_forwarded_for, up['x-real-ip'], up['x-forwarded-for'], up['x-app']], [undefined, undefined, '127.0.0.1', 'kept']);
    } finally {
      session.close();
    }
  });
  // From the upstream: hop-by-hop fields removed, Location at itself turned into one at this site, cookie domain rewritten.
  const hop = await get('/api/hop');
  assert.equal(hop.status, 302);
  assert.equal(hop.headers['x-upstream-private'], undefined);
  assert.equal(hop.headers['keep-alive'], undefined);
  assert.equal(hop.headers['x-kept'], 'yes');
  assert.equal(hop.headers.location, `http://${HOST}/elsewhere?q=1`);
  assert.deepEqual(hop.headers['set-cookie'], [`a=1; Domain=${HOST}; Path=/`, 'b=2; Path=/']);
});

test('options: Host rewritten to the upstream\'s and Via added both ways; an HTTPS upstream trusted through the route\'s ca, refused without it', async () => {
  const via = await get('/via/headers');
  const seen = JSON.parse(via.body) as Record<string, string>;
  assert.equal(seen.host, `127.0.0.1:${ports[0]}`);
  assert.equal(seen.via, '1.1 portico');
  assert.equal(via.headers.via, '1.1 portico');
  const secure = await get('/secure/x');
  assert.deepEqual([secure.status, secure.body], [200, 'secure /secure/x']);
  const untrusted = await get('/untrusted/x');
  assert.equal(untrusted.status, 502);
  await portico.waitFor(/WARN .*proxy \/untrusted\/: GET \/untrusted\/x: .*certificate/, 5_000);
});

test('WebSocket echo through Portico over HTTPS: 1,000 messages each way, then a clean close', async () => {
  // The site's name resolves to loopback for this client only.
  const lookup = (_name: string, options: { all?: boolean }, callback: (error: null, address: string | { address: string; family: number }[], family?: number) => void): void =>
    options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4);
  const dispatcher = new Agent({ connect: { ca: rootCa, lookup } as never });
  const socket = new WebSocket(`wss://${HOST}:${httpsPort}/api/ws`, { dispatcher } as never);
  const received: string[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => {
      for (let i = 0; i < 1_000; i += 1) socket.send(`message ${i}`);
    });
    socket.addEventListener('message', (event) => {
      received.push(String(event.data));
      if (received.length === 1_000) socket.close(1000, 'done');
    });
    socket.addEventListener('close', (event) => (event.wasClean && event.code === 1000 ? resolve() : reject(new Error(`closed ${event.code}, clean ${event.wasClean}`))));
    socket.addEventListener('error', () => reject(new Error('WebSocket error')));
  });
  assert.deepEqual(received, Array.from({ length: 1_000 }, (_, i) => `message ${i}`));
  await dispatcher.close();
});

test('an upstream that never answers gets 504 after the response timeout, a refused port 502; neither leaks a socket', async () => {
  const [worker] = portico.workerPids();
  const before = await openDescriptors(worker!);
  const started = Date.now();
  const hung = await get('/api/hang');
  assert.equal(hung.status, 504);
  assert.ok(Date.now() - started >= 900, 'after the configured second');
  // The log line travels through the worker's stderr, apart from the response: waited for, not raced.
  await portico.waitFor(/WARN .*proxy \/api\/: GET \/api\/hang: upstream http:\/\/127\.0\.0\.1:\d+: .*no response within 1 s \(504\)/, 5_000);
  const refused = await get('/dead/anything');
  assert.equal(refused.status, 502);
  assert.match(refused.body, /502/);
  await portico.waitFor(/WARN .*proxy \/dead\/: GET \/dead\/anything: .*ECONNREFUSED.* \(502\)/, 5_000);
  await eventually(async () => assert.ok((await openDescriptors(worker!)) <= before, `${await openDescriptors(worker!)} open`), { what: `the worker's descriptors back to ${before}`, timeoutMs: 5_000 });
});

test('the access log names the upstream and its time for proxied requests, - for files', async () => {
  await get('/api/whoami');
  await get('/');
  // The log is flushed each second: the lines are there once a later line is.
  await eventually(
    async () => {
      const files = await readdir(join(box.dir, 'logs')).catch(() => []);
      const text = files.length ? await readFile(join(box.dir, 'logs', files[0]!), 'utf8') : '';
      assert.match(text, /^GET \/api\/whoami 200 127\.0\.0\.1:\d+ \d+$/m);
      assert.match(text, /^GET \/ 200 - -$/m);
    },
    { what: 'both lines in the access log', timeoutMs: 5_000 },
  );
});
