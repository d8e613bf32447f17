import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { REDIRECT_RULES } from '../support/sites.js';
import { httpRequest, rawExchange } from '../support/http-request.js';
import { http2Send } from '../support/http2-request.js';
import { allOf, denied, hasHeader, headerIs, type MatrixTarget, matrixTest, type Predicate, redirectsTo, type Row, serves } from '../support/matrix.js';
import { PorticoProcess } from '../support/portico-process.js';
import { fetchRootCa } from '../support/root-ca.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

// Site rules over real sockets, each asked over HTTP/1.1 and over HTTP/2 with the same answer: one
// test per rule, and the holes matrix. The rules' own tables run in process: site-rules-in-process.test.ts.
let box: Sandbox;
let portico: PorticoProcess;
let httpPort: number;
let httpsPort: number;
let ca: string;
let upstream: Server;

/**
 * An application behind /ex/ that routes as many do (Express without `caseSensitive`, Spring,
 * ASP.NET): case ignored and `;parameters` dropped, so /ex/ADMIN;x/users is its /ex/admin/users.
 * It accepts every WebSocket upgrade.
 */
function startCaselessUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    const route = new URL(req.url ?? '/', 'http://upstream').pathname.toLowerCase().replace(/;[^/]*/g, '');
    const pages: Record<string, string> = { '/ex/admin/users': 'admin users\n', '/ex/exact/x': 'exact x\n', '/ex/public': 'public\n' };
    const page = pages[route];
    res.writeHead(page === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end(page ?? 'upstream: no such route\n');
  });
  server.on('upgrade', (_req, socket: Duplex) => {
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const CONFIG = (state: string, upstreamPort: number): string => `http: 0
https: 0
bind: 127.0.0.1
workers: 2
state: ${state}
sites:
  - name: app
    hosts: [app.example.test]
    root: ./app
    log: { dir: ./logs }
    errors: { 404: /404.html, 403: /missing-403.html, 413: /too-large.html }
    headers:
      - { path: "/assets/*", set: { Cache-Control: "public, max-age=31536000, immutable" } }
      - { path: "/**", always: true, set: { X-Frame-Options: DENY }, remove: [X-Content-Type-Options] }
      - { path: /docs/, add: { X-Docs: "yes" } }
      - { path: /index.html, set: { Content-Security-Policy: "default-src 'self'" } }
      - { path: "/**/*.js", set: { X-Glob: "yes" } }
      - { path: "*.js", set: { X-Bare: "yes" } }
    cors: { origins: ["https://other.example.test"], methods: [GET, POST], credentials: true, maxAge: 600 }
    auth:
      - { path: /admin/, realm: "Back office", htpasswd: ./users.htpasswd }
      - { path: "/private/*", realm: "Back office", htpasswd: ./users.htpasswd }
      - { path: /new/x.txt, realm: "Back office", htpasswd: ./users.htpasswd }
      - { path: /vault/index.html, realm: "Back office", htpasswd: ./users.htpasswd }
      - { path: /ex/admin/, realm: "Back office", htpasswd: ./users.htpasswd }
      - { path: /ex/exact/, caseSensitive: true, realm: "Back office", htpasswd: ./users.htpasswd }
    proxy:
      - { path: /ex/, to: ["http://127.0.0.1:${upstreamPort}"] }
${REDIRECT_RULES}  - name: spa
    hosts: [spa.example.test]
    root: ./spa
    tryFiles: ["{path}", "/index.html"]
    errors: { 404: /404.html }
    headers:
      - { path: "/assets/*", set: { Cache-Control: "public, max-age=31536000, immutable" } }
      - { path: "/**", always: true, set: { Content-Security-Policy: "default-src 'self'", Referrer-Policy: strict-origin-when-cross-origin } }
  - name: secure
    hosts: [secure.example.test]
    root: ./app
    httpsRedirect: true
    hsts: { maxAge: 31536000, includeSubDomains: true }
`;

before(async () => {
  box = await createSandbox();
  const app = join(box.dir, 'app');
  for (const folder of ['assets', 'admin', 'docs', 'new', 'private', 'vault']) await mkdir(join(app, folder), { recursive: true });
  await writeFile(join(app, 'index.html'), 'home\n');
  await writeFile(join(app, '404.html'), 'custom not found\n');
  await writeFile(join(app, 'too-large.html'), 'custom too large\n');
  await writeFile(join(app, 'assets', 'app.3f9a.js'), 'console.log(1)\n');
  await writeFile(join(app, 'admin', 'index.html'), 'admin area\n');
  await writeFile(join(app, 'docs', 'index.html'), 'docs\n');
  await writeFile(join(app, 'private', 'p.txt'), 'private\n');
  await writeFile(join(app, 'new', 'x.txt'), 'new x\n');
  await writeFile(join(app, 'top.js'), 'top\n');
  await writeFile(join(app, 'vault', 'index.html'), 'vault\n');
  const spa = join(box.dir, 'spa');
  await mkdir(join(spa, 'assets'), { recursive: true });
  await writeFile(join(spa, 'index.html'), 'the app\n');
  await writeFile(join(spa, '404.html'), 'spa not found\n');
  await writeFile(join(spa, 'assets', 'app.3f9a.js'), 'console.log(2)\n');
  upstream = await startCaselessUpstream();
  await promisify(execFile)('htpasswd', ['-B', '-b', '-c', join(box.dir, 'users.htpasswd'), 'alice', 'correct horse']);
  await writeFile(join(box.dir, 'portico.yaml'), CONFIG(box.state, (upstream.address() as AddressInfo).port));
  portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')]);
  await portico.waitFor(/^ready: /m, 60_000);
  httpPort = await portico.port('http');
  httpsPort = await portico.port('https');
  ca = (await fetchRootCa(box.state)).pem;
});

after(async () => {
  await portico?.stop();
  upstream?.close();
  await box?.remove();
});

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

interface Ask {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly host?: string;
}

function h1(path: string, ask: Ask = {}): Promise<Reply> {
  const host = ask.host ?? 'app.example.test';
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: httpsPort, path, method: ask.method ?? 'GET', servername: host, ca, agent: false, headers: { host, ...ask.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function h2(path: string, ask: Ask = {}): Promise<Reply> {
  const host = ask.host ?? 'app.example.test';
  const session = connect(`https://127.0.0.1:${httpsPort}`, { servername: host, ca });
  return new Promise<Reply>((resolve, reject) => {
    const stream = session.request({ ':method': ask.method ?? 'GET', ':path': path, ':authority': host, ...ask.headers });
    let headers: Record<string, string | string[] | undefined> = {};
    let body = '';
    stream.on('response', (received) => (headers = received as Record<string, string | string[] | undefined>));
    stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
    stream.on('error', reject);
    session.on('error', reject);
    stream.end();
  }).finally(() => session.close());
}

/** Asks over HTTP/1.1 and HTTP/2; both answers must agree on status and the headers named. */
async function both(path: string, ask: Ask = {}): Promise<Reply> {
  const [one, two] = await Promise.all([h1(path, ask), h2(path, ask)]);
  assert.equal(two.status, one.status, `${path}: HTTP/2 ${two.status}, HTTP/1.1 ${one.status}`);
  assert.equal(two.body, one.body, `${path}: bodies differ`);
  for (const name of ['location', 'cache-control', 'x-frame-options', 'x-content-type-options', 'access-control-allow-origin', 'www-authenticate', 'strict-transport-security']) {
    assert.equal(two.headers[name], one.headers[name], `${path}: ${name} differs between HTTP/2 and HTTP/1.1`);
  }
  return one;
}

const MATCHING: Array<[string, string, string | undefined]> = [
  ['a hashed asset', '/assets/app.3f9a.js', 'public, max-age=31536000, immutable'],
];

for (const [what, path, cacheControl] of MATCHING) {
  test(`headers: ${what} (${path}) gets Cache-Control ${cacheControl}`, async () => {
    const reply = await both(path);
    assert.equal(reply.headers['cache-control'], cacheControl);
    assert.equal(reply.headers['x-frame-options'], 'DENY');
    assert.equal(reply.headers['x-content-type-options'], undefined, 'removed, though Portico sets it');
  });
}

test('headers: a prefix rule adds to its folder, and rules apply to 304s and error pages too', async () => {
  assert.equal((await both('/docs/')).headers['x-docs'], 'yes');
  const first = await both('/assets/app.3f9a.js');
  const revalidated = await both('/assets/app.3f9a.js', { headers: { 'if-none-match': String(first.headers.etag) } });
  assert.equal(revalidated.status, 304);
  assert.equal(revalidated.headers['cache-control'], 'public, max-age=31536000, immutable');
  const missing = await both('/nothing-here');
  assert.equal(missing.status, 404);
  assert.equal(missing.body, 'custom not found\n');
  assert.equal(missing.headers['x-frame-options'], 'DENY');
});

test('error pages: a refusal the transport makes itself (413 for a body over the limit) gets the site\'s page and headers', async () => {
  const raw = (await rawExchange(httpPort, `POST /upload HTTP/1.1\r\nHost: app.example.test\r\nContent-Length: ${2 * 1024 * 1024}\r\nConnection: close\r\n\r\n`)).toString('latin1');
  assert.match(raw, /^HTTP\/1\.1 413 /);
  assert.match(raw, /\r\nx-frame-options: DENY\r\n/i);
  assert.match(raw, /\r\n\r\ncustom too large\n$/);
  const session = connect(`https://127.0.0.1:${httpsPort}`, { servername: 'app.example.test', ca });
  try {
    const reply = await http2Send(session, { ':method': 'POST', ':path': '/upload', ':authority': 'app.example.test', 'content-length': String(2 * 1024 * 1024) });
    assert.deepEqual(reply, { status: 413, body: 'custom too large\n' });
  } finally {
    session.close();
  }
});

const REDIRECTS: Array<[string, string, number, string]> = [
  ['a prefix, the rest kept and the query carried', '/old/a%20b/c?x=1', 301, '/new/a%20b/c?x=1'],
];

for (const [what, path, status, location] of REDIRECTS) {
  test(`redirects: ${what}`, async () => {
    const reply = await both(path);
    assert.equal(reply.status, status);
    assert.equal(reply.headers.location, location);
  });
}

test('CORS: a preflight from an allowed origin is answered 204 with the allowed methods; another origin gets no grant', async () => {
  const asked = { method: 'OPTIONS', headers: { origin: 'https://other.example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } };
  const allowed = await both('/api', asked);
  assert.equal(allowed.status, 204);
  assert.equal(allowed.headers['access-control-allow-origin'], 'https://other.example.test');
  assert.equal(allowed.headers['access-control-allow-methods'], 'GET, POST');
  assert.equal(allowed.headers['access-control-allow-headers'], 'content-type');
  assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
  assert.equal(allowed.headers['access-control-max-age'], '600');
  assert.match(String(allowed.headers.vary), /Origin/);
  const refused = await both('/api', { ...asked, headers: { ...asked.headers, origin: 'https://evil.example.test' } });
  assert.equal(refused.headers['access-control-allow-origin'], undefined);
});

test('httpsRedirect: plain HTTP gets 308 to the same URL over HTTPS, except ACME http-01 paths; HTTPS gets HSTS', async () => {
  const plain = await httpRequest(httpPort, '/docs/?q=1', { headers: { host: 'secure.example.test' } });
  assert.equal(plain.status, 308);
  assert.equal(plain.headers.location, `https://secure.example.test:${httpsPort}/docs/?q=1`);
  assert.equal(plain.headers['strict-transport-security'], undefined, 'never over plain HTTP');
  const acme = await httpRequest(httpPort, '/.well-known/acme-challenge/token', { headers: { host: 'secure.example.test' } });
  assert.equal(acme.status, 404);
  const secure = await both('/', { host: 'secure.example.test' });
  assert.equal(secure.status, 200);
  assert.equal(secure.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  assert.equal((await httpRequest(httpPort, '/', { headers: { host: 'app.example.test' } })).status, 200, 'a site without httpsRedirect still answers plain HTTP');
});

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

// The matrix (issue 19): every protective rule over HTTP/1.1, HTTP/2 and a WebSocket upgrade,
// and over every spelling of its path an attacker tries.
const app = (): MatrixTarget => ({ port: httpsPort, host: 'app.example.test', ca, localAddress: '127.0.0.5' });
const CSP = "default-src 'self'";
/** A refusal that asks for credentials: the rule itself answered, whatever the spelling. */
const challenged: Predicate = { describe: '401 with the realm', test: (o) => (o.status === 401 && o.headers['www-authenticate']?.startsWith('Basic realm="Back office"')) || `got ${o.status}` };
const SIGNED_IN = basic('alice', 'correct horse');

const RULE_ROWS: Row[] = [
  { name: 'auth: a prefix rule (/admin/)', request: { path: '/admin/' }, expect: denied, variants: true },
  { name: 'auth: a prefix rule, a file under it', request: { path: '/admin/index.html' }, expect: denied, variants: true },
  { name: 'auth: a one-segment glob (/private/*)', request: { path: '/private/p.txt' }, expect: denied, variants: true },
  { name: 'auth: an exact path (/new/x.txt)', request: { path: '/new/x.txt' }, expect: denied, variants: true },
  { name: 'auth: a file asked for as a folder is challenged', request: { path: '/new/x.txt/' }, expect: challenged },
  { name: 'auth: a file asked for as a folder through //', request: { path: '/private//p.txt/' }, expect: challenged },
  { name: 'auth: a file under a glob asked for as a folder', request: { path: '/private/p.txt/' }, expect: challenged },
  { name: 'auth: a rule on a default document covers its folder', request: { path: '/vault/' }, expect: denied, variants: true },
  { name: 'auth: a rule on a default document, the folder without its slash', request: { path: '/vault' }, expect: denied, variants: true },
  { name: 'auth: a rule on a default document, signed in', request: { path: '/vault/', headers: SIGNED_IN }, expect: serves(200, 'vault\n') },
  { name: 'auth: signed in, the file itself', request: { path: '/private/p.txt', headers: SIGNED_IN }, expect: serves(200, 'private\n') },
  { name: 'auth: signed in, a file asked for as a folder is 404 (nginx)', request: { path: '/private/p.txt/', headers: SIGNED_IN }, expect: 404 },
  { name: 'static: a file asked for as a folder is 404', request: { path: '/docs/index.html/' }, expect: 404 },
  { name: 'headers: a CSP on /index.html', request: { path: '/index.html' }, expect: allOf(hasHeader('content-security-policy', CSP), hasHeader('x-frame-options', 'DENY')), variants: true },
  { name: 'headers: an always rule for every path dresses the 400 for a refused spelling too', request: { path: '/docs/index.html' }, expect: headerIs('x-frame-options', 'DENY'), variants: ['encoded-slash', 'encoded-dot', 'dot-segment'], transports: ['h1', 'h2'] },
  { name: 'headers: a CSP on /index.html, served for /', request: { path: '/' }, expect: hasHeader('content-security-policy', CSP), variants: true },
  { name: 'headers: /** on a hashed asset', request: { path: '/assets/app.3f9a.js' }, expect: hasHeader('x-frame-options', 'DENY'), variants: true },
  { name: 'redirects: a prefix, spellings of the same path', request: { path: '/old/page' }, expect: redirectsTo('/new/page', [301]), variants: ['double-slash', 'encoded-letters', 'absolute-form'] },
  { name: 'redirects: no spelling serves the old path', request: { path: '/old/page' }, expect: denied, variants: true },
  { name: 'patterns: /**/*.js at the top and below', request: { path: '/top.js' }, expect: allOf(hasHeader('x-glob', 'yes'), hasHeader('x-bare', 'yes')) },
  { name: 'patterns: *.js at any depth', request: { path: '/assets/app.3f9a.js' }, expect: allOf(hasHeader('x-glob', 'yes'), hasHeader('x-bare', 'yes')) },
];

matrixTest('site rules', app, RULE_ROWS);

// Item 8: an application behind a proxy route that routes case-insensitively (and drops ;params).
const PROXIED_ROWS: Row[] = [
  { name: 'auth on a proxied path: every spelling', request: { path: '/ex/admin/users' }, expect: denied, variants: true },
  { name: 'auth on a proxied path: upper case is challenged', request: { path: '/ex/ADMIN/users' }, expect: challenged },
  { name: 'auth on a proxied path: mixed case with ;params is challenged', request: { path: '/ex/Admin;jsessionid=1/users' }, expect: challenged },
  { name: 'auth on a proxied path: ;params are challenged', request: { path: '/ex/admin;x/users' }, expect: challenged },
  { name: 'auth on a proxied path: a trailing dot is challenged', request: { path: '/ex/admin./users' }, expect: challenged },
  { name: 'auth on a proxied path: a trailing space or tab is challenged', request: { path: '/ex/admin%20/users' }, expect: challenged },
  { name: 'auth on a proxied path: a trailing tab is challenged', request: { path: '/ex/admin%09/users' }, expect: challenged },
  { name: 'auth on a proxied path: signed in, the application answers', request: { path: '/ex/ADMIN/users', headers: SIGNED_IN }, expect: serves(200, 'admin users\n'), transports: ['h1', 'h2'] },
  { name: 'auth on a proxied path: caseSensitive: true matches exactly', request: { path: '/ex/exact/x' }, expect: challenged },
  { name: 'auth on a proxied path: caseSensitive: true lets another case through', request: { path: '/ex/EXACT/x' }, expect: serves(200, 'exact x\n'), transports: ['h1', 'h2'] },
  { name: 'proxied: an unprotected path is the application\'s', request: { path: '/ex/public' }, expect: serves(200, 'public\n'), transports: ['h1', 'h2'] },
];

matrixTest('auth on proxied paths', app, PROXIED_ROWS);

// Item 5: the SPA recipe of docs/recipes.md. A caching rule is for what exists: a missing hashed
// asset's 404 must not be immutable (a deploy race would stick in browsers and CDNs for a year).
const spa = (): MatrixTarget => ({ port: httpsPort, host: 'spa.example.test', ca, localAddress: '127.0.0.5' });
matrixTest('the SPA recipe', spa, [
  { name: 'SPA: a hashed asset is immutable', request: { path: '/assets/app.3f9a.js' }, expect: allOf(serves(200, 'console.log(2)\n'), headerIs('cache-control', 'public, max-age=31536000, immutable')) },
  { name: 'SPA: a missing hashed asset is a 404 that is not cached', request: { path: '/assets/app-000.js' }, expect: allOf(serves(404, 'spa not found\n'), headerIs('cache-control', 'no-store')) },
  { name: 'SPA: the 404 still carries the security headers (always: true)', request: { path: '/assets/app-000.js' }, expect: allOf(headerIs('content-security-policy', "default-src 'self'"), headerIs('referrer-policy', 'strict-origin-when-cross-origin')) },
  { name: 'SPA: a route is the app, revalidated', request: { path: '/projects/42', headers: { accept: 'text/html' } }, expect: allOf(serves(200, 'the app\n'), headerIs('cache-control', 'no-cache'), headerIs('content-security-policy', "default-src 'self'")) },
]);

const toHttps: Predicate = {
  describe: '308 to https://secure.example.test:PORT/… (or a refusal)',
  test: (o) => (o.status === 308 && o.headers.location?.startsWith(`https://secure.example.test:${httpsPort}/`)) || (o.status >= 400 && o.status < 500) || `got ${o.status} ${o.headers.location ?? ''}`,
};

matrixTest('httpsRedirect', () => ({ port: httpPort, host: 'secure.example.test', ca, plain: true, localAddress: '127.0.0.5' }), [
  { name: 'httpsRedirect: a page', request: { path: '/docs/' }, expect: toHttps, variants: true, transports: ['h1', 'upgrade'] },
  { name: 'httpsRedirect: a file', request: { path: '/index.html?q=1' }, expect: toHttps, variants: true, transports: ['h1', 'upgrade'] },
]);

test('auth: no credentials get 401 with the realm; the right password 200 (also %-encoded paths); a wrong one 401', async () => {
  const none = await both('/admin/');
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Basic realm="Back office", charset="UTF-8"');
  assert.equal((await both('/%61dmin/')).status, 401, 'an encoded path does not dodge the rule');
  const right = await both('/admin/', { headers: basic('alice', 'correct horse') });
  assert.equal(right.status, 200);
  assert.equal(right.body, 'admin area\n');
  assert.equal((await both('/admin/', { headers: basic('alice', 'wrong') })).status, 401);
  assert.equal((await both('/admin/', { headers: basic('mallory', 'correct horse') })).status, 401);
});

test('auth: plain HTTP is refused with a page that says to use HTTPS, even with the right password', async () => {
  const reply = await httpRequest(httpPort, '/admin/', { headers: { host: 'app.example.test', ...basic('alice', 'correct horse') } });
  assert.equal(reply.status, 403);
  assert.match(reply.body.toString(), /only sent over HTTPS: open https:\/\/app\.example\.test\/admin\//);
});

test('auth: the 11th failure within a minute from one address is refused with 429 by every worker, the right password included', async () => {
  // From another loopback address, so the other tests' failures do not count.
  const fail = (password: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: httpsPort, localAddress: '127.0.0.3', path: '/admin/', servername: 'app.example.test', ca, agent: false, headers: { host: 'app.example.test', ...basic('alice', password) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
  const statuses: number[] = [];
  for (let i = 0; i < 10; i += 1) statuses.push(await fail(`guess ${i}`));
  assert.deepEqual(statuses, Array(10).fill(401));
  assert.equal(await fail('guess 11'), 429);
  assert.equal(await fail('correct horse'), 429);
});

test('auth: the user is logged as cs-username, and no password reaches any log', async () => {
  await both('/admin/', { headers: basic('alice', 'correct horse') });
  await portico.stop('SIGTERM');
  const folder = join(box.dir, 'logs');
  const text = (await Promise.all((await readdir(folder)).map((name) => readFile(join(folder, name), 'utf8')))).join('');
  assert.match(text, / GET \/admin\/ - \d+ alice /);
  for (const secret of ['correct horse', 'correct+horse', Buffer.from('alice:correct horse').toString('base64')]) {
    assert.ok(!text.includes(secret), `the access log holds ${secret}`);
    assert.ok(!portico.output.includes(secret), `the operator log holds ${secret}`);
  }
});
