import assert from 'node:assert/strict';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { eventually } from '../support/eventually.js';
import { PorticoProcess } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

// Deploying by switching a symlink (/srv/app/current → releases/N), as Capistrano and most deploy
// tools do: a client requesting every 20 ms must see whole old or whole new releases, never a
// 404 and never one release's page with another's data.
let box: Sandbox;
let portico: PorticoProcess;
let port: number;

async function release(id: string): Promise<string> {
  const dir = join(box.dir, 'releases', id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.html'), `release ${id}\n`);
  // A larger file, so a read that mixed releases would show.
  await writeFile(join(dir, 'data.txt'), `release ${id}\n`.repeat(20_000));
  return dir;
}

before(async () => {
  box = await createSandbox();
  await release('1');
  await release('2');
  await symlink(join(box.dir, 'releases', '1'), join(box.dir, 'current'));
  await writeFile(join(box.dir, 'portico.yaml'), `http: 0\nhttps: off\nbind: 127.0.0.1\nworkers: 2\nstate: ${box.state}\nsites:\n  - { name: app, hosts: [localhost], root: ./current, default: true }\n`);
  portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')]);
  await portico.waitFor(/^ready: /m);
  port = await portico.port('http');
});

after(async () => {
  await portico?.stop();
  await box?.remove();
});

test('a root symlink switched to a new release is followed within a second, each response wholly from one release', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: 'localhost' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const seen: string[] = [];
  const problems: string[] = [];
  const check = (path: string, reply: { status: number; body: string }): void => {
    if (reply.status !== 200) return void problems.push(`${path}: ${reply.status}`);
    const releases = new Set(reply.body.split('\n').filter(Boolean));
    if (releases.size !== 1) return void problems.push(`${path}: a mix of ${[...releases].join(' and ')}`);
    seen.push([...releases][0]!);
    if (switchedAt > 0 && seen.at(-1) === 'release 2') followedAt ??= Date.now();
  };
  let switchedAt = 0;
  let followedAt: number | undefined;
  let stop = false;
  const client = (async () => {
    while (!stop) {
      for (const path of ['/', '/data.txt']) check(path, await get(path));
      await delay(20);
    }
  })();
  try {
    await eventually(() => seen.length >= 10, { what: 'ten answers from release 1' });
    // The atomic switch: a new link renamed over the old one.
    await symlink(join(box.dir, 'releases', '2'), join(box.dir, 'next'));
    await rename(join(box.dir, 'next'), join(box.dir, 'current'));
    switchedAt = Date.now();
    const followedAfter = (await eventually(() => followedAt ?? false, { what: 'release 2 served after the switch', timeoutMs: 5_000 })) - switchedAt;
    const before = seen.length;
    await eventually(() => seen.length >= before + 10, { what: 'ten more answers' });
    assert.ok(followedAfter < 1_500, `the new release was served ${followedAfter} ms after the switch`);
  } finally {
    stop = true;
    await client;
    agent.destroy();
  }
  assert.deepEqual(problems, []);
  const firstNew = seen.indexOf('release 2');
  assert.ok(firstNew > 0);
  assert.ok(seen.slice(firstNew + 4).every((id) => id === 'release 2'), 'once both workers follow the switch, only the new release is served');
});

test('symlinks: inside (the default) refuses a link that leaves the root; follow serves it, as nginx and Caddy do', async () => {
  const outside = join(box.dir, 'shared-assets');
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'logo.txt'), 'shared logo\n');
  for (const id of ['1', '2']) await symlink(outside, join(box.dir, 'releases', id, 'shared'));
  const follow = join(box.dir, 'follow.yaml');
  await writeFile(follow, `http: 0\nhttps: off\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\nsites:\n  - { name: app, hosts: [localhost], root: ./current, default: true, symlinks: follow }\n`);
  const following = PorticoProcess.serve(['--config', follow]);
  try {
    await following.waitFor(/^ready: /m);
    const get = async (at: number): Promise<{ status: number; body: string }> => {
      const reply = await fetch(`http://127.0.0.1:${at}/shared/logo.txt`, { headers: { host: 'localhost' } });
      return { status: reply.status, body: await reply.text() };
    };
    assert.equal((await get(port)).status, 404);
    assert.deepEqual(await get(await following.port('http')), { status: 200, body: 'shared logo\n' });
  } finally {
    await following.stop();
  }
});
