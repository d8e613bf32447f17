import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Handler } from '../../../src/http/handler.js';
import { createStaticCaches, createStaticHandler } from '../../../src/http/static/static-handler.js';
import { exchange, handle, recordingLogger } from '../../support/in-process.js';
import { defineRfcCases } from './rfc-cases.js';

// The static Handler in-process: no socket, no process; a request in, a Response out.
const data = randomBytes(100_000);
const log = recordingLogger();
let dir: string;
let handler: Handler;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-handler-'));
  await writeFile(join(dir, 'data.bin'), data);
  await writeFile(join(dir, 'page.txt'), 'Portico static text. '.repeat(200));
  await writeFile(join(dir, 'small.txt'), 'small');
  handler = await createStaticHandler(dir, { browse: false, cacheControl: 'no-cache' }, createStaticCaches(), log);
});

after(() => rm(dir, { recursive: true, force: true }));

defineRfcCases('in-process', (path, headers = {}, method = 'GET') => handle(handler, method, path, headers), data);

test('a path served before is answered from memory, with its folder watched for changes rather than a stat per hit', { skip: process.platform === 'linux' ? false : 'inotify is Linux only: elsewhere each hit is checked with a stat' }, async () => {
  await writeFile(join(dir, 'watched.txt'), 'one');
  const caches = createStaticCaches();
  const watching = await createStaticHandler(dir, { browse: false, cacheControl: 'no-cache' }, caches, log);
  const first = await handle(watching, 'GET', '/watched.txt');
  assert.equal(caches.files.watchedFolders, 1, 'the root, the one folder on the path');
  const second = await handle(watching, 'GET', '/watched.txt');
  assert.equal(second.status, 200);
  assert.deepEqual(second.headers, first.headers);
  await writeFile(join(dir, 'watched.txt'), 'two');
  assert.equal((await handle(watching, 'GET', '/watched.txt')).body.toString(), 'two', 'the event of the rewrite dropped the entry');
});

test('methods: OPTIONS lists what is allowed; POST is 405 with Allow', async () => {
  const options = await handle(handler, 'OPTIONS', '/small.txt');
  assert.equal(options.status, 204);
  assert.equal(options.headers.allow, 'GET, HEAD, OPTIONS');
  const post = await handle(handler, 'POST', '/small.txt');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD, OPTIONS');
});

test('a path that tries to leave the root is refused before the file system, and logged with the client address', async () => {
  const reply = await handle(handler, 'GET', '/%2e%2e/%2e%2e/etc/passwd');
  assert.equal(reply.status, 400);
  assert.ok(log.lines.some((line) => /^WARN GET .*etc\/passwd.* from 127\.0\.0\.1 refused with 400: the path contains a dot segment/.test(line)), log.lines.join('\n'));
});

test('a file asked for as a folder is 404 (one URL per file); a response names the file it came from', async () => {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'folder'), { recursive: true });
  await writeFile(join(dir, 'folder', 'index.html'), 'folder page');
  const caches = createStaticCaches();
  const files = await createStaticHandler(dir, { browse: false, cacheControl: 'no-cache' }, caches, log);
  const served = async (target: string): Promise<[number, string | undefined]> => {
    const response = await files(exchange('GET', target), () => assert.fail('the files answer'));
    response.release?.();
    return [response.status, response.servedPath];
  };
  // Twice each: the second answer comes from the cache and must say the same.
  for (let round = 0; round < 2; round += 1) {
    assert.deepEqual(await served('/small.txt/'), [404, undefined]);
    assert.deepEqual(await served('/small.txt//'), [404, undefined]);
    assert.deepEqual(await served('/small.txt'), [200, '/small.txt']);
    assert.deepEqual(await served('/folder/'), [200, '/folder/index.html']);
    assert.deepEqual(await served('/folder/index.html/'), [404, undefined]);
  }
  assert.deepEqual(await served('/'), [403, undefined], 'the root here has no default document');
});
