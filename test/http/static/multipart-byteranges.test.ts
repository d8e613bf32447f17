import assert from 'node:assert/strict';
import { test } from 'node:test';
import { multipartLayout } from '../../../src/http/static/multipart-byteranges.js';

test('multipartLayout() frames each part and counts the exact body length', () => {
  const layout = multipartLayout([{ start: 0, end: 1 }, { start: 5, end: 7 }], 10, 'text/plain', 'B');
  assert.equal(layout.contentType, 'multipart/byteranges; boundary=B');
  const body = `${layout.parts[0]!.head}01${layout.parts[1]!.head}567${layout.tail}`;
  assert.equal(body, '--B\r\ncontent-type: text/plain\r\ncontent-range: bytes 0-1/10\r\n\r\n01\r\n--B\r\ncontent-type: text/plain\r\ncontent-range: bytes 5-7/10\r\n\r\n567\r\n--B--\r\n');
  assert.equal(layout.length, Buffer.byteLength(body));
});
