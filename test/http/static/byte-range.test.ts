import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_RANGES, parseRange } from '../../../src/http/static/byte-range.js';

const SIZE = 1000;
const cases: Array<[string | undefined, ReturnType<typeof parseRange>]> = [
  [undefined, { kind: 'ignore' }],
  ['bytes=0-499', { kind: 'ranges', ranges: [{ start: 0, end: 499 }] }],
  ['bytes=500-', { kind: 'ranges', ranges: [{ start: 500, end: 999 }] }],
  ['bytes=-200', { kind: 'ranges', ranges: [{ start: 800, end: 999 }] }],
  ['bytes=-5000', { kind: 'ranges', ranges: [{ start: 0, end: 999 }] }],
  ['bytes=900-5000', { kind: 'ranges', ranges: [{ start: 900, end: 999 }] }],
  ['BYTES = 0-0', { kind: 'ranges', ranges: [{ start: 0, end: 0 }] }],
  ['bytes=0-1, 5-6', { kind: 'ranges', ranges: [{ start: 0, end: 1 }, { start: 5, end: 6 }] }],
  ['bytes=5-6,0-1', { kind: 'ranges', ranges: [{ start: 5, end: 6 }, { start: 0, end: 1 }] }],
  ['bytes=0-10,5-20,21-30', { kind: 'ranges', ranges: [{ start: 0, end: 30 }] }],
  ['bytes=0-,0-,0-', { kind: 'ranges', ranges: [{ start: 0, end: 999 }] }],
  ['bytes=2000-3000,0-1', { kind: 'ranges', ranges: [{ start: 0, end: 1 }] }],
  ['bytes=1000-', { kind: 'unsatisfiable' }],
  ['bytes=-0', { kind: 'unsatisfiable' }],
  ['bytes=1000-2000,3000-', { kind: 'unsatisfiable' }],
  ['items=0-1', { kind: 'ignore' }],
  ['bytes=', { kind: 'ignore' }],
  ['bytes=-', { kind: 'ignore' }],
  ['bytes=5-1', { kind: 'ignore' }],
  ['bytes=a-b', { kind: 'ignore' }],
  ['bytes=0-1,x', { kind: 'ignore' }],
  ['bytes 0-1', { kind: 'ignore' }],
  [`bytes=${Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 2}-${i * 2}`).join(',')}`, { kind: 'ignore' }],
];

for (const [header, expected] of cases) {
  test(`parseRange(${JSON.stringify(header)?.slice(0, 40)}) for ${SIZE} bytes is ${expected.kind}`, () => {
    assert.deepEqual(parseRange(header, SIZE), expected);
  });
}

test('parseRange() finds nothing satisfiable in an empty file', () => {
  assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-1', 0), { kind: 'unsatisfiable' });
});
