import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link, mkdir, rename, rm, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { httpRequest, type Reply } from '../../support/http-request.js';
import { PorticoProcess } from '../../support/portico-process.js';
import { createSandbox, INDEX_HTML, type Sandbox } from '../../support/sandbox.js';

let box: Sandbox;
let portico: PorticoProcess;
let port: number;
const big = randomBytes(3 * 1024 * 1024 + 17);
const SECRET = 'the secret outside the root';

before(async () => {
  box = await createSandbox();
  await mkdir(join(box.site, 'docs'));
  await writeFile(join(box.site, 'docs', 'index.html'), '<p>docs</p>');
  await mkdir(join(box.site, 'empty'));
  await mkdir(join(box.site, 'a?b'));
  await writeFile(join(box.site, 'a?b', 'index.html'), 'odd');
  await writeFile(join(box.site, 'style.css'), 'body{}');
  await writeFile(join(box.site, 'data.bin'), big);
  await writeFile(join(box.site, '.env'), 'SECRET=1');
  await writeFile(join(box.dir, 'secret.txt'), SECRET);
  await symlink(join(box.dir, 'secret.txt'), join(box.site, 'escape.txt'));
  await symlink(join(box.site, 'style.css'), join(box.site, 'inside.css'));
  portico = PorticoProcess.serve([box.site, '--bind', '127.0.0.1', '--http', '0', '--https', 'off', '--workers', '1']);
  port = await portico.port('http');
});

after(async () => {
  await portico.stop();
  await box.remove();
});

const get = (path: string, method = 'GET'): Promise<Reply> => httpRequest(port, path, { method });

test('GET / serves index.html with its type, length and validators', async () => {
  const reply = await get('/');
  assert.equal(reply.status, 200);
  assert.equal(reply.body.toString(), INDEX_HTML);
  assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(reply.headers['content-length'], String(Buffer.byteLength(INDEX_HTML)));
  assert.ok(reply.headers['last-modified']);
  assert.equal(reply.headers['x-content-type-options'], 'nosniff');
});

test('a 3 MiB file is streamed byte for byte', async () => {
  const reply = await get('/data.bin');
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-type'], 'application/octet-stream');
  assert.ok(reply.body.equals(big));
});

test('HEAD has the headers of GET and no body', async () => {
  const head = await get('/style.css', 'HEAD');
  const full = await get('/style.css');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-type'], full.headers['content-type']);
  assert.equal(head.headers['content-length'], full.headers['content-length']);
});

test('a folder without its trailing slash is redirected with 301, keeping the query', async () => {
  const reply = await get('/docs?lang=en');
  assert.equal(reply.status, 301);
  assert.equal(reply.headers.location, '/docs/?lang=en');
  assert.equal((await get('/docs/')).body.toString(), '<p>docs</p>');
});

test('the redirect for a folder whose name needs escaping stays on this site', async () => {
  const reply = await get('/a%3Fb');
  assert.equal(reply.status, 301);
  assert.equal(reply.headers.location, '/a%3Fb/');
  assert.equal((await get('/a%3Fb/')).body.toString(), 'odd');
});

test('a folder with no default document is 403 (browsing is off)', async () => {
  assert.equal((await get('/empty/')).status, 403);
});

test('a missing file is 404 with a small HTML page', async () => {
  const reply = await get('/nope.html');
  assert.equal(reply.status, 404);
  assert.match(reply.body.toString(), /<h1>404 Not Found<\/h1>/);
});

test('POST is 405 with Allow; OPTIONS answers with Allow', async () => {
  const post = await get('/', 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD, OPTIONS');
  const options = await get('/', 'OPTIONS');
  assert.equal(options.status, 204);
  assert.equal(options.headers.allow, 'GET, HEAD, OPTIONS');
});

test('dotfiles are 404', async () => {
  assert.equal((await get('/.env')).status, 404);
});

test('a symbolic link inside the root is followed; one that leaves it is 404', async () => {
  assert.equal((await get('/inside.css')).body.toString(), 'body{}');
  const escape = await get('/escape.txt');
  assert.equal(escape.status, 404);
  assert.doesNotMatch(escape.body.toString(), new RegExp(SECRET));
});

for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%5csecret.txt', '/%c0%ae%c0%ae/secret.txt', '//../secret.txt']) {
  test(`${path} never reaches the file outside the root`, async () => {
    const reply = await get(path);
    assert.ok(reply.status === 400 || reply.status === 404, `status ${reply.status}`);
    assert.doesNotMatch(reply.body.toString(), new RegExp(SECRET));
  });
}

test('the worker is still serving after every hostile request', async () => {
  assert.equal((await get('/')).status, 200);
  assert.doesNotMatch(portico.stderr, /uncaught|exited with/);
});

/** Two GETs: the second is answered from the cache (one worker), which is what the staleness tests must beat. */
async function servedTwice(path: string): Promise<string> {
  const first = (await get(path)).body.toString();
  assert.equal((await get(path)).body.toString(), first);
  return first;
}

test('a file rewritten with the same size is served new at once (the cache checks every hit)', async () => {
  const path = join(box.site, 'same-size.txt');
  await writeFile(path, 'version-one');
  assert.equal(await servedTwice('/same-size.txt'), 'version-one');
  await writeFile(path, 'version-two');
  assert.equal((await get('/same-size.txt')).body.toString(), 'version-two');
});

test('a file replaced by rename with the same size and mtime is served new at once (inode changed)', async () => {
  const path = join(box.site, 'swapped.txt');
  await writeFile(path, 'AAAA');
  const { mtime } = await stat(path);
  assert.equal(await servedTwice('/swapped.txt'), 'AAAA');
  const next = join(box.dir, 'swapped.next');
  await writeFile(next, 'BBBB');
  await utimes(next, mtime, mtime);
  await rename(next, path);
  assert.equal((await get('/swapped.txt')).body.toString(), 'BBBB');
});

test('a file replaced by a rename from another folder of the site, same size and mtime, is served new at once', async () => {
  await mkdir(join(box.site, 'incoming'));
  await mkdir(join(box.site, 'pages'));
  const path = join(box.site, 'pages', 'moved.txt');
  await writeFile(path, 'old page');
  const { mtime } = await stat(path);
  assert.equal(await servedTwice('/pages/moved.txt'), 'old page');
  const next = join(box.site, 'incoming', 'moved.txt');
  await writeFile(next, 'new page');
  await utimes(next, mtime, mtime);
  await rename(next, path);
  assert.equal((await get('/pages/moved.txt')).body.toString(), 'new page');
  assert.equal((await get('/incoming/moved.txt')).status, 404);
});

test('a folder deleted under the cache: its files are 404 at once, and a folder made again in its place is served, changes and all', async () => {
  const folder = join(box.site, 'section');
  await mkdir(join(folder, 'deeper'), { recursive: true });
  await writeFile(join(folder, 'deeper', 'page.txt'), 'first');
  assert.equal(await servedTwice('/section/deeper/page.txt'), 'first');
  await rm(folder, { recursive: true });
  assert.equal((await get('/section/deeper/page.txt')).status, 404);
  await mkdir(join(folder, 'deeper'), { recursive: true });
  await writeFile(join(folder, 'deeper', 'page.txt'), 'again');
  assert.equal(await servedTwice('/section/deeper/page.txt'), 'again');
  await writeFile(join(folder, 'deeper', 'page.txt'), 'later');
  assert.equal((await get('/section/deeper/page.txt')).body.toString(), 'later');
});

test('a folder on the path renamed: the old URL is 404 at once, the new one serves the file', async () => {
  await mkdir(join(box.site, 'before'));
  await writeFile(join(box.site, 'before', 'page.txt'), 'moving');
  assert.equal(await servedTwice('/before/page.txt'), 'moving');
  await rename(join(box.site, 'before'), join(box.site, 'after'));
  assert.equal((await get('/before/page.txt')).status, 404);
  assert.equal((await get('/after/page.txt')).body.toString(), 'moving');
});

test('a file with a second name, rewritten through the other name, is served new at once', async () => {
  const path = join(box.site, 'linked.txt');
  await writeFile(path, 'one');
  await link(path, join(box.dir, 'other-name.txt'));
  assert.equal(await servedTwice('/linked.txt'), 'one');
  await writeFile(join(box.dir, 'other-name.txt'), 'two');
  assert.equal((await get('/linked.txt')).body.toString(), 'two');
});

test('a deleted file is 404 at once, even after it was served from the cache', async () => {
  const path = join(box.site, 'gone.txt');
  await writeFile(path, 'here');
  assert.equal(await servedTwice('/gone.txt'), 'here');
  await unlink(path);
  assert.equal((await get('/gone.txt')).status, 404);
});
