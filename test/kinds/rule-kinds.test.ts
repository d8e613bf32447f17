import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { describeRoutes } from '../../src/cli/commands/config.js';
import { siteRoutes } from '../../src/routes/site-routes.js';
import { siteHarness, type SiteHarness, APP_SITE } from '../support/site-harness.js';

// The site rules are handler kinds (issue 20): each can be written in a route's handle list, and
// a site that writes none of the rule keys gets no rule handler at all.
let site: SiteHarness;
const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

before(async () => {
  site = await siteHarness(
    `${APP_SITE}    root: ./www
    routes:
      - match: { path: /api/ }
        handle:
          - cors: { origins: ["https://other.example.test"], methods: [GET, POST] }
          - headers: [{ path: "/**", set: { X-Api: "yes" } }]
          - hsts: { maxAge: 600 }
          - respond: { status: 200, body: "api\\n" }
      - match: { path: /staff/ }
        handle:
          - auth: [{ path: /staff/, realm: Staff, htpasswd: ./users.htpasswd }]
          - respond: { status: 200, body: "staff\\n" }
      - match: { path: /old/ }
        handle:
          - redirects: [{ from: /old/, to: "/new/{path}" }]
      - match: { path: /down }
        handle:
          - errors: { 503: /503.html }
          - respond: { status: 503, body: "plain down\\n" }
      - match: { path: /plain/ }
        handle:
          - httpsRedirect: true
          - respond: { status: 200, body: "secure\\n" }
  - name: bare
    hosts: [bare.example.test]
    root: ./www
`,
    { 'www/index.html': 'home\n', 'www/503.html': 'custom down\n', 'users.htpasswd': `alice:${bcrypt.hashSync('correct horse', 4)}\n` },
  );
});

after(() => site.close());

test('headers, hsts and cors in a route dress its answer; other paths are not touched', async () => {
  const api = await site.request('GET', '/api/x', { secure: true, headers: { origin: 'https://other.example.test' } });
  assert.equal(api.body.toString(), 'api\n');
  assert.equal(api.headers['x-api'], 'yes');
  assert.equal(api.headers['strict-transport-security'], 'max-age=600');
  assert.equal(api.headers['access-control-allow-origin'], 'https://other.example.test');
  assert.equal(api.headers.vary, 'Origin');
  const home = await site.request('GET', '/', { secure: true, headers: { origin: 'https://other.example.test' } });
  assert.equal(home.headers['x-api'], undefined);
  assert.equal(home.headers['access-control-allow-origin'], undefined);
});

test('cors in a route answers a preflight itself', async () => {
  const reply = await site.request('OPTIONS', '/api/x', { headers: { origin: 'https://other.example.test', 'access-control-request-method': 'POST' } });
  assert.equal(reply.status, 204);
  assert.equal(reply.headers['access-control-allow-methods'], 'GET, POST');
});

test('auth in a route: 401 without credentials, 403 over plain HTTP, the route answers when signed in', async () => {
  const none = await site.request('GET', '/staff/', { secure: true });
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Basic realm="Staff", charset="UTF-8"');
  assert.equal((await site.request('GET', '/staff/', { secure: false, headers: basic('alice', 'correct horse') })).status, 403);
  const signed = await site.request('GET', '/staff/', { secure: true, headers: basic('alice', 'correct horse') });
  assert.equal(signed.status, 200);
  assert.equal(signed.body.toString(), 'staff\n');
});

test('redirects, error pages and httpsRedirect in a route', async () => {
  const moved = await site.request('GET', '/old/page?x=1');
  assert.equal(moved.status, 301);
  assert.equal(moved.headers.location, '/new/page?x=1');
  const down = await site.request('GET', '/down');
  assert.equal(down.status, 503);
  assert.equal(down.body.toString(), 'custom down\n');
  assert.equal(down.headers['cache-control'], 'no-store');
  const plain = await site.request('GET', '/plain/a');
  assert.equal(plain.status, 308);
  assert.equal(plain.headers.location, 'https://app.example.test:8443/plain/a');
  assert.equal((await site.request('GET', '/plain/a', { secure: true })).body.toString(), 'secure\n');
});

test('a site without rule keys has no rules route; portico check lists the kinds of each route', () => {
  const [app, bare] = site.plan.serving.sites;
  assert.deepEqual(siteRoutes(bare!).map((route) => route.handle.map((entry) => entry.kind)), [['files']]);
  const lines = describeRoutes(app!).filter(([label]) => label === 'route').map(([, text]) => text);
  assert.deepEqual(lines, ['/api/ -> cors, headers, hsts, respond', '/staff/ -> auth, respond', '/old/ -> redirects', '/down -> errors, respond', '/plain/ -> httpsRedirect, respond']);
});

test('the rule keys of a site are one leading route, outer to inner as the rules always ran', async () => {
  const rules = await siteHarness(
    `${APP_SITE}    root: ./www
    errors: { 404: /404.html }
    headers: [{ path: "/**", set: { X-A: "1" } }]
    cors: { origins: ["*"] }
    auth: [{ path: /x/, realm: R, htpasswd: ./users.htpasswd }]
    redirects: [{ from: /old/, to: /new/ }]
    httpsRedirect: true
    hsts: { maxAge: 1 }
`,
    { 'www/404.html': 'nf\n', 'users.htpasswd': '' },
  );
  try {
    const [route] = siteRoutes(rules.plan.serving.sites[0]!);
    assert.deepEqual(route!.handle.map((entry) => entry.kind), ['cors', 'hsts', 'headers', 'httpsRedirect', 'redirects', 'cors', 'errors', 'auth']);
  } finally {
    await rules.close();
  }
});
