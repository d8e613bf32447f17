import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { REDIRECT_RULES } from '../support/sites.js';
import { siteHarness, type SiteHarness, APP_SITE } from '../support/site-harness.js';

// The site rules' tables in process (the real loader, buildSites, router and pipelines, no
// sockets): what each rule kind does. site-rules.test.ts keeps each rule over real sockets, on
// HTTP/1.1 and HTTP/2, and the holes matrix.
let site: SiteHarness;

before(async () => {
  site = await siteHarness(
    `${APP_SITE}    root: ./app
    errors: { 404: /404.html, 403: /403.html, 401: /missing-401.html }
    headers:
      - { path: "/assets/*", set: { Cache-Control: "public, max-age=31536000, immutable" } }
      - { path: "/**", always: true, set: { X-Frame-Options: DENY }, remove: [X-Content-Type-Options] }
      - { path: /docs/, add: { X-Docs: "yes" } }
    cors: { origins: ["https://other.example.test"], methods: [GET, POST], credentials: true, maxAge: 600 }
    auth:
      - { path: /admin/, realm: "Back office", htpasswd: ./users.htpasswd }
${REDIRECT_RULES}  - name: secure
    hosts: [secure.example.test]
    root: ./app
    httpsRedirect: true
    hsts: { maxAge: 31536000, includeSubDomains: true }
`,
    {
      'app/index.html': 'home\n',
      'app/404.html': 'custom not found\n',
      'app/403.html': 'custom forbidden\n',
      'app/assets/app.3f9a.js': 'console.log(1)\n',
      'app/admin/index.html': 'admin area\n',
      'app/docs/index.html': 'docs\n',
      'users.htpasswd': `alice:${bcrypt.hashSync('correct horse', 4)}\n`,
    },
  );
});

after(() => site.close());

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

const MATCHING: Array<[string, string, string | undefined]> = [
  ['the same asset with an encoded letter', '/%61ssets/app.3f9a.js', 'public, max-age=31536000, immutable'],
  ['the same asset through a doubled slash', '//assets/app.3f9a.js', 'public, max-age=31536000, immutable'],
  ['the page, outside the glob', '/', 'no-cache'],
  ['another case, which is another (missing) path here: the 404 page, not the rule', '/ASSETS/app.3f9a.js', 'no-store'],
];

for (const [what, path, cacheControl] of MATCHING) {
  test(`headers: ${what} (${path}) gets Cache-Control ${cacheControl}`, async () => {
    const reply = await site.request('GET', path, { secure: true });
    assert.equal(reply.headers['cache-control'], cacheControl);
    assert.equal(reply.headers['x-frame-options'], 'DENY');
    assert.equal(reply.headers['x-content-type-options'], undefined, 'removed, though Portico sets it');
  });
}

test('headers: a prefix rule adds to its folder, and rules apply to 304s and error pages too', async () => {
  assert.equal((await site.request('GET', '/docs/')).headers['x-docs'], 'yes');
  const first = await site.request('GET', '/assets/app.3f9a.js');
  const revalidated = await site.request('GET', '/assets/app.3f9a.js', { headers: { 'if-none-match': String(first.headers.etag) } });
  assert.equal(revalidated.status, 304);
  assert.equal(revalidated.headers['cache-control'], 'public, max-age=31536000, immutable');
  const missing = await site.request('GET', '/nothing-here');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.toString(), 'custom not found\n');
  assert.equal(missing.headers['x-frame-options'], 'DENY');
});

test('error pages: HEAD gets the headers only; a page that is itself missing leaves the original answer', async () => {
  const head = await site.request('HEAD', '/nothing-here');
  assert.equal(head.status, 404);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-length'], String('custom not found\n'.length));
  const challenged = await site.request('GET', '/admin/', { secure: true });
  assert.equal(challenged.status, 401);
  assert.equal(challenged.body.toString(), 'Sign-in required.\n', '401 names a page that does not exist');
  await mkdir(join(site.dir, 'app', 'empty'), { recursive: true });
  const forbidden = await site.request('GET', '/empty/');
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.body.toString(), 'custom forbidden\n');
});

const REDIRECTS: Array<[string, string, number, string]> = [
  ['an encoded prefix', '/%6Fld/page', 301, '/new/page'],
  ['{uri} to another site', '/blog/2026/post?ref=home', 308, 'https://blog.example.test/blog/2026/post?ref=home'],
  ['a target with its own query keeps it', '/moved?x=1', 307, '/there?from=moved'],
  ['{path} from a doubled slash stays on this site', '/go//evil.test', 302, '/evil.test'],
  ['{uri} that would make //host stays on this site', '/raw//evil.test', 302, '/raw//evil.test'],
  ['{path} with an encoded CR LF stays encoded', '/go/%0d%0aSet-Cookie:%20x', 302, '/%0D%0ASet-Cookie%3A%20x'],
];

for (const [what, path, status, location] of REDIRECTS) {
  test(`redirects: ${what}`, async () => {
    const reply = await site.request('GET', path);
    assert.equal(reply.status, status);
    assert.equal(reply.headers.location, location);
    assert.equal(reply.headers['x-frame-options'], 'DENY', 'header rules dress redirects');
    assert.equal(reply.headers.vary, 'Origin', 'and so does CORS');
  });
}

test('CORS: a preflight from another origin gets no grant; a simple request gets Allow-Origin for an allowed origin only, and Vary: Origin always', async () => {
  const refused = await site.request('OPTIONS', '/api', { headers: { origin: 'https://evil.example.test', 'access-control-request-method': 'POST' } });
  assert.equal(refused.status, 204);
  assert.equal(refused.headers['access-control-allow-origin'], undefined);
  const allowed = await site.request('GET', '/', { headers: { origin: 'https://other.example.test' } });
  assert.equal(allowed.headers['access-control-allow-origin'], 'https://other.example.test');
  assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
  assert.match(String(allowed.headers.vary), /Origin/);
  const other = await site.request('GET', '/', { headers: { origin: 'https://evil.example.test' } });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  assert.match(String(other.headers.vary), /Origin/);
});

test('CORS: a preflight to a redirected path is the redirect (the redirects come first)', async () => {
  const reply = await site.request('OPTIONS', '/old/x', { headers: { origin: 'https://other.example.test', 'access-control-request-method': 'POST' } });
  assert.equal(reply.status, 301);
  assert.equal(reply.headers['access-control-allow-origin'], 'https://other.example.test');
});

test('httpsRedirect and HSTS: 308 except ACME paths, HSTS over HTTPS only and on the redirect never', async () => {
  const plain = await site.request('GET', '/docs/?q=1', { host: 'secure.example.test' });
  assert.equal(plain.status, 308);
  assert.equal(plain.headers.location, 'https://secure.example.test:8443/docs/?q=1');
  assert.equal(plain.headers['strict-transport-security'], undefined);
  assert.equal((await site.request('GET', '/.well-known/acme-challenge/token', { host: 'secure.example.test' })).status, 404);
  const secure = await site.request('GET', '/', { host: 'secure.example.test', secure: true });
  assert.equal(secure.status, 200);
  assert.equal(secure.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  const missing = await site.request('GET', '/none', { host: 'secure.example.test', secure: true });
  assert.equal(missing.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', 'errors too');
});

test('auth: the realm, encoded paths, wrong passwords and unknown users; plain HTTP is 403 with its own page, not the site\'s', async () => {
  const none = await site.request('GET', '/admin/', { secure: true });
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Basic realm="Back office", charset="UTF-8"');
  assert.equal(none.headers['x-frame-options'], 'DENY');
  assert.equal((await site.request('GET', '/%61dmin/', { secure: true })).status, 401);
  const right = await site.request('GET', '/admin/', { secure: true, headers: basic('alice', 'correct horse') });
  assert.equal(right.status, 200);
  assert.equal(right.body.toString(), 'admin area\n');
  assert.equal((await site.request('GET', '/admin/', { secure: true, headers: basic('alice', 'wrong') })).status, 401);
  assert.equal((await site.request('GET', '/admin/', { secure: true, headers: basic('mallory', 'correct horse') })).status, 401);
  const plain = await site.request('GET', '/admin/', { headers: basic('alice', 'correct horse') });
  assert.equal(plain.status, 403);
  assert.match(plain.body.toString(), /only sent over HTTPS: open https:\/\/app\.example\.test\/admin\//);
});
