import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { parseDuration } from '../../src/config/values.js';
import { defaultStateDir } from '../../src/config/defaults.js';
import { planFromFlags, type ServeFlags } from '../../src/config/flags.js';
import { PlanError } from '../../src/config/problem.js';

const root = tmpdir();

test('planFromFlags() fills the documented defaults and freezes the whole plan', async () => {
  const plan = await planFromFlags({ root });
  assert.equal(plan.serving.sites[0]!.root, root);
  assert.deepEqual(
    plan.serving.bindings.map((b) => [b.name, b.port, b.tls]),
    [
      ['http', 8080, false],
      ['https', 8443, true],
    ],
  );
  assert.deepEqual(plan.certificates[0]!.hosts, ['localhost', '127.0.0.1', '::1']);
  const [certificate] = plan.certificates;
  assert.ok(certificate?.source === 'internal');
  assert.equal(certificate.keyType, 'ec-p256');
  assert.equal(certificate.lifetimeMs, 7 * 86_400_000);
  assert.equal(plan.serving.limits.handshakeHoldMs, 30_000);
  assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.serving.bindings[0]) && Object.isFrozen(plan.certificates[0]!.hosts));
});

test('planFromFlags() lowercases and de-duplicates --host values', async () => {
  assert.deepEqual((await planFromFlags({ root, host: ['Example.TEST', 'example.test', '10.0.0.1'] })).certificates[0]!.hosts, ['example.test', '10.0.0.1']);
});

test('planFromFlags(): port 0 asks for any free port, off turns a listener off, and no TLS binding needs no certificate', async () => {
  const plan = await planFromFlags({ root, http: '0', https: 'off' });
  assert.deepEqual(
    plan.serving.bindings.map((b) => [b.name, b.port]),
    [['http', 0]],
  );
  assert.deepEqual(plan.certificates, []);
});

const invalid: Array<[string, ServeFlags, string, string]> = [
  ['a negative port', { http: '-1' }, '--http', 'ERR_INVALID_PORT'],
  ['a port with a fraction', { https: '443.5' }, '--https', 'ERR_INVALID_PORT'],
  ['equal ports', { http: '9000', https: '9000' }, '--http', 'ERR_INVALID_OPTION'],
  ['both listeners off', { http: 'off', https: 'off' }, '--http', 'ERR_INVALID_OPTION'],
  ['a host with a space', { host: ['bad host'] }, '--host', 'ERR_INVALID_OPTION'],
  ['an IPv6 zone id, which a certificate cannot name', { host: ['fe80::1%lo'] }, '--host', 'ERR_INVALID_OPTION'],
  ['a bind address that is a name', { bind: 'localhost' }, '--bind', 'ERR_INVALID_OPTION'],
  ['a lifetime below two seconds', { 'cert-lifetime': '1s' }, '--cert-lifetime', 'ERR_INVALID_OPTION'],
  ['a lifetime with an unknown unit', { 'cert-lifetime': '3w' }, '--cert-lifetime', 'ERR_INVALID_OPTION'],
];

for (const [what, flags, path, code] of invalid) {
  test(`planFromFlags() refuses ${what}: ${path}, ${code}`, async () => {
    await assert.rejects(planFromFlags({ root, ...flags }), (error: unknown) => error instanceof PlanError && error.problems[0]?.path === path && error.problems[0].code === code);
  });
}

test('planFromFlags() reports every problem at once', async () => {
  await assert.rejects(planFromFlags({ root: '/nonexistent/portico', http: 'x', workers: '0', 'key-type': 'dsa' }), (error: unknown) => {
    assert.ok(error instanceof PlanError);
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ['ERR_INVALID_PORT', 'ERR_INVALID_OPTION', 'ERR_INVALID_OPTION', 'ERR_ROOT_NOT_FOUND'],
    );
    return true;
  });
});

test('parseDuration() reads ms, s, m, h, d and bare seconds', () => {
  assert.deepEqual(['250ms', '30s', '10m', '12h', '7d', '45'].map(parseDuration), [250, 30_000, 600_000, 43_200_000, 604_800_000, 45_000]);
  assert.equal(parseDuration('soon'), undefined);
});

test('defaultStateDir() follows XDG_DATA_HOME, else ~/.local/share', () => {
  assert.equal(defaultStateDir({ XDG_DATA_HOME: '/data' }), '/data/portico');
  assert.match(defaultStateDir({}), /\/\.local\/share\/portico$/);
});
