import assert from 'node:assert/strict';
import { test } from 'node:test';
import { siteHarness } from '../support/site-harness.js';

// A path the mapping refuses (an encoded slash, a dot segment, a hidden segment) is refused
// before a site's routes, so no route can take what its path conditions cannot judge; a site
// without routes, and OPTIONS *, are answered as they always were.

const ROUTES = `sites:
  - name: s
    hosts: [s.test]
    root: ./pub
    routes:
      - match: { path: ["/admin/**"] }
        handle: [{ respond: { status: 403 } }]
      - handle: [{ respond: { status: 200, body: "through" } }]
`;

test('on a site with routes, no spelling the mapping refuses reaches a route behind a guard', async () => {
  const site = await siteHarness(ROUTES, { 'pub/index.html': 'home' });
  try {
    for (const [target, status] of [['/admin/./x', 400], ['/admin/%2e/x', 400], ['/admin%2Fx', 400], ['/x/../admin/x', 400], ['/admin/.git/config', 404], ['/admin/x', 403], ['/open', 200]] as const) {
      for (const method of ['GET', 'POST', 'OPTIONS']) assert.equal((await site.request(method, target)).status, status, `${method} ${target}`);
    }
    assert.ok(site.log.some((line) => /"\/admin\/\.\/x" from 127\.0\.0\.1 refused with 400: the path contains a dot segment/.test(line)), site.log.join('\n'));
    assert.equal((await site.request('OPTIONS', '*')).status, 200, 'OPTIONS * is not a path: the routes answer it');
  } finally {
    await site.close();
  }
});

test('a site without routes answers such paths as before: the files decide (405 for a POST, 204 for OPTIONS)', async () => {
  const site = await siteHarness('sites:\n  - name: s\n    hosts: [s.test]\n    root: ./pub\n', { 'pub/index.html': 'home' });
  try {
    assert.equal((await site.request('GET', '/a/./x')).status, 400);
    assert.equal((await site.request('POST', '/a/./x')).status, 405);
    assert.equal((await site.request('OPTIONS', '/a/./x')).status, 204);
  } finally {
    await site.close();
  }
});
