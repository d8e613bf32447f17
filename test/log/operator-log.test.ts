import assert from 'node:assert/strict';
import { rename, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { httpRequest } from '../support/http-request.js';
import { PorticoProcess, runPortico } from '../support/portico-process.js';
import { anyPortArgs, createSandbox } from '../support/sandbox.js';

test('--log-format json: every line the primary and the workers write on stderr is one JSON object', async () => {
  const box = await createSandbox();
  const portico = PorticoProcess.serve(anyPortArgs(box, ['--workers', '2', '--https', 'off', '--log-format', 'json']));
  try {
    await portico.waitFor(/worker 1 started/);
    // A refused path makes the worker that answers it say so.
    assert.equal((await httpRequest(await portico.port('http'), '/a%2fb')).status, 400);
    await portico.waitFor(/refused with 400/);
    await portico.stop('SIGTERM');
    const lines = portico.stderr.trim().split('\n');
    assert.ok(lines.length >= 3, portico.stderr);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(entry), ['time', 'level', 'process', 'msg']);
      assert.match(String(entry.process), /^(primary|worker \d)$/);
    }
    assert.ok(lines.some((line) => /"process":"worker \d","msg":"GET /.test(line)), 'a worker line');
  } finally {
    await portico.stop();
    await box.remove();
  }
});

/** Waits (bounded) until a file's text satisfies `done`: the worker writes its buffered lines within a second. */
async function until(path: string, done: (text: string) => boolean): Promise<string> {
  return eventually(
    async () => {
      const text = await readFile(path, 'utf8').catch(() => '');
      assert.ok(done(text), `it holds:\n${text}`);
      return text;
    },
    { what: `${path} satisfies the condition`, timeoutMs: 10_000 },
  );
}

async function firstFile(folder: string): Promise<string> {
  return eventually(async () => (await readdir(folder))[0] ?? false, { what: `a file written to ${folder}`, timeoutMs: 10_000 });
}

test('logrotate: after the day\'s file is moved away, a reload makes the workers write to a new file with its own header', async () => {
  const box = await createSandbox();
  const config = join(box.dir, 'portico.yaml');
  await writeFile(config, `http: 0\nhttps: off\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\nsites:\n  - { name: site, hosts: [localhost], root: ./site, default: true, log: { dir: ./logs } }\n`);
  const portico = PorticoProcess.serve(['--config', config]);
  try {
    await portico.waitFor(/^ready: /m);
    const port = await portico.port('http');
    await httpRequest(port, '/?before');
    const folder = join(box.dir, 'logs');
    const path = join(folder, await firstFile(folder));
    await until(path, (text) => text.includes('before'));
    await rename(path, `${path}.1`);
    await httpRequest(port, '/?moved');
    // The worker still holds the moved file open: that line goes there, as with any logger.
    await until(`${path}.1`, (text) => text.includes('moved'));
    assert.equal((await runPortico(['reload', '--config', config])).code, 0);
    await portico.waitFor(/reloaded: site/);
    await httpRequest(port, '/?after');
    const fresh = await until(path, (text) => text.includes('after'));
    assert.match(fresh, /^#Software: Portico .*\n#Version: 1\.0\n#Date: .*\n#Fields: .*\n.* GET \/ after /);
    assert.doesNotMatch(fresh, /before|moved/);
  } finally {
    await portico.stop();
    await box.remove();
  }
});
