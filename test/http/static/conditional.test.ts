import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConditionalHeaders, evaluatePreconditions, ifRangeAllows, parseHttpDate } from '../../../src/http/static/conditional.js';
import { parseEntityTags } from '../../../src/http/static/entity-tag.js';

const current = { etag: '"v2"', lastModified: Date.UTC(2026, 0, 10, 12, 0, 0, 700) };
const AT = 'Sat, 10 Jan 2026 12:00:00 GMT';
const BEFORE = 'Sat, 10 Jan 2026 11:59:59 GMT';
const AFTER = 'Sat, 10 Jan 2026 12:00:01 GMT';

const cases: Array<[string, Partial<ConditionalHeaders>, ReturnType<typeof evaluatePreconditions>]> = [
  ['no conditions', {}, 'proceed'],
  ['If-Match the current tag', { ifMatch: '"v2"' }, 'proceed'],
  ['If-Match another tag', { ifMatch: '"v1"' }, 'precondition-failed'],
  ['If-Match a list holding the tag', { ifMatch: '"v1", "v2"' }, 'proceed'],
  ['If-Match *', { ifMatch: '*' }, 'proceed'],
  ['If-Match a weak tag (strong comparison fails)', { ifMatch: 'W/"v2"' }, 'precondition-failed'],
  ['If-Unmodified-Since at Last-Modified', { ifUnmodifiedSince: AT }, 'proceed'],
  ['If-Unmodified-Since before Last-Modified', { ifUnmodifiedSince: BEFORE }, 'precondition-failed'],
  ['If-Unmodified-Since unparsable (ignored)', { ifUnmodifiedSince: 'yesterday' }, 'proceed'],
  ['If-Match wins over If-Unmodified-Since', { ifMatch: '"v2"', ifUnmodifiedSince: BEFORE }, 'proceed'],
  ['If-None-Match the tag', { ifNoneMatch: '"v2"' }, 'not-modified'],
  ['If-None-Match the weak form (weak comparison)', { ifNoneMatch: 'W/"v2"' }, 'not-modified'],
  ['If-None-Match another tag', { ifNoneMatch: '"v1"' }, 'proceed'],
  ['If-None-Match a list', { ifNoneMatch: '"a", W/"v2", "b"' }, 'not-modified'],
  ['If-None-Match *', { ifNoneMatch: '*' }, 'not-modified'],
  ['If-Modified-Since at Last-Modified', { ifModifiedSince: AT }, 'not-modified'],
  ['If-Modified-Since after Last-Modified', { ifModifiedSince: AFTER }, 'not-modified'],
  ['If-Modified-Since before Last-Modified', { ifModifiedSince: BEFORE }, 'proceed'],
  ['If-Modified-Since in RFC 850 form', { ifModifiedSince: 'Saturday, 10-Jan-26 12:00:00 GMT' }, 'not-modified'],
  ['If-Modified-Since in asctime form', { ifModifiedSince: 'Sat Jan 10 12:00:00 2026' }, 'not-modified'],
  ['If-None-Match wins over If-Modified-Since', { ifNoneMatch: '"v1"', ifModifiedSince: AFTER }, 'proceed'],
  ['If-Match failing wins over If-None-Match', { ifMatch: '"v1"', ifNoneMatch: '"v2"' }, 'precondition-failed'],
  ['If-None-Match matching on a non-GET method', { method: 'DELETE', ifNoneMatch: '"v2"' }, 'precondition-failed'],
  ['If-Modified-Since on a non-GET method (ignored)', { method: 'DELETE', ifModifiedSince: AFTER }, 'proceed'],
  ['a malformed If-None-Match (no match)', { ifNoneMatch: 'v2' }, 'proceed'],
];

for (const [what, headers, expected] of cases) {
  test(`evaluatePreconditions(): ${what} → ${expected}`, () => {
    assert.equal(evaluatePreconditions({ method: 'GET', ...headers }, current), expected);
  });
}

test('ifRangeAllows() needs a strongly matching tag or the exact Last-Modified date', () => {
  assert.equal(ifRangeAllows(undefined, current), true);
  assert.equal(ifRangeAllows('"v2"', current), true);
  assert.equal(ifRangeAllows('"v1"', current), false);
  assert.equal(ifRangeAllows('W/"v2"', current), false);
  assert.equal(ifRangeAllows(AT, current), true);
  assert.equal(ifRangeAllows(AFTER, current), false);
  assert.equal(ifRangeAllows('garbage', current), false);
});

test('parseHttpDate() reads IMF-fixdate and refuses other text', () => {
  assert.equal(parseHttpDate(AT), Date.UTC(2026, 0, 10, 12) / 1000);
  assert.equal(parseHttpDate('2026-01-10'), undefined);
  assert.equal(parseHttpDate(''), undefined);
});

test('parseEntityTags() reads lists with weak tags and refuses unquoted ones', () => {
  assert.deepEqual(parseEntityTags(' "a" ,W/"b"'), [{ weak: false, opaque: 'a' }, { weak: true, opaque: 'b' }]);
  assert.equal(parseEntityTags('a'), undefined);
  assert.equal(parseEntityTags('*'), 'any');
});
