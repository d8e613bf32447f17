import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from './eventually.js';

test('eventually retries a predicate until it holds, and an assertion until it passes, handing on the value', async () => {
  let calls = 0;
  await eventually(() => ++calls >= 3, { what: 'the third call' });
  assert.equal(calls, 3);
  let tries = 0;
  const value = await eventually(
    async () => {
      tries += 1;
      assert.ok(tries >= 2, `try ${tries}`);
      return `after ${tries}`;
    },
    { what: 'the second try' },
  );
  assert.equal(value, 'after 2');
});

test('at the deadline, eventually fails with what it waited for and the last assertion', async () => {
  let n = 0;
  await assert.rejects(
    eventually(() => assert.equal(++n, -1, 'the count is negative'), { what: 'a negative count', timeoutMs: 100 }),
    (error: Error) => /^a negative count: not within 100 ms \(\d+ tries\); the last try: the count is negative/.test(error.message) && error.cause instanceof assert.AssertionError,
  );
  await assert.rejects(eventually(() => false, { what: 'never', timeoutMs: 50 }), /never: not within 50 ms \(\d+ tries\); the check still returned false$/);
});

test('a try that hangs does not hold eventually past its deadline', async () => {
  await assert.rejects(eventually(() => new Promise<boolean>(() => undefined), { what: 'a hanging check', timeoutMs: 50 }), /a hanging check: not within 50 ms \(1 tries\); the last try was still running/);
});
