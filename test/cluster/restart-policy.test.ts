import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartPolicy } from '../../src/cluster/restart-policy.js';

test('RestartPolicy restarts with a doubling delay, then stops at the fifth failure within five minutes', () => {
  const policy = new RestartPolicy();
  const decisions = [0, 1_000, 2_000, 3_000, 4_000].map((at) => policy.recordFailure(at));
  assert.deepEqual(decisions, [
    { action: 'restart', delayMs: 100 },
    { action: 'restart', delayMs: 200 },
    { action: 'restart', delayMs: 400 },
    { action: 'restart', delayMs: 800 },
    { action: 'stop', failures: 5 },
  ]);
});

test('RestartPolicy forgets failures older than the interval', () => {
  const policy = new RestartPolicy();
  for (const at of [0, 1, 2, 3]) policy.recordFailure(at);
  assert.deepEqual(policy.recordFailure(5 * 60_000 + 10), { action: 'restart', delayMs: 100 });
});

test('RestartPolicy caps the delay', () => {
  const policy = new RestartPolicy({ maxFailures: 100, intervalMs: 1_000_000, firstDelayMs: 100, maxDelayMs: 1_000 });
  let last = policy.recordFailure(0);
  for (let i = 1; i < 20; i++) last = policy.recordFailure(i);
  assert.deepEqual(last, { action: 'restart', delayMs: 1_000 });
});
