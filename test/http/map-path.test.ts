import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapPath } from '../../src/http/map-path.js';

test('mapPath() splits a plain path into segments and keeps the query', () => {
  assert.deepEqual(mapPath('/docs/a%20b.html?x=1'), { ok: true, segments: ['docs', 'a b.html'], trailingSlash: false, pathname: '/docs/a b.html', query: '?x=1' });
  assert.deepEqual(mapPath('/'), { ok: true, segments: [], trailingSlash: true, pathname: '/', query: '' });
});

const refused: Array<[string, 400 | 404]> = [
  ['/../secret', 400],
  ['/a/../../secret', 400],
  ['/%2e%2e/secret', 400],
  ['/%2E%2E/secret', 400],
  ['/.%2e/secret', 400],
  ['/..%2fsecret', 400],
  ['/..%2Fsecret', 400],
  ['/..%5csecret', 400],
  ['/..\\secret', 400],
  ['/%c0%ae%c0%ae/secret', 400],
  ['/%e0%80%ae/secret', 400],
  ['/a%00.html', 400],
  ['/%ff', 400],
  ['/%', 400],
  ['/./index.html', 400],
  ['secret', 400],
  ['/.env', 404],
  ['/.git/config', 404],
  ['/a/.hidden/b', 404],
  ['/a/.well-known/x', 404],
];

for (const [target, status] of refused) {
  test(`mapPath() refuses ${JSON.stringify(target)} with ${status}`, () => {
    const mapped = mapPath(target);
    assert.equal(mapped.ok, false);
    assert.equal(!mapped.ok && mapped.status, status);
  });
}

test('mapPath() decodes exactly once: %252e stays the literal name "%2e"', () => {
  const mapped = mapPath('/%252e%252e/secret');
  assert.ok(mapped.ok);
  assert.deepEqual(mapped.segments, ['%2e%2e', 'secret']);
});

test('mapPath() allows /.well-known/ at the top', () => {
  assert.ok(mapPath('/.well-known/security.txt').ok);
});
