import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { cellsOf, formatFailures, oneOf, type MatrixTarget, type Predicate, type Row, runCells } from '../support/matrix.js';
import type { PorticoProcess } from '../support/portico-process.js';
import { loopbackConfig, useTestServers } from '../support/test-servers.js';
import { type RawUpstream, receivedPaths, startRawUpstream } from './raw-upstream.js';

// Routes as protection, tried like an attacker: a first route that refuses /admin/ (a `**`
// pattern, a prefix pattern, a caseSensitive one) in front of tryFiles' @app and of a catch-all
// proxy route, every spelling of pathVariants() over HTTP/1.1, HTTP/2 and a WebSocket upgrade;
// then method, header and client conditions routing to different upstreams, with X-Forwarded-For
// claims from an untrusted peer and through trustedProxies. Each upstream records what reached
// it: a protected path must never have.

const FILES = 'files.example.test';
const PROXIED = 'proxied.example.test';
const COND = 'cond.example.test';
const servers = useTestServers();
let portico: PorticoProcess;
let port: number;
let ca: string;
let app: RawUpstream;
let catchAll: RawUpstream;
let ops: RawUpstream;
let writer: RawUpstream;
let v2: RawUpstream;
let main: RawUpstream;

const refusals = ['/admin/', '/private/', '/secret/'];
const GUARDS = [
  '      - match: { path: ["/admin/**"] }',
  '        handle: [{ respond: { status: 403, body: "admin: no" } }]',
  '      - match: { path: /private/ }',
  '        handle: [{ respond: { status: 403, body: "private: no" } }]',
  '      - match: { path: /secret/, caseSensitive: false }',
  '        handle: [{ respond: { status: 403, body: "secret: no" } }]',
];

before(async () => {
  const box = await servers.ready();
  [app, catchAll, ops, writer, v2, main] = (await Promise.all(['app', 'catch-all', 'ops', 'writer', 'v2', 'main'].map((name) => startRawUpstream(name)))) as [RawUpstream, RawUpstream, RawUpstream, RawUpstream, RawUpstream, RawUpstream];
  for (const upstream of [app, catchAll, ops, writer, v2, main]) servers.cleanUp(() => upstream.close());
  for (const folder of ['admin', 'private', 'secret']) {
    await mkdir(join(box.dir, 'public', folder), { recursive: true });
    await writeFile(join(box.dir, 'public', folder, 'file.txt'), `the ${folder} file\n`);
  }
  await writeFile(join(box.dir, 'public', 'index.html'), 'home\n');
  const to = (upstream: RawUpstream): string => `[{ proxy: { to: ["http://127.0.0.1:${upstream.port}"] } }]`;
  portico = await servers.serveConfig([
    ...loopbackConfig(box),
    'trustedProxies: [127.0.0.3]',
    'sites:',
    '  - name: files',
    `    hosts: [${FILES}]`,
    '    root: ./public',
    '    tryFiles: ["{path}", "@app"]',
    '    routes:',
    ...GUARDS,
    '      - name: app',
    `        handle: ${to(app)}`,
    '  - name: proxied',
    `    hosts: [${PROXIED}]`,
    '    root: ./public',
    '    routes:',
    ...GUARDS,
    `      - handle: ${to(catchAll)}`,
    '  - name: cond',
    `    hosts: [${COND}]`,
    '    root: ./public',
    '    routes:',
    '      - match: { path: /ops/, client: [127.0.0.1, "10.9.0.0/16"] }',
    `        handle: ${to(ops)}`,
    '      - match: { path: /ops/ }',
    '        handle: [{ respond: { status: 403, body: "ops: not from here" } }]',
    '      - match: { path: /write/, method: [POST, PUT, DELETE] }',
    `        handle: ${to(writer)}`,
    '      - match: { path: /write/ }',
    '        handle: [{ respond: { status: 405 } }]',
    '      - match: { path: /v2/, header: { X-Api-Version: "2" } }',
    `        handle: ${to(v2)}`,
    `      - handle: ${to(main)}`,
  ]);
  [port, ca] = await Promise.all([portico.port('https'), servers.rootCa()]);
});

const target = (host: string, localAddress?: string): MatrixTarget => ({ port, host, ca, timeoutMs: 20_000, ...(localAddress ? { localAddress } : {}) });

/** Refused: a 403 from the guard, or a 400 (a spelling refused outright); never served, never a hang. */
const refused: Predicate = { describe: '403 or 400', test: (o) => o.status === 403 || o.status === 400 || `got ${o.status}${o.body ? ` ${JSON.stringify(o.body.slice(0, 60))}` : ''}${o.error ? ` (${o.error})` : ''}` };

const guardedRows = (existing: boolean): Row[] =>
  refusals.flatMap((prefix) => [
    { name: `${prefix} (${existing ? 'a file' : 'no file'})`, request: { path: `${prefix}${existing ? 'file.txt' : 'nothing'}` }, expect: refused, variants: true },
    { name: `${prefix} (a POST)`, request: { method: 'POST', path: `${prefix}form`, body: 'a=1' }, expect: refused, variants: true, transports: ['h1', 'h2'] },
  ]);

/** The requests an upstream received for a protected prefix, in any case and spelling. */
function leaked(upstream: RawUpstream): string[] {
  return receivedPaths(upstream.heads).filter((path) => /\/(admin|private|secret)(\/|;|\.|$)/.test(path.replace(/\/+/g, '/')));
}

for (const [site, upstream] of [
  [FILES, () => app],
  [PROXIED, () => catchAll],
] as const) {
  test(`${site}: no spelling of a refused path reaches the upstream or the files, on any transport`, async () => {
    const cells = cellsOf([...guardedRows(true), ...guardedRows(false)]);
    const failures = await runCells(target(site), cells);
    assert.equal(failures.length, 0, `${failures.length} of ${cells.length} cells failed:\n${formatFailures(failures)}`);
    assert.deepEqual(leaked(upstream()), [], `the upstream received protected paths:\n${leaked(upstream()).join('\n')}`);
    // The routes behind the guards still answer what is theirs.
    const open = await runCells(target(site), cellsOf([{ name: 'open', request: { path: '/shop/item' }, expect: { describe: 'the upstream', test: (o) => (o.status === 200 && o.body.startsWith(site === FILES ? 'app ' : 'catch-all ')) || `got ${o.status} ${o.body.slice(0, 40)}` }, transports: ['h1', 'h2'] }]));
    assert.equal(open.length, 0, formatFailures(open));
  });
}

test('a client condition holds for the peer or, through trustedProxies, the address a trusted proxy added; never a claim', async () => {
  const opsAnswers = (expected: 'ops' | 'refused'): Predicate => ({
    describe: expected,
    test: (o) => (expected === 'ops' ? (o.status === 200 && o.body.startsWith('ops ')) || `got ${o.status} ${o.body.slice(0, 40)}` : refused.test(o)),
  });
  const row = (name: string, headers: Record<string, string>, expected: 'ops' | 'refused', variants: boolean): Row => ({ name, request: { path: '/ops/panel', headers }, expect: opsAnswers(expected), variants, transports: expected === 'ops' ? ['h1', 'h2'] : undefined });
  const cases: Array<[string | undefined, Row[]]> = [
    // From 127.0.0.2, untrusted: whatever it claims, it is 127.0.0.2.
    ['127.0.0.2', [row('untrusted, no claim', {}, 'refused', true), row('untrusted, XFF 127.0.0.1', { 'x-forwarded-for': '127.0.0.1' }, 'refused', true), row('untrusted, XFF 10.9.1.1', { 'x-forwarded-for': '10.9.1.1' }, 'refused', false), row('untrusted, X-Real-IP and Forwarded', { 'x-real-ip': '127.0.0.1', forwarded: 'for=127.0.0.1' }, 'refused', false), row('untrusted, XFF a trusted proxy and 127.0.0.1', { 'x-forwarded-for': '127.0.0.1, 127.0.0.3' }, 'refused', false)]],
    // From the trusted proxy 127.0.0.3: the entry it added (the last) is the client.
    ['127.0.0.3', [row('trusted, no XFF (the proxy itself)', {}, 'refused', false), row('trusted, XFF 10.9.1.1', { 'x-forwarded-for': '10.9.1.1' }, 'ops', false), row('trusted, XFF 10.8.1.1', { 'x-forwarded-for': '10.8.1.1' }, 'refused', true), row('trusted, a client\'s claim before the real entry', { 'x-forwarded-for': '10.9.1.1, 10.8.1.1' }, 'refused', false), row('trusted, garbage XFF', { 'x-forwarded-for': 'not-an-address' }, 'refused', false)]],
    // From 127.0.0.1 itself: let through.
    [undefined, [row('the peer is 127.0.0.1', {}, 'ops', false)]],
  ];
  const failures = [];
  let count = 0;
  for (const [from, rows] of cases) {
    const cells = cellsOf(rows);
    count += cells.length;
    failures.push(...(await runCells(target(COND, from), cells)));
  }
  assert.equal(failures.length, 0, `${failures.length} of ${count} cells failed:\n${formatFailures(failures)}`);
  const allowed = receivedPaths(ops.heads).length;
  assert.equal(allowed, 4, `only the four allowed requests (trusted 10.9.1.1 and the direct peer, over h1 and h2) reached ops:\n${ops.heads.join('\n---\n')}`);
});

test('method and header conditions send each request to its upstream, and only those', async () => {
  const from = (name: string): Predicate => ({ describe: name, test: (o) => (o.status === 200 && o.body.startsWith(`${name} `)) || `got ${o.status} ${o.body.slice(0, 40)}` });
  const rows: Row[] = [
    { name: 'POST /write/', request: { method: 'POST', path: '/write/doc', body: 'x' }, expect: from('writer'), transports: ['h1', 'h2'] },
    { name: 'DELETE /write/', request: { method: 'DELETE', path: '/write/doc' }, expect: from('writer'), transports: ['h1', 'h2'] },
    { name: 'GET /write/, any spelling', request: { path: '/write/doc' }, expect: oneOf(405, 400), variants: ['as-is', 'double-slash', 'encoded-letters', 'dot-segment', 'encoded-dot'] },
    { name: 'lower-case post is not POST', request: { method: 'post', path: '/write/doc', body: 'x' }, expect: { describe: 'not the writer', test: (o) => !o.body.startsWith('writer ') || `got the writer` }, transports: ['h1'] },
    { name: 'X-Api-Version 2', request: { path: '/v2/items', headers: { 'x-api-version': '2' } }, expect: from('v2'), transports: ['h1', 'h2'] },
    { name: 'X-Api-Version 3', request: { path: '/v2/items', headers: { 'x-api-version': '3' } }, expect: from('main'), transports: ['h1', 'h2'] },
    // A list (or the header sent twice, which arrives as one) matches when any member does, so a
    // route that refuses a value cannot be dodged by repeating the header (docs/config.md).
    { name: 'X-Api-Version 2, 3', request: { path: '/v2/items', headers: { 'x-api-version': '2, 3' } }, expect: from('v2'), transports: ['h1', 'h2'] },
    { name: 'X-Api-Version 3, 4', request: { path: '/v2/items', headers: { 'x-api-version': '3, 4' } }, expect: from('main'), transports: ['h1', 'h2'] },
    { name: 'no X-Api-Version', request: { path: '/v2/items' }, expect: from('main'), transports: ['h1', 'h2'] },
  ];
  const cells = cellsOf(rows);
  const failures = await runCells(target(COND), cells);
  assert.equal(failures.length, 0, `${failures.length} of ${cells.length} cells failed:\n${formatFailures(failures)}`);
  assert.ok(receivedPaths(writer.heads).every((path) => path.startsWith('/write/')), writer.heads.join('\n'));
  assert.ok(!writer.heads.some((head) => head.startsWith('GET ')), `a GET reached the writer:\n${writer.heads.join('\n')}`);
  assert.equal(v2.heads.length, 4, `only the four requests naming version 2 reached v2 (2, and the list 2, 3; over h1 and h2):\n${v2.heads.join('\n---\n')}`);
  assert.equal(portico.workerPids().length, 1);
});
