import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRenewalDue, isWithinValidity, leafValidity, renewalTime } from '../../src/tls/renewal.js';

const now = Date.UTC(2026, 10, 24, 12, 0, 0, 500);
const DAY = 86_400_000;

test('leafValidity() back-dates a seven-day leaf by one minute and ends on a whole second', () => {
  const validity = leafValidity(now, 7 * DAY);
  assert.equal(validity.notBefore, Date.UTC(2026, 10, 24, 11, 59, 0));
  assert.equal(validity.notAfter, Date.UTC(2026, 11, 1, 12, 0, 0));
});

test('leafValidity() never back-dates more than a tenth of a short lifetime', () => {
  const validity = leafValidity(now, 10_000);
  assert.equal(validity.notBefore, Date.UTC(2026, 10, 24, 11, 59, 59));
});

test('renewalTime() is two thirds into the validity', () => {
  assert.equal(renewalTime({ notBefore: 0, notAfter: 9_000 }), 6_000);
});

test('isRenewalDue() turns true at the renewal time, not before', () => {
  const validity = { notBefore: 0, notAfter: 9_000 };
  assert.equal(isRenewalDue(validity, 5_999), false);
  assert.equal(isRenewalDue(validity, 6_000), true);
});

test('isWithinValidity() excludes notAfter itself and anything before notBefore', () => {
  const validity = { notBefore: 1_000, notAfter: 2_000 };
  assert.equal(isWithinValidity(validity, 999), false);
  assert.equal(isWithinValidity(validity, 1_000), true);
  assert.equal(isWithinValidity(validity, 1_999), true);
  assert.equal(isWithinValidity(validity, 2_000), false);
});
