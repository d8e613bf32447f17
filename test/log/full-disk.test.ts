import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { type AccessRecord, DEFAULT_W3C_FIELDS } from '../../src/log/w3c-fields.js';
import { W3cLog } from '../../src/log/w3c-log.js';
import { AccessLogs } from '../../src/sites/access-logs.js';
import { eventually } from '../support/eventually.js';
import { recordingLogger } from '../support/in-process.js';
import { PorticoProcess } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

// docs/logs.md promises that a full disk costs no access-log line silently: whole lines only, up to
// 4 MiB kept and written once space is back, and an exact count of what could not be kept. Here
// on a real 64 KiB tmpfs as `log.dir`, with two workers appending to the same file: filled, then
// 800 requests, then space freed and SIGTERM at once (the last lines go out in the exit flush);
// and filled with the space never freed, where what SIGTERM cannot write is counted exactly.
const REQUESTS = 800;
const run = promisify(execFile);
let box: Sandbox;
const mounts: string[] = [];
let skip: string | false = false;

before(async () => {
  box = await createSandbox();
  // One mount decides for the file: mounting needs root (or CAP_SYS_ADMIN), which a container may not give.
  const probe = join(box.dir, 'probe');
  await mkdir(probe);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
    await run('umount', [probe]);
  } catch (error) {
    skip = `mounting a tmpfs is not permitted here (${(error as Error).message.split('\n')[0]})`;
  }
});

after(async () => {
  for (const dir of mounts) await run('umount', ['-l', dir]).catch(() => undefined);
  await box?.remove();
});

interface Run {
  readonly portico: PorticoProcess;
  readonly logs: string;
  readonly port: number;
  readonly agent: Agent;
}

/** A fresh 64 KiB tmpfs, unmounted when the file's tests end. */
async function tmpfs(name: string): Promise<string> {
  const dir = join(box.dir, name, 'logs');
  await mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

async function start(name: string): Promise<Run> {
  const logs = await tmpfs(name);
  const config = join(box.dir, name, 'portico.yaml');
  await writeFile(config, `http: 0\nhttps: off\nbind: 127.0.0.1\nworkers: 2\nstate: ${box.state}-${name}\nsites:\n  - name: docs\n    hosts: [docs.example.test]\n    root: ${box.site}\n    log: { dir: ${logs} }\n`);
  const portico = PorticoProcess.serve(['--config', config]);
  await portico.waitFor(/^ready: /m);
  const port = await portico.port('http');
  await portico.waitFor(/worker 1 started/);
  return { portico, logs, port, agent: new Agent({ keepAlive: true, maxSockets: 8 }) };
}

function get(at: Run, i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: at.port, path: `/?i=${i}`, agent: at.agent, headers: { host: 'docs.example.test', 'user-agent': 't' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Requests `from` to `to - 1`, eight at a time. */
async function load(at: Run, from: number, to: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < to) await get(at, next++);
    }),
  );
}

async function logText(at: { readonly logs: string }): Promise<string> {
  const names = (await readdir(at.logs)).filter((name) => name.startsWith('u_ex'));
  return (await Promise.all(names.map((name) => readFile(join(at.logs, name), 'latin1')))).join('');
}

/** Takes every byte the tmpfs has left: the filler grows in 1 KiB steps until the kernel says ENOSPC. */
async function fill(at: { readonly logs: string }): Promise<string> {
  const path = join(at.logs, 'filler');
  const file = await open(path, 'a');
  const chunk = Buffer.alloc(1024, 0x78);
  try {
    for (let i = 0; i < 1_000; i++) await file.write(chunk);
    throw new Error('a 64 KiB tmpfs took 1 MB');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await file.close();
  }
  return path;
}

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 127\.0\.0\.1 GET \/ i=(\d+) \d+ - 127\.0\.0\.1 t - 200 0 0 \d+$/;

/** Every line of the file parsed: the request numbers of the whole lines, and whatever else is there. */
function parse(text: string): { numbers: number[]; torn: string[] } {
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a whole line');
  const entries = lines.filter((line) => !line.startsWith('#'));
  return { numbers: entries.filter((line) => LINE.test(line)).map((line) => Number(LINE.exec(line)![1])), torn: entries.filter((line) => !LINE.test(line)) };
}

const dropped = (portico: PorticoProcess): number => portico.matches(/dropped (\d+) access-log line/g).reduce((sum, match) => sum + Number(match[1]), 0);

test('full disk: filled, 800 requests, space freed, SIGTERM: every line is in the file, whole, and GoAccess reads them all', async (t) => {
  if (skip) return t.skip(skip);
  const at = await start('freed');
  // The day's file exists with its header and a first line before the disk fills.
  await get(at, REQUESTS);
  await eventually(async () => parse(await logText(at)).numbers.length === 1, { what: 'the first line' });
  const filler = await fill(at);
  await load(at, 0, REQUESTS);
  await at.portico.waitFor(/WARN .*cannot write the access log/);
  await rm(filler);
  const { code } = await at.portico.stop('SIGTERM');
  assert.equal(code, 0);
  const text = await logText(at);
  const { numbers, torn } = parse(text);
  assert.deepEqual(torn, [], 'lines that do not parse (torn)');
  assert.equal(dropped(at.portico), 0, 'nothing was dropped: the buffer held it all');
  assert.equal(new Set(numbers).size, numbers.length, 'a request logged twice');
  assert.equal(numbers.length, REQUESTS + 1, 'lines logged vs requests answered');
  const report = join(box.dir, 'freed', 'goaccess.json');
  const names = (await readdir(at.logs)).filter((name) => name.startsWith('u_ex')).map((name) => join(at.logs, name));
  await run('goaccess', [...names, '--log-format=W3C', '--no-global-config', '-o', report]);
  const general = (JSON.parse(await readFile(report, 'utf8')) as { general: { total_requests: number; failed_requests: number } }).general;
  assert.equal(general.failed_requests, 0, 'lines GoAccess could not parse');
  assert.equal(general.total_requests, REQUESTS + 1);
});

test('full disk: space never freed, SIGTERM: the lines that could not be written are counted exactly, and none is torn', async (t) => {
  if (skip) return t.skip(skip);
  const at = await start('full');
  await get(at, REQUESTS);
  await eventually(async () => parse(await logText(at)).numbers.length === 1, { what: 'the first line' });
  await fill(at);
  await load(at, 0, REQUESTS);
  await at.portico.waitFor(/WARN .*cannot write the access log/);
  const { code } = await at.portico.stop('SIGTERM');
  assert.equal(code, 0);
  const { numbers, torn } = parse(await logText(at));
  assert.deepEqual(torn, [], 'lines that do not parse (torn)');
  assert.equal(new Set(numbers).size, numbers.length, 'a request logged twice');
  assert.equal(numbers.length + dropped(at.portico), REQUESTS + 1, `lines in the file (${numbers.length}) and lines reported dropped (${dropped(at.portico)}) vs requests answered`);
  assert.ok(dropped(at.portico) > 0);
});

const record = (i: number): AccessRecord => ({
  endedAt: Date.parse('2026-11-25T10:00:00Z'),
  startedAt: Date.parse('2026-11-25T10:00:00Z'),
  method: 'GET',
  path: '/',
  query: `?i=${i}`,
  localAddress: '127.0.0.1',
  localPort: 8080,
  clientAddress: '127.0.0.1',
  user: undefined,
  status: 200,
  complete: true,
  bytesSent: 0,
  bytesReceived: 0,
  protocol: 'HTTP/1.1',
  site: 'docs',
  header: (name) => (name === 'user-agent' ? 't' : undefined),
});

test('full disk, in one worker: a write the disk cuts short leaves whole lines; past the buffer the oldest go, counted exactly', async (t) => {
  if (skip) return t.skip(skip);
  const at = { logs: await tmpfs('short-write') };
  const log = recordingLogger();
  const writer = new W3cLog({ dir: at.logs, fields: DEFAULT_W3C_FIELDS, software: 'Portico 9.9.9', log, now: () => Date.parse('2026-11-25T10:00:00Z'), maxPendingBytes: 8 * 1024 });
  writer.write(record(0));
  writer.flush();
  const filler = await fill(at);
  // The file's last block still has room for some lines: the first flush is a short write.
  const LINES = 1_000;
  for (let i = 1; i < LINES; i++) writer.write(record(i));
  writer.flush();
  const during = parse(await logText(at));
  assert.deepEqual(during.torn, [], 'a torn line while the disk is full');
  assert.ok(during.numbers.length > 1, `the room left took whole lines (${during.numbers.length} in the file)`);
  assert.equal(log.lines.filter((line) => line.startsWith('WARN cannot write the access log')).length, 1);
  const reported = (): number => log.lines.reduce((sum, line) => sum + Number(/dropped (\d+) access-log line/.exec(line)?.[1] ?? 0), 0);
  assert.ok(reported() > 0, 'the overflow is reported while it lasts');
  await rm(filler);
  writer.flush();
  assert.ok(log.lines.some((line) => line.startsWith('INFO') && line.includes('writable again')));
  writer.close();
  const { numbers, torn } = parse(await logText(at));
  assert.deepEqual(torn, []);
  assert.equal(new Set(numbers).size, numbers.length, 'a line written twice');
  assert.equal(numbers.length + reported(), LINES, `lines in the file (${numbers.length}) and reported dropped (${reported()})`);
  // What was dropped is the oldest: the newest line is in the file.
  assert.ok(numbers.includes(LINES - 1));
});

test('full disk: a log a reload retired keeps retrying its lines, and what it cannot write by exit is counted', async (t) => {
  if (skip) return t.skip(skip);
  const at = { logs: await tmpfs('retired') };
  const log = recordingLogger();
  const logs = new AccessLogs(log);
  const writer = logs.use({ dir: at.logs, fields: DEFAULT_W3C_FIELDS });
  writer.write(record(0));
  writer.flush();
  let filler = await fill(at);
  for (let i = 1; i < 100; i++) writer.write(record(i));
  // The reload that removes the site: the flush fails, the lines stay and are retried every second.
  logs.retain([]);
  await rm(filler);
  await eventually(async () => parse(await logText(at)).numbers.length === 100, { what: 'the retired log wrote its lines' });
  // Late lines (exchanges that were still in flight), each written at once, on a full disk; then the worker exits.
  filler = await fill(at);
  for (let i = 100; i < 200; i++) writer.write(record(i));
  logs.flush();
  const dropped = Number(/^WARN cannot write the access log in .* at exit: dropped (\d+) access-log line/m.exec(log.lines.join('\n'))?.[1] ?? 0);
  const { numbers, torn } = parse(await logText(at));
  assert.deepEqual(torn, []);
  assert.ok(dropped > 0, log.lines.join('\n'));
  assert.equal(numbers.length + dropped, 200, `lines in the file (${numbers.length}) and reported dropped at exit (${dropped})`);
  await rm(filler);
});
