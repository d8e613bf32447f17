import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { UnclaimedHosts } from '../../src/log/unclaimed-hosts.js';
import { eventually } from '../support/eventually.js';
import { httpRequest } from '../support/http-request.js';
import { exchange, recordingLogger } from '../support/in-process.js';
import { type PorticoProcess, runPortico } from '../support/portico-process.js';
import { writeSites } from '../support/sites.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

// Every answer reaches a log, also those no site gives: a host no site claims (a site removed by
// a reload, without a default site) goes to the operator log, a 421 to the log of the site the
// TLS handshake chose, and with a default site, that site answers and logs it.
const servers = useTestServers();
let portico: PorticoProcess;
let configFile: string;
let httpPort: number;
let httpsPort: number;
let ca: string;

const site = (name: string, extra = ''): string => `  - name: ${name}\n    hosts: [${name}.example.test]\n    root: ./${name}\n    log: { dir: ./logs/${name} }\n${extra}`;
const config = (sites: string): string => `http: 0\nhttps: 0\nbind: 127.0.0.1\nworkers: 1\nstate: ${servers.box.state}\nsites:\n${sites}`;

before(async () => {
  await writeSites((await servers.ready()).dir);
  configFile = servers.configFile();
  portico = await servers.serveConfig(config(site('docs') + site('shop')));
  assert.match(portico.output, /^ready: 2 site\(s\)/m);
  [httpPort, httpsPort, ca] = await Promise.all([portico.port('http'), portico.port('https'), servers.rootCa()]);
});

async function reload(sites: string): Promise<void> {
  await writeFile(configFile, config(sites));
  const reloads = portico.matches(/reloaded: /g).length;
  const { code, stderr } = await runPortico(['reload', '--config', configFile]);
  assert.equal(code, 0, stderr);
  await eventually(() => portico.matches(/reloaded: /g).length > reloads, { what: 'reloaded' });
}

/** The access-log lines of a site that contain `needle`, once there is one (lines are written within a second). */
async function logged(name: string, needle: string): Promise<string[]> {
  return eventually(
    async () => {
      const folder = join(servers.box.dir, 'logs', name);
      const names = await readdir(folder).catch(() => [] as string[]);
      const text = (await Promise.all(names.filter((file) => file.startsWith('u_ex')).map((file) => readFile(join(folder, file), 'utf8')))).join('');
      const lines = text.split('\n').filter((line) => line.includes(needle));
      return lines.length > 0 && lines;
    },
    { what: `a line with ${needle} in ${name}'s access log` },
  );
}

test('a host no site claims, without a default site: the 404 is one INFO line in the operator log, with what was asked', async () => {
  assert.equal((await httpRequest(httpPort, '/old/page', { headers: { host: 'gone.example.test' } })).status, 404);
  await portico.waitFor(/INFO .*no site claims host gone\.example\.test \(no default site\): GET \/old\/page from 127\.0\.0\.1 answered 404/);
  // The next ones are counted for the minute's summary, not logged one by one.
  assert.equal((await httpRequest(httpPort, '/again', { headers: { host: 'gone.example.test' } })).status, 404);
  assert.equal((await httpRequest(httpPort, '/x', { headers: { host: 'other.example.test' } })).status, 404);
  await portico.waitFor(/no site claims host other\.example\.test/);
  assert.equal(portico.matches(/no site claims host gone\.example\.test/g).length, 1);
});

test('a 421 (SNI shop, Host docs) is a line in shop\'s access log: the site whose certificate the connection got', async () => {
  const reply = await probe({ port: httpsPort, servername: 'shop.example.test', hostHeader: 'docs.example.test', ca, path: '/misdirected-421' });
  assert.equal(reply.status, 421);
  const lines = await logged('shop', '/misdirected-421');
  assert.equal(lines.length, 1, 'the 421 in shop\'s log');
  assert.match(lines[0]!, / GET \/misdirected-421 - \d+ - 127\.0\.0\.1 .* 421 0 0 \d+$/);
});

test('after a reload removes a site, its requests are in the operator log; with a default site, in that site\'s log', async () => {
  await reload(site('docs'));
  assert.equal((await httpRequest(httpPort, '/removed', { headers: { host: 'shop.example.test' } })).status, 404);
  await portico.waitFor(/no site claims host shop\.example\.test \(no default site\): GET \/removed from 127\.0\.0\.1 answered 404/);
  await reload(site('docs', '    default: true\n'));
  assert.equal((await httpRequest(httpPort, '/removed-to-default', { headers: { host: 'shop.example.test' } })).status, 404);
  assert.equal((await logged('docs', '/removed-to-default')).length, 1, 'the default site answers and logs it');
});

const finished = (host: string, path = '/') => ({ exchange: { ...exchange('GET', path), host }, status: 404 });

test('a flood of host names: ten named lines a window, then one summary with exact counts; memory bounded', async () => {
  const log = recordingLogger();
  const unclaimed = new UnclaimedHosts(log, { windowMs: 50 });
  for (let i = 0; i < 3; i++) unclaimed.record(finished('a.example'), 'no default site');
  for (let i = 0; i < 2_000; i++) unclaimed.record(finished(`h${i}.example`), 'no default site');
  assert.equal(log.lines.length, 10);
  await eventually(() => log.lines.length > 10, { what: 'the summary' });
  assert.equal(log.lines.length, 11);
  // a.example: 1 named + 2 counted; h0-h8 named; h9-h998 counted one each (990); the rest (1,001) beyond the 1,000 hosts counted by name.
  assert.match(log.lines[10]!, /^INFO 1993 more request\(s\) for hosts no site claims in the last 0 s: 2 for a\.example, 1 for h9\.example, .*, 1982 for other hosts$/);
  // A new window names hosts again; what came from the request is escaped as in the access log.
  unclaimed.record(finished('a.example', '/next\u0001window'), 'no default site');
  assert.match(log.lines[11]!, /no site claims host a\.example \(no default site\): GET \/next%01window from 127\.0\.0\.1 answered 404/);
  unclaimed.report();
});
