import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildServeConfig, defaultStateDir } from '../../src/config/serve-config.js';
import { parseDuration } from '../../src/config/duration.js';
import { PorticoError } from '../../src/errors.js';

test('buildServeConfig() fills the documented defaults and freezes the result', () => {
  const config = buildServeConfig({}, '/srv');
  assert.equal(config.root, '/srv');
  assert.equal(config.httpPort, 8080);
  assert.equal(config.httpsPort, 8443);
  assert.deepEqual(config.hosts, ['localhost', '127.0.0.1', '::1']);
  assert.equal(config.keyType, 'ec-p256');
  assert.equal(config.certLifetimeMs, 7 * 86_400_000);
  assert.equal(config.handshakeHoldMs, 30_000);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.hosts));
});

test('buildServeConfig() lowercases and de-duplicates --host values', () => {
  assert.deepEqual(buildServeConfig({ host: ['Example.TEST', 'example.test', '10.0.0.1'] }).hosts, ['example.test', '10.0.0.1']);
});

const invalid: Array<[string, Parameters<typeof buildServeConfig>[0], string]> = [
  ['a negative port', { http: '-1' }, 'ERR_INVALID_PORT'],
  ['a port with a fraction', { https: '443.5' }, 'ERR_INVALID_PORT'],
  ['equal ports', { http: '9000', https: '9000' }, 'ERR_INVALID_OPTION'],
  ['a host with a space', { host: ['bad host'] }, 'ERR_INVALID_OPTION'],
  ['a bind address that is a name', { bind: 'localhost' }, 'ERR_INVALID_OPTION'],
  ['a lifetime below two seconds', { 'cert-lifetime': '1s' }, 'ERR_INVALID_OPTION'],
  ['a lifetime with an unknown unit', { 'cert-lifetime': '3w' }, 'ERR_INVALID_OPTION'],
];

for (const [what, args, code] of invalid) {
  test(`buildServeConfig() refuses ${what} with ${code}`, () => {
    assert.throws(() => buildServeConfig(args), (error: unknown) => error instanceof PorticoError && error.code === code);
  });
}

test('parseDuration() reads ms, s, m, h, d and bare seconds', () => {
  assert.deepEqual(['250ms', '30s', '10m', '12h', '7d', '45'].map(parseDuration), [250, 30_000, 600_000, 43_200_000, 604_800_000, 45_000]);
  assert.equal(parseDuration('soon'), undefined);
});

test('defaultStateDir() follows XDG_DATA_HOME, else ~/.local/share', () => {
  assert.equal(defaultStateDir({ XDG_DATA_HOME: '/data' }), '/data/portico');
  assert.match(defaultStateDir({}), /\/\.local\/share\/portico$/);
});
