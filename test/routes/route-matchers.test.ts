import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { compose, type Handler } from '../../src/http/handler.js';
import { Pipeline } from '../../src/http/pipeline.js';
import { errorPage } from '../../src/http/error-page.js';
import { bytesResponse } from '../../src/http/response.js';
import { exchange, recordingLogger } from '../support/in-process.js';
import { siteHarness, type SiteHarness } from '../support/site-harness.js';

// Routes over the in-process harness: the real loader, the real compiled routes and kinds, the
// real router; only the sockets are left out (test/routes/routes-over-sockets.test.ts has them).

let upstream: Server;
let upstreamPort: number;
let site: SiteHarness;

const say = (text: string): string => `[{ respond: { status: 200, body: "${text}" } }]`;

before(async () => {
  upstream = createServer((request, res) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => res.end(`upstream ${request.method} ${request.url}${body ? ` ${body}` : ''}`));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as { port: number }).port;
  site = await siteHarness(
    [
      'http: 0',
      'https: off',
      'state: ./state',
      'trustedProxies: [10.9.0.1]',
      'sites:',
      '  - name: main',
      '    hosts: [main.test]',
      '    root: ./public',
      '    tryFiles: ["{path}", "@app"]',
      '    routes:',
      `      - { match: { path: /health }, handle: ${say('healthy')} }`,
      `      - { match: { path: /form, method: POST }, handle: ${say('posted')} }`,
      `      - { match: { path: /v/, header: { X-Api-Version: ["2", "3"] } }, handle: ${say('new api')} }`,
      `      - { match: { path: /v/, header: { X-Api-Version: "*" } }, handle: ${say('some api')} }`,
      `      - { match: { path: /debug, query: { debug: "1" } }, handle: ${say('debugging')} }`,
      `      - { match: { path: /office/, client: [10.1.0.0/16, "::1"] }, handle: ${say('office')} }`,
      `      - { match: { path: /office/ }, handle: [{ respond: { status: 403, body: "not from here" } }] }`,
      `      - { match: { path: /secret/ }, handle: [{ respond: { status: 404 } }] }`,
      `      - { name: app, handle: [{ proxy: { to: ["http://127.0.0.1:${upstreamPort}"] } }] }`,
      '',
    ].join('\n'),
    { 'public/index.html': 'home\n', 'public/page.html': 'a page\n', 'public/secret/key.txt': 'the key\n' },
  );
});

after(async () => {
  await site?.close();
  upstream?.close();
});

const body = async (method: string, target: string, request?: Parameters<SiteHarness['request']>[2]): Promise<string> => {
  const reply = await site.request(method, target, request);
  return `${reply.status} ${reply.body.toString()}`;
};

test('a path condition matches the decoded, normalised path and its spellings', async () => {
  for (const spelling of ['/health', '/%68ealth', '//health', '/health?x=1']) assert.equal(await body('GET', spelling), '200 healthy', spelling);
  for (const spelling of ['/secret/key.txt', '/%73ecret/key.txt', '/secret//key.txt', '//secret/key.txt', '/secret/key.txt/', '/secret/key%2Etxt']) assert.equal((await site.request('GET', spelling)).status, 404, `${spelling} is taken by the route in front of the files`);
  // Dot segments are refused before any route (400), as the file mapping refuses them: never the key.
  for (const spelling of ['/secret/./key.txt', '/x/../secret/key.txt', '/secret/%2e/key.txt']) {
    const reply = await site.request('GET', spelling);
    assert.ok(reply.status >= 400 && !reply.body.toString().includes('the key'), `${spelling}: ${reply.status}`);
  }
  assert.equal(await body('GET', '/page.html'), '200 a page\n', 'no route takes it: the files answer');
});

test('a method condition: POST only (and GET takes HEAD)', async () => {
  assert.equal(await body('POST', '/form'), '200 posted');
  // GET /form is no route's: the files have no /form, and tryFiles hands it to @app.
  assert.equal(await body('GET', '/form'), '200 upstream GET /form');
});

test('a header condition: a value, a list, and * for present', async () => {
  assert.equal(await body('GET', '/v/x', { headers: { 'X-Api-Version': '3' } }), '200 new api');
  assert.equal(await body('GET', '/v/x', { headers: { 'X-Api-Version': '1' } }), '200 some api', 'the next route, whose * takes any value');
  assert.equal(await body('GET', '/v/x'), '200 upstream GET /v/x', 'without the header no /v/ route applies');
  // Repeated lines reach the exchange joined with commas (as node:http and HTTP/2 both give them):
  // any member may match, so a condition cannot be dodged by sending the header twice.
  assert.equal(await body('GET', '/v/x', { headers: { 'X-Api-Version': '1, 3' } }), '200 new api', 'a list with a value the route takes');
});

test('a query condition', async () => {
  assert.equal(await body('GET', '/debug?debug=1'), '200 debugging');
  assert.equal(await body('GET', '/debug?debug=0'), '200 upstream GET /debug?debug=0');
  assert.equal(await body('GET', '/debug?debug=0&debug=1'), '200 debugging', 'any value of a repeated parameter may match');
});

test('a client condition uses the real client address: X-Forwarded-For only from a trusted proxy', async () => {
  assert.equal(await body('GET', '/office/', { remoteAddress: '10.1.2.3' }), '200 office');
  assert.equal(await body('GET', '/office/', { remoteAddress: '::1' }), '200 office');
  assert.equal(await body('GET', '/office/', { remoteAddress: '192.0.2.7' }), '403 not from here');
  assert.equal(await body('GET', '/office/', { remoteAddress: '192.0.2.7', headers: { 'X-Forwarded-For': '10.1.2.3' } }), '403 not from here', 'a spoofed X-Forwarded-For from an untrusted peer');
  assert.equal(await body('GET', '/office/', { remoteAddress: '10.9.0.1', headers: { 'X-Forwarded-For': '10.1.2.3' } }), '200 office', 'the client a trusted proxy names');
  assert.equal(await body('GET', '/office/', { remoteAddress: '10.9.0.1', headers: { 'X-Forwarded-For': '10.1.2.3, 192.0.2.7' } }), '403 not from here', 'the entry nearest the trusted proxy counts');
});

test('tryFiles @app: a file that exists is served, a missing one and other methods go to the named route', async () => {
  assert.equal(await body('GET', '/'), '200 home\n');
  assert.equal(await body('GET', '/nowhere/at/all'), '200 upstream GET /nowhere/at/all');
  assert.equal(await body('DELETE', '/page.html'), '200 upstream DELETE /page.html', 'files serve GET and HEAD only');
});

test('a named route without conditions is reached only by name', async () => {
  // Were `app` an ordinary route, it would take /page.html before the files.
  assert.equal(await body('GET', '/page.html'), '200 a page\n');
});

test('compose refuses a second next(): the exchange gets a 500 and the operator log says why', async () => {
  const twice: Handler = (request, next) => {
    void next(request);
    return next(request);
  };
  const chain = compose([twice], () => bytesResponse(200, {}, 'once'));
  assert.throws(() => chain(exchange('GET', '/')), { code: 'ERR_NEXT_CALLED_TWICE' });
  const log = recordingLogger();
  const pipeline = new Pipeline([twice], log);
  const response = await pipeline.handle(exchange('GET', '/'));
  assert.equal(response.status, 500);
  assert.match(log.lines.join('\n'), /passed the request on twice/);
  assert.equal((await compose([(request, next) => next(request)], () => errorPage(404, false))(exchange('GET', '/'))).status, 404, 'one next() is fine');
});
