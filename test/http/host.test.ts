import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHost, splitAbsoluteForm } from '../../src/http/host.js';

test('parseHost() accepts what RFC 3986 §3.2.2 allows, normalised for comparison', () => {
  const table: Array<[string, string, number | undefined]> = [
    ['example.test', 'example.test', undefined],
    ['Example.TEST:8443', 'example.test', 8443],
    ['example.test.', 'example.test', undefined],
    ['127.0.0.1:80', '127.0.0.1', 80],
    ['[::1]', '[::1]', undefined],
    ['[::1]:8443', '[::1]', 8443],
    ['xn--bcher-kva.test', 'xn--bcher-kva.test', undefined],
    ['', '', undefined],
    ['host:', 'host', undefined],
  ];
  for (const [value, name, port] of table) assert.deepEqual(parseHost(value), { name, port }, value);
});

test('parseHost() refuses what is not an authority (RFC 9112 §3.2: answer 400)', () => {
  // The last three were found by the fuzzer: a name with an empty label (fuzz/corpus/host).
  for (const value of ['a b/c', 'a b', 'host/path', 'host:port', 'host:99999', 'host:1:2', '[::1', '[zz::1]', 'user@host', 'ho\tst', 'höst', 'exa,mqle...:8443', 'examqle&..:8443', 'exa..mple', '.a']) {
    assert.equal(parseHost(value), undefined, value);
  }
});

test('splitAbsoluteForm() takes the authority for Host and the path and query for the target', () => {
  assert.deepEqual(splitAbsoluteForm('http://localhost/x?y=1'), { authority: 'localhost', target: '/x?y=1' });
  assert.deepEqual(splitAbsoluteForm('HTTPS://Example.test:8443'), { authority: 'Example.test:8443', target: '/' });
  assert.deepEqual(splitAbsoluteForm('http://h?q'), { authority: 'h', target: '/?q' });
  assert.equal(splitAbsoluteForm('/x'), undefined);
  assert.equal(splitAbsoluteForm('ftp://h/x'), undefined);
});
