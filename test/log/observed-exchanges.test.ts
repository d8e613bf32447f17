import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { DEFAULT_LIMITS } from '../../src/config/defaults.js';
import { errorPage } from '../../src/http/error-page.js';
import type { Exchange } from '../../src/http/exchange.js';
import { type ExchangeCounts, type ExchangeEnd, ExchangeObserver } from '../../src/http/exchange-observer.js';
import type { Handler } from '../../src/http/handler.js';
import { Pipeline } from '../../src/http/pipeline.js';
import { bytesResponse } from '../../src/http/response.js';
import type { W3cField } from '../../src/log/w3c-fields.js';
import { CertificateTable } from '../../src/server/certificate-table.js';
import { Endpoint } from '../../src/server/endpoint.js';
import { AccessLogs } from '../../src/sites/access-logs.js';
import { siteLabel } from '../../src/sites/site-access-log.js';
import { SiteRouter } from '../../src/sites/site-router.js';
import { freezeBundle } from '../../src/tls/bundle.js';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { accessLogLines } from '../support/access-log-lines.js';
import { recordingLogger } from '../support/in-process.js';

// One worker's exchanges in this process, over real loopback sockets: a plain and a TLS
// endpoint, the real SiteRouter, the real site access log, and the worker's observer, whose
// counters the test reads. Every kind of answer ends at the observer once: a site's own 404,
// the 404 no site gives, 421s, ACME http-01 answers and a WebSocket-style tunnel, over HTTP/1.1
// and (where it applies) HTTP/2; each reaches the access log of its site, or the operator log.
const FIELDS: W3cField[] = ['cs-method', 'cs-uri-stem', 'sc-status', 'sc-bytes', 'cs-bytes', 'cs-version', 's-sitename', 'cs-host'];
const ACME = '/.well-known/acme-challenge/';
const log = recordingLogger();
const observer = new ExchangeObserver();
const ends: ExchangeEnd[] = [];
const waiting: Array<() => void> = [];
let dir: string;
let logs: AccessLogs;
let plain: Endpoint;
let secure: Endpoint;
let httpPort: number;
let httpsPort: number;
let rootPem: string;

/** A tunnel: reads one line, answers `pong` and a newline, ends; its traffic is what it carried. */
const tunnel: Handler = (exchange, next) => {
  if (exchange.upgrade !== 'websocket') return next(exchange);
  return {
    status: 101,
    headers: { connection: 'Upgrade', upgrade: 'websocket' },
    body: {
      kind: 'upgrade',
      take: (socket, head) =>
        new Promise((resolve) => {
          let received = head.length;
          const sent = 'pong\n';
          socket.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (chunk.includes(0x0a)) socket.end(sent);
          });
          socket.on('error', () => undefined);
          // Paused by the transport until a tunnel takes it (a pipe would resume it too).
          socket.resume();
          socket.once('close', () => resolve({ sent: Buffer.byteLength(sent), received }));
        }),
    },
  };
};
const hello: Handler = (exchange, next) => (exchange.path === '/hello' ? bytesResponse(200, { 'content-type': 'text/plain' }, 'hello') : next(exchange));
const acmeAnswer: Handler = (exchange) => (exchange.path === `${ACME}known` ? bytesResponse(200, { 'content-type': 'text/plain' }, 'known.key-authorization') : errorPage(404, false));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-observed-'));
  await mkdir(join(dir, 'docs'));
  logs = new AccessLogs(log);
  const site = (name: string, logged: boolean) => ({
    name,
    hosts: [`${name}.test`],
    isDefault: false,
    pipeline: new Pipeline([tunnel, hello], log, undefined, {}, siteLabel({ name, accessLog: logged ? { dir: join(dir, name), fields: FIELDS } : undefined, trustedProxies: [] }, logs)),
  });
  const router = new SiteRouter([site('docs', true), site('shop', false)], log);
  // As the worker selects: an ACME http-01 challenge over plain HTTP before any site's chain.
  const sites = { select: (exchange: Exchange) => (!exchange.secure && exchange.path.startsWith(ACME) ? router.challenge(exchange, acmeAnswer) : router.select(exchange)) };
  observer.listen((end) => {
    ends.push(end);
    for (const wake of waiting.splice(0)) wake();
  });
  const root = await createRootCa(Date.now());
  rootPem = root.certPem;
  const now = Date.now();
  const leaf = await issueLeaf(root, ['docs.test', 'shop.test', 'nobody.test'], 'ec-p256', { notBefore: now - 60_000, notAfter: now + 3_600_000 });
  const certificates = new CertificateTable(log, () => undefined);
  certificates.publish(freezeBundle({ id: 'test', fingerprint256: 'x', serialNumber: '1', ...leaf, notBefore: now - 60_000, notAfter: now + 3_600_000, hosts: ['docs.test', 'shop.test', 'nobody.test'], keyType: 'ec-p256' }));
  const limits = { ...DEFAULT_LIMITS, headerTimeoutMs: 5_000, handshakeHoldMs: 5_000 };
  const tracker = { begin: () => undefined, end: () => undefined };
  plain = new Endpoint({ name: 'http', port: 0, address: '127.0.0.1', tls: false, setting: '--http' }, limits, sites, tracker, observer, log, undefined);
  secure = new Endpoint({ name: 'https', port: 0, address: '127.0.0.1', tls: true, setting: '--https' }, limits, sites, tracker, observer, log, certificates);
  [httpPort, httpsPort] = await Promise.all([plain.open(), secure.open()]);
});

after(async () => {
  plain?.stop();
  secure?.stop();
  logs?.flush();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  /** What came after the head. */
  readonly rest: Buffer;
  readonly socket: Socket;
}

/** Sends raw HTTP/1.1 bytes (over TLS with `servername`) and resolves with the status once the head is in. */
function raw(request: string, servername?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = servername === undefined ? netConnect(httpPort, '127.0.0.1') : tlsConnect({ host: '127.0.0.1', port: httpsPort, servername, ca: rootPem, ALPNProtocols: ['http/1.1'] });
    socket.once(servername === undefined ? 'connect' : 'secureConnect', () => socket.write(request));
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      resolve({ status: Number(buffer.subarray(0, end).toString('latin1').split(' ')[1]), rest: buffer.subarray(end + 4), socket });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

async function get(host: string, path: string, servername?: string): Promise<number> {
  const answer = await raw(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, servername);
  answer.socket.destroy();
  return answer.status;
}

function h2(servername: string, authority: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${httpsPort}`, { ca: rootPem, servername });
    session.on('error', reject);
    const stream = session.request({ ':path': path, ':authority': authority });
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.resume();
    stream.on('end', () => {
      session.close();
      resolve(status);
    });
    stream.on('error', reject);
  });
}

/** Runs `action`, waits until `count` more exchanges have ended, and returns their ends and the counters' growth. */
async function observe(count: number, action: () => Promise<void>): Promise<{ ends: ExchangeEnd[]; grown: Record<string, number> }> {
  const before = flat(observer.counts());
  const from = ends.length;
  await action();
  const deadline = Date.now() + 30_000;
  while (ends.length - from < count) {
    assert.ok(Date.now() < deadline, `${count} exchanges did not end within 30 s (${ends.length - from} did)`);
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      setTimeout(resolve, 1_000).unref();
    });
  }
  const now = flat(observer.counts());
  return { ends: ends.slice(from), grown: Object.fromEntries(Object.entries(now).map(([key, value]) => [key, value - (before[key] ?? 0)])) };
}

/** The counters by one name each: `total`, `byStatus.4xx`, `byAnswer.acme`… */
function flat(counts: ExchangeCounts): Record<string, number> {
  const { byStatus, byAnswer, ...totals } = counts;
  return { ...totals, ...Object.fromEntries(Object.entries(byStatus).map(([key, value]) => [`byStatus.${key}`, value])), ...Object.fromEntries(Object.entries(byAnswer).map(([key, value]) => [`byAnswer.${key}`, value])) };
}

/** The lines of docs' access log that name `path`, once there is one (W3cLog writes at least once a second). */
async function docsLog(path: string): Promise<string[]> {
  const folder = join(dir, 'docs');
  const deadline = Date.now() + 30_000;
  for (;;) {
    logs.use({ dir: folder, fields: FIELDS }).flush();
    const lines = (await accessLogLines(folder)).filter((line) => line.split(' ')[1] === path);
    if (lines.length > 0 || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a site\'s own 404, over HTTP/1.1 and HTTP/2: counted as the site\'s, and a line in its access log', async () => {
  const { ends: seen, grown } = await observe(2, async () => {
    assert.equal(await get('docs.test', '/missing-h1'), 404);
    assert.equal(await h2('docs.test', 'docs.test', '/missing-h2'), 404);
  });
  assert.deepEqual(
    seen.map((end) => [end.site, end.answeredBy, end.status, end.exchange.protocol]),
    [
      ['docs', 'site', 404, 'HTTP/1.1'],
      ['docs', 'site', 404, 'HTTP/2'],
    ],
  );
  assert.equal(grown['total'], 2);
  assert.equal(grown['byStatus.4xx'], 2);
  assert.equal(grown['byAnswer.site'], 2);
  assert.match((await docsLog('/missing-h1'))[0]!, /^GET \/missing-h1 404 \d+ \d+ HTTP\/1\.1 docs docs\.test$/);
  assert.match((await docsLog('/missing-h2'))[0]!, /^GET \/missing-h2 404 \d+ \d+ HTTP\/2 docs docs\.test$/);
});

test('the 404 no site gives (no default site), over HTTP/1.1 and HTTP/2: counted as not-found, of no site, in the operator log', async () => {
  const { ends: seen, grown } = await observe(2, async () => {
    assert.equal(await get('nobody.test', '/unclaimed-h1'), 404);
    assert.equal(await h2('nobody.test', 'nobody.test', '/unclaimed-h2'), 404);
  });
  assert.deepEqual(
    seen.map((end) => [end.site, end.answeredBy, end.status]),
    [
      [undefined, 'not-found', 404],
      [undefined, 'not-found', 404],
    ],
  );
  assert.deepEqual([grown['total'], grown['byAnswer.not-found'], grown['byStatus.4xx']], [2, 2, 2]);
  assert.ok(seen.every((end) => end.bytesSent > 0 && end.bytesReceived > 0 && end.endedAt >= end.startedAt));
  assert.ok(log.lines.some((line) => /^INFO no site claims host nobody\.test \(no default site\): GET \/unclaimed-h1 from 127\.0\.0\.1 answered 404/.test(line)), log.lines.join('\n'));
});

test('a 421 (SNI docs, Host shop), over HTTP/1.1 and HTTP/2: counted as misdirected, a line in docs\' access log', async () => {
  const { ends: seen, grown } = await observe(2, async () => {
    assert.equal(await get('shop.test', '/misdirected-h1', 'docs.test'), 421);
    assert.equal(await h2('docs.test', 'shop.test', '/misdirected-h2'), 421);
  });
  assert.deepEqual(
    seen.map((end) => [end.site, end.answeredBy, end.status]),
    [
      ['docs', 'misdirected', 421],
      ['docs', 'misdirected', 421],
    ],
  );
  assert.deepEqual([grown['total'], grown['byAnswer.misdirected']], [2, 2]);
  assert.match((await docsLog('/misdirected-h1'))[0]!, /^GET \/misdirected-h1 421 \d+ \d+ HTTP\/1\.1 docs shop\.test$/);
  assert.match((await docsLog('/misdirected-h2'))[0]!, /^GET \/misdirected-h2 421 \d+ \d+ HTTP\/2 docs shop\.test$/);
});

test('ACME http-01 answers: counted as acme, a line in the access log of the site the host names, or the operator log', async () => {
  const { ends: seen, grown } = await observe(3, async () => {
    assert.equal(await get('docs.test', `${ACME}known`), 200);
    assert.equal(await get('docs.test', `${ACME}unknown`), 404);
    assert.equal(await get('elsewhere.test', `${ACME}known`), 200);
  });
  assert.deepEqual(
    seen.map((end) => [end.site, end.answeredBy, end.status]),
    [
      ['docs', 'acme', 200],
      ['docs', 'acme', 404],
      [undefined, 'acme', 200],
    ],
  );
  assert.deepEqual([grown['total'], grown['byAnswer.acme'], grown['byStatus.2xx'], grown['byStatus.4xx']], [3, 3, 2, 1]);
  assert.equal(seen[0]!.bytesSent, Buffer.byteLength('known.key-authorization'));
  assert.match((await docsLog(`${ACME}known`))[0]!, /^GET \/\.well-known\/acme-challenge\/known 200 23 \d+ HTTP\/1\.1 docs docs\.test$/);
  assert.equal((await docsLog(`${ACME}unknown`)).length, 1);
  assert.ok(log.lines.some((line) => /^INFO no site claims host elsewhere\.test \(an ACME challenge\): GET \/\.well-known\/acme-challenge\/known/.test(line)), log.lines.join('\n'));
});

test('a tunnel (an upgrade answer): counted once it ends, with the bytes it carried each way, and a line in the access log', async () => {
  let answer: Answer | undefined;
  const { ends: seen, grown } = await observe(1, async () => {
    answer = await raw('GET /ws HTTP/1.1\r\nHost: docs.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    assert.equal(answer.status, 101);
    const closed = new Promise<Buffer>((resolve) => {
      let got = answer!.rest;
      answer!.socket.on('data', (chunk: Buffer) => (got = Buffer.concat([got, chunk])));
      answer!.socket.once('close', () => resolve(got));
    });
    answer.socket.end('ping, and a few more bytes\n');
    assert.equal((await closed).toString(), 'pong\n');
  });
  assert.deepEqual(
    seen.map((end) => [end.site, end.answeredBy, end.status, end.tunnel, end.bytesSent, end.bytesReceived]),
    [['docs', 'site', 101, true, 5, Buffer.byteLength('ping, and a few more bytes\n')]],
  );
  assert.deepEqual([grown['total'], grown['tunnels'], grown['byStatus.1xx'], grown['bytesSent'], grown['bytesReceived']], [1, 1, 1, 5, 27]);
  assert.match((await docsLog('/ws'))[0]!, /^GET \/ws 101 5 27 HTTP\/1\.1 docs docs\.test$/);
});

test('a transport\'s refusal that reaches dispatch (414): counted as the site\'s, and a line in its access log', async () => {
  const long = `/long-${'x'.repeat(DEFAULT_LIMITS.maxRequestTargetBytes)}`;
  const { ends: seen, grown } = await observe(1, async () => {
    assert.equal(await get('docs.test', long), 414);
  });
  assert.deepEqual(
    seen.map((end) => [end.site, end.answeredBy, end.status]),
    [['docs', 'site', 414]],
  );
  assert.deepEqual([grown['total'], grown['byStatus.4xx']], [1, 1]);
  assert.equal((await docsLog(long)).length, 1);
});

test('the counters are plain JSON, and add up over every exchange seen', () => {
  const counts = observer.counts();
  assert.deepEqual(JSON.parse(JSON.stringify(counts)), counts);
  assert.equal(counts.total, ends.length);
  assert.equal(Object.values(counts.byStatus).reduce((a, b) => a + b, 0), counts.total);
  assert.equal(Object.values(counts.byAnswer).reduce((a, b) => a + b, 0), counts.total);
  assert.equal(counts.bytesSent, ends.reduce((sum, end) => sum + end.bytesSent, 0));
  assert.equal(counts.bytesReceived, ends.reduce((sum, end) => sum + end.bytesReceived, 0));
});
