import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePattern, compileRule, isProxiedPath, rulePaths } from '../../src/http/rules/path-pattern.js';

// [pattern, path, matches]
const PATTERNS: Array<[string, string, boolean]> = [
  ['/admin/', '/admin/', true],
  ['/admin/', '/admin', true],
  ['/admin/', '/admin/users/1', true],
  ['/admin/', '/administrator', false],
  ['/admin/', '/ADMIN/', false],
  ['/', '/anything/at/all', true],
  ['/old/page', '/old/page', true],
  ['/old/page', '/old/page/', false],
  ['/old/page', '/old/pages', false],
  ['/assets/*', '/assets/app.js', true],
  ['/assets/*', '/assets/js/app.js', false],
  ['/assets/**', '/assets/js/app.js', true],
  ['/**/*.js', '/a/b/c.js', true],
  ['/**/*.js', '/top.js', true],
  ['/**/*.js', '/top.css', false],
  ['/docs/**/index.html', '/docs/index.html', true],
  ['/docs/**/index.html', '/docs/a/b/index.html', true],
  ['*.js', '/top.js', true],
  ['*.js', '/a/b/c.js', true],
  ['*.js', '/a/b/c.json', false],
  ['*.js', '/a.js/b', false],
  ['*.min.js', '/vendor/x.min.js', true],
  ['*.min.js', '/vendor/x.js', false],
  ['/a.b/*', '/aXb/c', false],
  ['/go/', '/go/\r\nSet-Cookie: x', true],
  ['/(x)+/', '/(x)+/y', true],
];

for (const [pattern, path, expected] of PATTERNS) {
  test(`compilePattern(${JSON.stringify(pattern)}) ${expected ? 'matches' : 'does not match'} ${JSON.stringify(path)}`, () => {
    assert.equal(compilePattern(pattern)(path), expected);
  });
}

test('compilePattern() ignoring case matches any case of the pattern', () => {
  assert.equal(compilePattern('/ex/admin/', true)('/ex/ADMIN/users'), true);
  assert.equal(compilePattern('*.JS', true)('/a/b.js'), true);
  assert.equal(compilePattern('/ex/admin/', true)('/ex/adminx'), false);
});

// [path, proxied, spellings]
const SPELLINGS: Array<[string, boolean, string[]]> = [
  ['/new/x.txt', false, ['/new/x.txt']],
  ['/new/x.txt/', false, ['/new/x.txt/', '/new/x.txt']],
  ['/', false, ['/']],
  ['/private/p.txt;x=1', false, ['/private/p.txt;x=1']],
  ['/ex/admin;x/users', true, ['/ex/admin;x/users', '/ex/admin/users']],
  ['/ex/admin./users', true, ['/ex/admin./users', '/ex/admin/users']],
  ['/ex/admin/;x/', true, ['/ex/admin/;x/', '/ex/admin/;x', '/ex/admin/', '/ex/admin']],
  ['/ex/v1.2/x', true, ['/ex/v1.2/x']],
];

for (const [path, proxied, spellings] of SPELLINGS) {
  test(`rulePaths(${JSON.stringify(path)}, ${proxied}) are ${spellings.join(' ')}`, () => {
    assert.deepEqual(rulePaths(path, proxied), { spellings, proxied });
  });
}

// [pattern, caseSensitive, path, proxied, covered]
const RULES: Array<[string, boolean | undefined, string, boolean, boolean]> = [
  ['/new/x.txt', undefined, '/new/x.txt/', false, true],
  ['/private/*', undefined, '/private/p.txt/', false, true],
  ['/admin/', undefined, '/ADMIN/', false, false],
  ['/ex/admin/', undefined, '/ex/ADMIN/users', true, true],
  ['/ex/admin/', undefined, '/ex/Admin;jsessionid=1/users', true, true],
  ['/ex/admin/', true, '/ex/ADMIN/users', true, false],
  ['/ex/admin/', true, '/ex/admin;x/users', true, true],
  ['/admin/', false, '/ADMIN/', false, true],
];

for (const [pattern, caseSensitive, path, proxied, covered] of RULES) {
  test(`compileRule(${JSON.stringify(pattern)}, caseSensitive ${caseSensitive}) ${covered ? 'covers' : 'does not cover'} ${JSON.stringify(path)}${proxied ? ' (proxied)' : ''}`, () => {
    assert.equal(compileRule(pattern, caseSensitive)(rulePaths(path, proxied)), covered);
  });
}

test('isProxiedPath() is the proxy route prefix, with case ignored (fail closed)', () => {
  const routes = [{ path: '/ex/' }];
  assert.equal(isProxiedPath(routes, '/ex/admin'), true);
  assert.equal(isProxiedPath(routes, '/ex'), true);
  assert.equal(isProxiedPath(routes, '/EX/admin'), true);
  assert.equal(isProxiedPath(routes, '/other/'), false);
  assert.equal(isProxiedPath([], '/ex/'), false);
});
