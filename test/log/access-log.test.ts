import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, test } from 'node:test';
import type { PorticoProcess } from '../support/portico-process.js';
import type { Sandbox } from '../support/sandbox.js';
import { writeSites } from '../support/sites.js';
import { useTestServers } from '../support/test-servers.js';

// 5,000 requests across two workers to three sites, every one logged: each worker appends whole
// lines to the same daily file of each site, and what comes back must parse line by line.
const REQUESTS = 5_000;
const SITES = ['docs', 'shop', 'blog'] as const;
// CR and LF never get past the HTTP parsers (test/log/w3c-log.test.ts writes them in-process);
// what does get through is obs-text (bytes 0x80-0xFF), a tab and spaces.
const HOSTILE_AGENT = 'evil agent\x85#Fields: forged\t2026-01-01 00:00:00 x';
const servers = useTestServers();
let box: Sandbox;
let portico: PorticoProcess;
const sent = new Map<string, number>();
let logs: Record<string, string[]>;

before(async () => {
  box = await servers.ready();
  await writeSites(box.dir);
  const sites = SITES.map((name) => `  - name: ${name}\n    hosts: [${name}.example.test]\n    root: ./${name}\n    log: { dir: ./logs/${name} }\n`).join('');
  portico = await servers.serveConfig(`http: 0\nhttps: off\nbind: 127.0.0.1\nworkers: 2\nstate: ${box.state}\nsites:\n${sites}`);
  const port = await portico.port('http');
  await portico.waitFor(/worker 1 started/);
  const agent = new Agent({ keepAlive: true, maxSockets: 24 });
  const get = (site: string, i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const userAgent = i % 100 === 0 ? HOSTILE_AGENT : `client/${i} (test run)`;
      const req = request({ host: '127.0.0.1', port, path: `/?i=${i}`, agent, headers: { host: `${site}.example.test`, 'user-agent': userAgent } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: 24 }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const site = SITES[i % SITES.length]!;
        await get(site, i);
        sent.set(site, (sent.get(site) ?? 0) + 1);
      }
    }),
  );
  agent.destroy();
  // SIGTERM: workers flush what they buffered before they exit; no line may be lost.
  const { code } = await portico.stop('SIGTERM');
  assert.equal(code, 0);
  logs = {};
  for (const site of SITES) {
    const folder = join(box.dir, 'logs', site);
    logs[site] = await Promise.all((await readdir(folder)).map((name) => readFile(join(folder, name), 'utf8')));
  }
});

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 127\.0\.0\.1 GET \/ i=(\d+) \d+ - 127\.0\.0\.1 (\S+) - 200 0 0 \d+$/;

test('W3C under load: every one of 5,000 requests across two workers is one whole line in its own site\'s log', () => {
  let total = 0;
  for (const site of SITES) {
    const lines = logs[site]!.join('').split('\n').filter((line) => line.length > 0 && !line.startsWith('#'));
    const torn = lines.filter((line) => !LINE.test(line));
    assert.deepEqual(torn, [], `${site}: lines that do not parse (torn or interleaved)`);
    const numbers = lines.map((line) => Number(LINE.exec(line)![1]));
    assert.equal(new Set(numbers).size, numbers.length, `${site}: a request logged twice`);
    assert.ok(numbers.every((i) => SITES[i % SITES.length] === site), `${site}: a line of another site`);
    assert.equal(lines.length, sent.get(site), `${site}: lines logged vs requests answered`);
    total += lines.length;
  }
  assert.equal(total, REQUESTS);
});

test('W3C under load: each file has exactly one header block at its top, written by whichever worker came first', () => {
  for (const site of SITES) {
    for (const text of logs[site]!) {
      assert.match(text, /^#Software: Portico \d+\.\d+\.\d+\n#Version: 1\.0\n#Date: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs\(User-Agent\) cs\(Referer\) sc-status sc-substatus sc-win32-status time-taken\n/);
      assert.equal(text.match(/^#/gm)?.length, 4);
    }
  }
});

test('W3C under load: a User-Agent with a tab, spaces and bytes beyond ASCII stays one field of one line', () => {
  const hostile = logs.docs!.join('').split('\n').filter((line) => line.includes('evil'));
  assert.ok(hostile.length > 0);
  for (const line of hostile) assert.match(line, / evil\+agent%C2%85#Fields:\+forged%092026-01-01\+00:00:00\+x - 200 /);
});

test('GoAccess (--log-format=W3C) reads each site\'s log and counts the same requests', async () => {
  for (const site of SITES) {
    const folder = join(box.dir, 'logs', site);
    const files = (await readdir(folder)).map((name) => join(folder, name));
    const report = join(box.dir, `${site}-goaccess.json`);
    await promisify(execFile)('goaccess', [...files, '--log-format=W3C', '--no-global-config', '-o', report]);
    const general = (JSON.parse(await readFile(report, 'utf8')) as { general: { total_requests: number; failed_requests: number } }).general;
    assert.equal(general.failed_requests, 0, `${site}: lines GoAccess could not parse`);
    assert.equal(general.total_requests, sent.get(site), site);
  }
});
