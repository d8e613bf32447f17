import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PorticoProcess } from '../support/portico-process.js';
import { eventually } from '../support/eventually.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { createSandbox, freePort, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

let box: Sandbox;
let redis: RedisServer;

before(async () => {
  box = await createSandbox();
  redis = await startRedis();
});

after(async () => {
  await redis?.stop();
  await box?.remove();
});

async function config(name: string, url: string, extra = ''): Promise<string> {
  const file = join(box.dir, `${name}.yaml`);
  await writeFile(file, `http: 0\nhttps: 0\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\n${extra}storage: { redis: { url: "${url}", prefix: ${name} } }\nsites:\n  - { name: site, hosts: [localhost], root: ${box.site} }\n`);
  return file;
}

test('Redis down at start: one clear line naming the URL and what to do, exit code 1', async () => {
  const nothing = await freePort();
  const portico = PorticoProcess.serve(['--config', await config('down', `redis://127.0.0.1:${nothing}/0`)]);
  const { code } = await portico.waitForExit();
  assert.equal(code, 1);
  assert.match(portico.stderr, new RegExp(`^portico: cannot reach Redis at redis://127\\.0\\.0\\.1:${nothing}/0 \\(.*ECONNREFUSED.*\\): start it, or fix storage\\.redis\\.url \\(ERR_STORAGE_UNREACHABLE\\)$`, 'm'));
  assert.doesNotMatch(portico.stderr, /^\s+at /m, 'no stack trace');
});

test('Redis lost while serving: the site keeps serving its certificate, a WARN says so, and renewal resumes when Redis is back', async () => {
  // A 24 s certificate is renewed at 16 s: Redis is away then, and back for a retry before it expires.
  const portico = PorticoProcess.serve(['--config', await config('lost', redis.url, 'internalCa: { certLifetime: 24s }\n')]);
  try {
    const port = await portico.port('https');
    await portico.waitFor(/^ready: /m, 30_000);
    const first = await probe({ port, servername: 'localhost' });
    assert.equal(first.status, 200);
    await redis.kill();
    await portico.waitFor(/WARN .*lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+\/0; serving the certificates already loaded/, 10_000);
    const meanwhile = await probe({ port, servername: 'localhost' });
    assert.equal(meanwhile.status, 200);
    assert.equal(meanwhile.cert.fingerprint256, first.cert.fingerprint256);
    await portico.waitFor(/certificate renewal failed \(attempt 1\), retrying in \d+ s: .*Redis/, 30_000);
    await redis.restart();
    await portico.waitFor(/connected to Redis at redis:\/\/127\.0\.0\.1:\d+\/0 again/, 10_000);
    const [, renewed] = await portico.waitFor(/publishing certificate \S+ \(sha256 (\S+)\)[\s\S]*publishing certificate \S+ \(sha256 (\S+)\)/, 20_000).then((match) => [match[1], match[2]]);
    // The primary logs before its message reaches the worker: the new one is served a moment later.
    await eventually(async () => (await probe({ port, servername: 'localhost' })).cert.fingerprint256 === renewed, { what: 'the renewed certificate is served', timeoutMs: 5_000 });
    const after = await probe({ port, servername: 'localhost' });
    assert.notEqual(renewed, first.cert.fingerprint256);
    assert.equal(after.cert.issuer, first.cert.issuer, 'the same root CA, kept in Redis across its restart');
  } finally {
    await portico.stop();
  }
});
