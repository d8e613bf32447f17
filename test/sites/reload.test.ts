import assert from 'node:assert/strict';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { httpRequest } from '../support/http-request.js';
import { PorticoProcess, runPortico } from '../support/portico-process.js';
import { fetchRootCa } from '../support/root-ca.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { writeSites } from '../support/sites.js';
import { probe } from '../support/tls-probe.js';

// Three reloads under traffic: one adds a site, one is invalid, one removes a site. A keep-alive
// client requesting every 20 ms and a throttled 200 MiB download must see no error, the
// keep-alive connection must survive, and every request must be in the access log.
const DOWNLOAD_BYTES = 200 * 1024 * 1024;
/** About 60 MiB/s: the download spans the three reloads without making the run long. */
const DOWNLOAD_BYTES_PER_MS = 60 * 1024;
let box: Sandbox;
let portico: PorticoProcess;
let configFile: string;

const site = (name: string): string => `  - name: ${name}\n    hosts: [${name}.example.test]\n    root: ./${name}\n    log: { dir: ./logs/${name} }\n`;
const config = (sites: string, state: string): string => `http: 0\nhttps: 0\nbind: 127.0.0.1\nworkers: 2\nstate: ${state}\nsites:\n${sites}`;

before(async () => {
  box = await createSandbox();
  await writeSites(box.dir);
  const big = await open(join(box.dir, 'docs', 'big.bin'), 'w');
  await big.truncate(DOWNLOAD_BYTES);
  await big.close();
  configFile = join(box.dir, 'portico.yaml');
  await writeFile(configFile, config(site('docs') + site('shop'), box.state));
  portico = PorticoProcess.serve(['--config', configFile]);
  await portico.waitFor(/^ready: 2 site\(s\)/m, 60_000);
});

after(async () => {
  await portico?.stop();
  await box?.remove();
});

async function reload(sites: string): Promise<{ code: number | null; stderr: string }> {
  await writeFile(configFile, config(sites, box.state));
  return runPortico(['reload', '--config', configFile]);
}

test('three reloads under a keep-alive client and a download: no error, the connection survives, nothing is lost from the logs', async () => {
  const httpsPort = await portico.port('https');
  const httpPort = await portico.port('http');
  const ca = (await fetchRootCa(box.state)).pem;
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca, servername: 'docs.example.test' });
  const sockets = new Set<Socket>();
  const errors: string[] = [];
  let answered = 0;
  let stop = false;

  const get = (path: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: httpsPort, path, agent, servername: 'docs.example.test', headers: { host: 'docs.example.test' } }, (res) => {
        sockets.add(res.socket);
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
  const keepAlive = (async () => {
    while (!stop) {
      try {
        const status = await get('/');
        if (status !== 200) errors.push(`keep-alive request: ${status}`);
        answered += 1;
      } catch (error) {
        errors.push(`keep-alive request: ${String(error)}`);
      }
      await delay(20);
    }
  })();

  const download = new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const req = request({ host: '127.0.0.1', port: httpsPort, path: '/big.bin', ca, servername: 'docs.example.test', agent: false, headers: { host: 'docs.example.test' } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`download: ${res.statusCode}`));
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        const ahead = received / DOWNLOAD_BYTES_PER_MS - (Date.now() - started);
        if (ahead > 5) {
          res.pause();
          setTimeout(() => res.resume(), ahead);
        }
      });
      res.on('end', () => resolve(received));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });

  try {
    await reloadThreeTimes();
  } finally {
    stop = true;
    await keepAlive;
    agent.destroy();
  }
  assert.equal(await download, DOWNLOAD_BYTES);
  assert.deepEqual(errors, []);
  assert.ok(answered > 10, `only ${answered} keep-alive requests`);
  assert.equal(sockets.size, 1, 'the keep-alive connection was closed by a reload');

  // Every docs request is in docs' log once the workers have flushed (SIGTERM).
  await portico.stop('SIGTERM');
  const folder = join(box.dir, 'logs', 'docs');
  const text = (await Promise.all((await readdir(folder)).map((name) => readFile(join(folder, name), 'utf8')))).join('');
  const lines = text.split('\n').filter((line) => line.length > 0 && !line.startsWith('#'));
  assert.equal(lines.filter((line) => / GET \/ - /.test(line)).length, answered);
  assert.equal(lines.filter((line) => / GET \/big\.bin - .* 200 0 0 /.test(line)).length, 1);

  async function reloadThreeTimes(): Promise<void> {
  // 1. Adds a site: its certificate is issued before any worker routes to it.
  const added = await reload(site('docs') + site('shop') + site('blog'));
  assert.equal(added.code, 0, added.stderr);
  await portico.waitFor(/reloaded: docs, shop, blog/);
  const blog = await probe({ port: httpsPort, servername: 'blog.example.test', ca });
  assert.equal(blog.status, 200);
  assert.equal(blog.body, 'this is blog\n');

  // 2. An invalid file: refused by the command, and by the primary on SIGHUP; the sites still serve.
  const invalid = await reload(`${site('docs')}    rooot: ./x\n`);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /portico\.yaml:\d+:\d+ sites\[0\]\.rooot: is not a key here; did you mean root\?/);
  process.kill(portico.pid, 'SIGHUP');
  await portico.waitFor(/reload refused \(1 problem\(s\) above\); still serving the configuration loaded before/);
  assert.equal((await probe({ port: httpsPort, servername: 'blog.example.test', ca })).status, 200);

  // 3. Removes a site: it is no longer served, by name or by certificate.
  const removed = await reload(site('docs') + site('blog'));
  assert.equal(removed.code, 0, removed.stderr);
  await portico.waitFor(/reloaded: docs, blog$/m);
  assert.equal((await httpRequest(httpPort, '/', { headers: { host: 'shop.example.test' } })).status, 404);
  const shop = await probe({ port: httpsPort, servername: 'shop.example.test' });
  assert.ok(shop.status === 404 || shop.status === 421, `shop after removal: ${shop.status}`);
  assert.ok(!shop.cert.checkHost('shop.example.test'), 'the removed site\'s certificate is still handed out');

  }
});
