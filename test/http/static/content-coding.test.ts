import assert from 'node:assert/strict';
import { test } from 'node:test';
import { negotiateCoding } from '../../../src/http/static/content-coding.js';
import { isCompressibleType } from '../../../src/http/static/content-type.js';

const both = ['br', 'gzip'] as const;
const cases: Array<[string | undefined, readonly ('br' | 'gzip')[], 'br' | 'gzip' | undefined]> = [
  [undefined, both, undefined],
  ['', both, undefined],
  ['gzip', both, 'gzip'],
  ['gzip, deflate, br', both, 'br'],
  ['br;q=0.5, gzip', both, 'gzip'],
  ['gzip;q=0.5', both, 'gzip'],
  ['*', both, 'br'],
  ['*;q=0, gzip', both, 'gzip'],
  ['identity', both, undefined],
  ['gzip;q=0.5, identity', both, undefined],
  ['br;q=0, gzip;q=0', both, undefined],
  ['br', ['gzip'], undefined],
  ['x-gzip', both, 'gzip'],
  ['GZIP;Q=1', both, 'gzip'],
  ['gzip;q=2', both, undefined],
];

for (const [header, available, expected] of cases) {
  test(`negotiateCoding(${JSON.stringify(header)}, [${available}]) is ${expected ?? 'identity'}`, () => {
    assert.equal(negotiateCoding(header, available), expected);
  });
}

test('isCompressibleType() follows mime-db: text and JSON yes, images and archives no', () => {
  assert.equal(isCompressibleType('text/html; charset=utf-8'), true);
  assert.equal(isCompressibleType('application/json'), true);
  assert.equal(isCompressibleType('image/svg+xml'), true);
  assert.equal(isCompressibleType('image/png'), false);
  assert.equal(isCompressibleType('application/zip'), false);
  assert.equal(isCompressibleType('application/octet-stream'), false);
});
