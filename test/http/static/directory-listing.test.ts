import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseListingSort, renderListingHtml, renderListingJson, sortListing } from '../../../src/http/static/directory-listing.js';

const entries = [
  { name: 'file10.txt', isDirectory: false, size: 10, modified: 3_000 },
  { name: 'file2.txt', isDirectory: false, size: 2_000, modified: 1_000 },
  { name: 'zeta', isDirectory: true, size: 0, modified: 2_000 },
  { name: 'alpha', isDirectory: true, size: 0, modified: 4_000 },
];

test('sortListing() puts folders first and compares names numerically', () => {
  assert.deepEqual(sortListing(entries, { key: 'name', order: 'asc' }).map((e) => e.name), ['alpha', 'zeta', 'file2.txt', 'file10.txt']);
});

test('sortListing() sorts by size or date, either way, folders still first', () => {
  assert.deepEqual(sortListing(entries, { key: 'size', order: 'desc' }).map((e) => e.name), ['zeta', 'alpha', 'file2.txt', 'file10.txt']);
  assert.deepEqual(sortListing(entries, { key: 'modified', order: 'asc' }).map((e) => e.name), ['zeta', 'alpha', 'file2.txt', 'file10.txt']);
});

test('parseListingSort() falls back to name ascending', () => {
  assert.deepEqual(parseListingSort('?sort=size&order=desc'), { key: 'size', order: 'desc' });
  assert.deepEqual(parseListingSort('?sort=<script>'), { key: 'name', order: 'asc' });
});

const hostileNames = ['<script>alert(1)</script>', 'a"b', "it's", '100%', 'a b', 'naïve—文字', 'a&amp;b', '#frag', '?query'];

test('renderListingHtml() escapes every name in text and encodes it in links', () => {
  const html = renderListingHtml(['dir <x>'], hostileNames.map((name) => ({ name, isDirectory: false, size: 1, modified: 0 })), { key: 'name', order: 'asc' });
  assert.doesNotMatch(html, /<script>alert/);
  for (const name of hostileNames) {
    assert.ok(html.includes(`href="${encodeURIComponent(name).replace(/'/g, '&#39;')}"`), `link for ${name}`);
  }
  assert.ok(html.includes('&#60;script&#62;alert(1)&#60;/script&#62;'));
  assert.ok(html.includes('a&#38;amp;b'));
  assert.ok(html.includes('href="/dir%20%3Cx%3E/"'), 'breadcrumb link is encoded');
  assert.ok(html.includes('dir &#60;x&#62;'), 'breadcrumb text is escaped');
});

test('renderListingJson() gives name, type, size, modified and an encoded url', () => {
  const [first] = JSON.parse(renderListingJson(['a b'], [{ name: '100% <x>', isDirectory: true, size: 0, modified: 0 }]));
  assert.deepEqual(first, { name: '100% <x>', type: 'directory', size: 0, modified: '1970-01-01T00:00:00.000Z', url: '/a%20b/100%25%20%3Cx%3E/' });
});
