import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type AccessRecord, DEFAULT_W3C_FIELDS, escapeValue, type W3cField } from '../../src/log/w3c-fields.js';
import { W3cLog } from '../../src/log/w3c-log.js';
import { recordingLogger } from '../support/in-process.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-w3c-'));
});

after(() => rm(dir, { recursive: true, force: true }));

const record = (at: number, headers: Record<string, string> = {}, extra: Partial<AccessRecord> = {}): AccessRecord => ({
  endedAt: at,
  startedAt: at - 12,
  method: 'GET',
  path: '/docs/index.html',
  query: '?q=1',
  localAddress: '127.0.0.1',
  localPort: 8443,
  clientAddress: '127.0.0.2',
  user: undefined,
  status: 200,
  complete: true,
  bytesSent: 1234,
  bytesReceived: 80,
  protocol: 'HTTP/2',
  site: 'docs',
  header: (name) => headers[name],
  ...extra,
});

async function logIn(name: string, fields: readonly W3cField[] = DEFAULT_W3C_FIELDS, now = (): number => Date.parse('2026-11-25T10:00:00Z')): Promise<{ log: W3cLog; folder: string }> {
  const folder = join(dir, name);
  await import('node:fs/promises').then((fs) => fs.mkdir(folder));
  return { log: new W3cLog({ dir: folder, fields, software: 'Portico 9.9.9', log: recordingLogger(), now }), folder };
}

test('W3C: a new file starts with the exact header block, then lines in the IIS default fields', async () => {
  const { log, folder } = await logIn('header');
  log.write(record(Date.parse('2026-11-25T10:00:01.500Z'), { 'user-agent': 'Mozilla/5.0 (X11; Linux)', referer: 'https://docs.example.test/' }));
  log.close();
  assert.deepEqual(await readdir(folder), ['u_ex261125.log']);
  assert.equal(
    await readFile(join(folder, 'u_ex261125.log'), 'utf8'),
    [
      '#Software: Portico 9.9.9',
      '#Version: 1.0',
      '#Date: 2026-11-25 10:00:00',
      '#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken',
      '2026-11-25 10:00:01 127.0.0.1 GET /docs/index.html q=1 8443 - 127.0.0.2 Mozilla/5.0+(X11;+Linux) https://docs.example.test/ 200 0 0 12',
      '',
    ].join('\n'),
  );
});

test('W3C: a hostile User-Agent with CR, LF, NUL and spaces stays inside one field of one line', async () => {
  const { log, folder } = await logIn('hostile');
  const at = Date.parse('2026-11-25T10:00:02Z');
  log.write(record(at, { 'user-agent': 'evil\r\n2026-11-25 10:00:00 1.2.3.4 GET /forged - 80 - 6.6.6.6 x - 200 0 0 1\u0000 end' }));
  log.write(record(at, { 'user-agent': 'ok' }));
  log.close();
  const lines = (await readFile(join(folder, 'u_ex261125.log'), 'utf8')).split('\n').filter((line) => line && !line.startsWith('#'));
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.split(' ').length, 15);
  assert.match(lines[0]!, / evil%0D%0A2026-11-25\+10:00:00\+1\.2\.3\.4\+GET\+\/forged.*%00\+end - 200 /);
  assert.doesNotMatch(lines.join('\n'), /[\x00-\x08\x0b-\x1f\x7f]/);
});

test('W3C: values are written as IIS writes them: - for empty, + for a space, a cut-short response as win32 status 64', () => {
  assert.equal(escapeValue(undefined), '-');
  assert.equal(escapeValue(''), '-');
  assert.equal(escapeValue('a b'), 'a+b');
  assert.equal(escapeValue('naïve'), 'na%C3%AFve');
  assert.equal(escapeValue('tab\there'), 'tab%09here');
});

test('W3C: lines cross midnight (UTC) into the next day\'s file, which gets its own header block', async () => {
  let now = Date.parse('2026-12-31T23:59:59Z');
  const { log, folder } = await logIn('rollover', DEFAULT_W3C_FIELDS, () => now);
  log.write(record(now));
  now = Date.parse('2027-01-01T00:00:00.200Z');
  log.write(record(now, {}, { status: 404, complete: false }));
  log.close();
  assert.deepEqual((await readdir(folder)).sort(), ['u_ex261231.log', 'u_ex270101.log']);
  const first = await readFile(join(folder, 'u_ex261231.log'), 'utf8');
  const second = await readFile(join(folder, 'u_ex270101.log'), 'utf8');
  assert.match(first, /^#Software: Portico 9\.9\.9\n#Version: 1\.0\n#Date: 2026-12-31 23:59:59\n#Fields: /);
  assert.match(first, /\n2026-12-31 23:59:59 .* 200 0 0 12\n$/);
  assert.match(second, /^#Software: Portico 9\.9\.9\n#Version: 1\.0\n#Date: 2027-01-01 00:00:00\n#Fields: /);
  assert.match(second, /\n2027-01-01 00:00:00 .* 404 0 64 12\n$/);
});

test('W3C: optional fields, and a file whose fields changed gets a new #Fields block before the new lines', async () => {
  const at = Date.parse('2026-11-25T10:00:03Z');
  const first = await logIn('fields');
  first.log.write(record(at));
  first.log.close();
  const fields: W3cField[] = ['date', 'time', 'cs-host', 'cs-method', 'cs-uri-stem', 'sc-status', 'sc-bytes', 'cs-bytes', 'cs-version', 's-sitename'];
  const second = new W3cLog({ dir: first.folder, fields, software: 'Portico 9.9.9', log: recordingLogger(), now: () => at });
  second.write(record(at, { host: 'docs.example.test:8443' }));
  second.close();
  const text = await readFile(join(first.folder, 'u_ex261125.log'), 'utf8');
  assert.equal(text.match(/^#Fields: /gm)?.length, 2);
  assert.match(text, /#Fields: date time cs-host cs-method cs-uri-stem sc-status sc-bytes cs-bytes cs-version s-sitename\n2026-11-25 10:00:03 docs\.example\.test:8443 GET \/docs\/index\.html 200 1234 80 HTTP\/2 docs\n$/);
});

test('W3C: a folder that stops being writable costs a WARN, not a crash, and the lines are written once it is back', async () => {
  const folder = join(dir, 'gone');
  const log = recordingLogger();
  const writer = new W3cLog({ dir: folder, fields: DEFAULT_W3C_FIELDS, software: 'Portico 9.9.9', log, now: Date.now });
  writer.write(record(Date.parse('2026-11-25T10:00:04Z')));
  writer.flush();
  assert.equal(log.lines.filter((line) => line.startsWith('WARN cannot write the access log')).length, 1);
  writer.write(record(Date.parse('2026-11-25T10:00:05Z')));
  writer.flush();
  assert.equal(log.lines.filter((line) => line.startsWith('WARN')).length, 1, 'one warning while it stays broken');
  await import('node:fs/promises').then((fs) => fs.mkdir(folder));
  writer.close();
  const lines = (await readFile(join(folder, 'u_ex261125.log'), 'utf8')).split('\n').filter((line) => /^2026/.test(line));
  assert.equal(lines.length, 2);
  assert.ok(log.lines.some((line) => line.startsWith('INFO access log') && line.includes('writable again')));
});
