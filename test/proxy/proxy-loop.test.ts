import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { type MatrixTarget, pathVariants, send, TRANSPORTS } from '../support/matrix.js';
import type { PorticoProcess } from '../support/portico-process.js';
import { freePort } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

// A proxy route whose upstream is this server itself (its own port, by mistake): each hop is a
// new request to the same route. Found by the outside review: the requests filled the
// connection pool (256) with each other and hung for minutes, and every later request with
// them. Each hop now adds `portico` to CDN-Loop (RFC 8586); the ninth answers 508, which
// unwinds the chain, over HTTP/1.1, HTTP/2 and a WebSocket upgrade; the worker serves on.

const HOST = 'loop.example.test';
const servers = useTestServers();
let portico: PorticoProcess;
let target: MatrixTarget;

before(async () => {
  const box = await servers.ready();
  const httpPort = await freePort();
  await mkdir(join(box.dir, 'public'));
  await writeFile(join(box.dir, 'public', 'index.html'), 'home\n');
  portico = await servers.serveConfig([
    `http: ${httpPort}`,
    'https: 0',
    'bind: 127.0.0.1',
    'workers: 1',
    `state: ${box.state}`,
    'sites:',
    '  - name: loop',
    `    hosts: [${HOST}]`,
    '    root: ./public',
    '    routes:',
    '      - match: { path: ["/app/**"] }',
    `        handle: [{ proxy: { to: ["http://127.0.0.1:${httpPort}"] } }]`,
  ]);
  const [port, ca] = await Promise.all([portico.port('https'), servers.rootCa()]);
  target = { port, host: HOST, ca, timeoutMs: 60_000 };
});

for (const transport of TRANSPORTS) {
  test(`over ${transport}: a proxy route to this server itself ends with 508 Loop Detected, logged, and the site serves on`, async () => {
    const path = `/app/${transport}/loop`;
    const outcome = await send(target, transport, { path }, pathVariants(path)[0]!);
    // An upgrade's hop that gets the 508 instead of a 101 answers its own client 502 (an upstream
    // that refused the upgrade); the client at the far end sees that, and the log says why.
    assert.ok(transport === 'upgrade' ? [502, 508].includes(outcome.status) : outcome.status === 508, `${outcome.status} ${outcome.error ?? ''}`);
    await portico.waitFor(new RegExp(`proxy \\S*: GET ${path.replace(/\//g, '\\/')}: the request has passed through Portico 8 times already \\(its CDN-Loop field\\): a proxy loop`), 10_000);
    const home = await send(target, transport === 'upgrade' ? 'h1' : transport, { path: '/' }, pathVariants('/')[0]!);
    assert.equal(`${home.status} ${home.body}`, '200 home\n');
  });
}
