import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Primary } from '../../src/cluster/primary.js';
import { planFromConfigFile } from '../../src/config/config-file.js';
import { isPorticoError } from '../../src/errors.js';
import { eventually } from '../support/eventually.js';
import { httpRequest } from '../support/http-request.js';
import { recordingLogger } from '../support/in-process.js';
import { PorticoProcess, runPortico } from '../support/portico-process.js';
import { chainsTo, fetchRootCa } from '../support/root-ca.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { writeSites } from '../support/sites.js';
import { probe } from '../support/tls-probe.js';

// A real Primary in this process, with two real worker processes serving on loopback: Control's
// operations are called directly, as the admin API will, and checked against what clients see.
let box: Sandbox;
let configFile: string;
let primary: Primary;
const log = recordingLogger();
const printed: string[] = [];

const site = (name: string, extra = ''): string => `  - name: ${name}\n    hosts: [${name}.example.test]\n    root: ${join(box.dir, name)}\n${extra}`;
const config = (sites: string): string => `http: 0\nhttps: 0\nbind: 127.0.0.1\nworkers: 2\nstate: ${box.state}\nsites:\n${sites}`;

function port(name: 'http' | 'https'): number {
  const line = printed.find((candidate) => candidate.startsWith(`  ${name}://`));
  assert.ok(line, `a ${name} listener was printed:\n${printed.join('\n')}`);
  return Number(line.slice(line.lastIndexOf(':') + 1, -1));
}

before(async () => {
  box = await createSandbox();
  await writeSites(box.dir);
  configFile = join(box.dir, 'portico.yaml');
  await writeFile(configFile, config(site('docs', '    default: true\n') + site('shop')));
  primary = new Primary(await planFromConfigFile(configFile), log, (line) => void printed.push(line), (file) => planFromConfigFile(file));
  await primary.start();
  await eventually(() => printed.some((line) => line.startsWith('ready:')), { what: 'the primary to print ready', timeoutMs: 60_000 });
});

after(async () => {
  primary?.shutdown(0, 'the test is over');
  assert.equal(await primary?.done, 0);
  await box?.remove();
});

test('status: every worker with its pid, the sites, each certificate with its hosts and expiry, the config file', async () => {
  const status = await eventually(
    () => {
      const now = primary.control.status();
      return now.workers.every((worker) => worker.state === 'running') && now;
    },
    { what: 'both workers running' },
  );
  assert.equal(status.workers.length, 2);
  for (const worker of status.workers) {
    assert.equal(typeof worker.pid, 'number');
    assert.equal(worker.restarts, 0);
  }
  assert.deepEqual(
    status.sites.map((s) => s.name),
    ['docs', 'shop'],
  );
  assert.equal(status.configFile, configFile);
  assert.ok(status.since <= Date.now());
  assert.equal(status.certificates.length, 2);
  for (const certificate of status.certificates) {
    assert.equal(certificate.source, 'internal');
    assert.equal(certificate.hosts.length, 1);
    assert.ok((certificate.notAfter ?? 0) > Date.now(), 'valid now');
  }
});

test('counters: asked of every worker over IPC and summed; they grow with real requests', async () => {
  const before = await primary.control.counters();
  assert.equal(before.workers, 2);
  assert.equal(before.unanswered, 0);
  for (let i = 0; i < 5; i += 1) assert.equal((await httpRequest(port('http'), '/', { headers: { host: 'shop.example.test' } })).status, 200);
  assert.equal((await httpRequest(port('http'), '/missing', { headers: { host: 'shop.example.test' } })).status, 404);
  const after = await eventually(
    async () => {
      const now = await primary.control.counters();
      return now.counts.total >= before.counts.total + 6 && now;
    },
    { what: 'six more exchanges counted' },
  );
  assert.equal(after.counts.byStatus['2xx'] - before.counts.byStatus['2xx'], 5);
  assert.equal(after.counts.byStatus['4xx'] - before.counts.byStatus['4xx'], 1);
  assert.ok(after.counts.bytesSent > before.counts.bytesSent);
});

test('renew: an internal certificate is renewed now, and a new TLS connection gets the new one; an unknown id is refused with its code', async () => {
  const ca = (await fetchRootCa(box.state)).pem;
  const current = primary.control.status().certificates.find((certificate) => certificate.hosts.includes('shop.example.test'))!;
  const old = await probe({ port: port('https'), servername: 'shop.example.test', ca });
  const renewed = await primary.control.renew(current.id, 'the test');
  assert.equal(renewed.id, current.id);
  assert.notEqual(renewed.fingerprint256, current.fingerprint256);
  assert.ok(log.lines.some((line) => line.startsWith(`INFO renewing certificate ${current.id} now: asked for by the test`)));
  await eventually(
    async () => {
      const fresh = await probe({ port: port('https'), servername: 'shop.example.test', ca });
      return fresh.cert.fingerprint256 !== old.cert.fingerprint256 && fresh.status === 200;
    },
    { what: 'a new connection served the renewed certificate' },
  );
  await assert.rejects(primary.control.renew('no-such-certificate'), (error: unknown) => isPorticoError(error) && error.code === 'ERR_UNKNOWN_CERTIFICATE');
});

test('reload: a changed file is applied (a new site served), a broken one refused with its problem, the running sites kept', async () => {
  await writeFile(configFile, config(site('docs', '    default: true\n') + site('shop') + site('blog')));
  const applied = await primary.control.reload('the test');
  assert.equal(applied.outcome, 'applied');
  assert.ok(applied.outcome === 'applied' && applied.sites.includes('blog') && applied.confirmed);
  assert.ok(log.lines.includes('INFO control: reload asked for by the test'));
  assert.equal((await httpRequest(port('http'), '/', { headers: { host: 'blog.example.test' } })).body.toString(), 'this is blog\n');
  assert.deepEqual(
    primary.control.status().sites.map((s) => s.name),
    ['docs', 'shop', 'blog'],
  );

  await writeFile(configFile, config(site('docs', '    default: true\n    colour: blue\n')));
  const refused = await primary.control.reload('the test');
  assert.equal(refused.outcome, 'refused');
  assert.ok(refused.outcome === 'refused' && refused.problems.some((problem) => problem.includes('colour')), JSON.stringify(refused));
  assert.ok(log.lines.some((line) => line.startsWith('ERROR reload refused (')));
  assert.equal((await httpRequest(port('http'), '/', { headers: { host: 'blog.example.test' } })).body.toString(), 'this is blog\n');
});

test('SIGHUP and `portico reload` both reach Control.reload', async () => {
  const box2 = await createSandbox();
  try {
    await writeSites(box2.dir);
    const file = join(box2.dir, 'portico.yaml');
    await writeFile(file, `http: 0\nbind: 127.0.0.1\nworkers: 1\nstate: ${box2.state}\nsites:\n  - name: docs\n    hosts: [docs.example.test]\n    root: ./docs\n`);
    const portico = PorticoProcess.serve(['--config', file]);
    try {
      await portico.waitFor(/^ready: 1 site\(s\)/m, 60_000);
      portico.child.kill('SIGHUP');
      await portico.waitFor(/control: reload asked for by SIGHUP[^]*reloaded: docs/);
      const asked = (): number => portico.output.split('control: reload asked for by SIGHUP').length - 1;
      assert.equal(asked(), 1);
      const reload = await runPortico(['reload', '--config', file]);
      assert.equal(reload.code, 0, reload.stderr);
      await eventually(() => asked() === 2 && portico.output.split('reloaded: docs').length - 1 === 2, { what: 'a second reload through Control' });
    } finally {
      await portico.stop();
    }
  } finally {
    await box2.remove();
  }
});

test('on-demand TLS by the internal CA: a worker asks the primary over the request layer; an approved name is served, a refused one alerted', async () => {
  const box3 = await createSandbox();
  const ask = createServer((request, response) => {
    const domain = new URL(request.url ?? '/', 'http://ask').searchParams.get('domain') ?? '';
    response.writeHead(domain.startsWith('ok-') ? 200 : 403).end();
  });
  await new Promise<void>((resolve) => ask.listen(0, '127.0.0.1', resolve));
  try {
    const file = join(box3.dir, 'portico.yaml');
    const askPort = (ask.address() as { port: number }).port;
    await writeFile(file, `https: 0\nbind: 127.0.0.1\nworkers: 2\nstate: ${box3.state}\nsites:\n  - name: customers\n    hosts: ["*"]\n    root: ${box3.site}\n    tls: { onDemand: { ask: "http://127.0.0.1:${askPort}/allowed" } }\n`);
    const portico = PorticoProcess.serve(['--config', file]);
    try {
      await portico.waitFor(/^ready:/m, 60_000);
      const httpsPort = await portico.port('https');
      // The root CA is born with the first certificate asked for.
      const served = await probe({ port: httpsPort, servername: 'ok-one.customer.test' });
      assert.equal(served.status, 200);
      assert.ok(served.cert.checkHost('ok-one.customer.test'));
      assert.ok(chainsTo(served.cert, (await fetchRootCa(box3.state)).cert));
      await assert.rejects(probe({ port: httpsPort, servername: 'evil.customer.test' }));
    } finally {
      await portico.stop();
    }
  } finally {
    ask.close();
    await box3.remove();
  }
});
