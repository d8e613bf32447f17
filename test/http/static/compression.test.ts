import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { httpRequest } from '../../support/http-request.js';
import { useTestServers } from '../../support/test-servers.js';

const run = promisify(execFile);
const servers = useTestServers();
const css = `${Array.from({ length: 400 }, (_, i) => `.rule-${i} { color: #${(i * 4099).toString(16).padStart(6, '0').slice(0, 6)}; margin: ${i}px; }`).join('\n')}\n`;
const precompressedSource = `${'console.log("precompressed");\n'.repeat(300)}`;
let port: number;
let base: string;

before(async () => {
  const { site } = await servers.ready();
  await writeFile(join(site, 'style.css'), css);
  await writeFile(join(site, 'tiny.txt'), 'too small to compress');
  await writeFile(join(site, 'photo.png'), randomBytes(20_000));
  await writeFile(join(site, 'app.js'), precompressedSource);
  // A sibling made by a build step, deliberately different from what Portico would produce.
  await writeFile(join(site, 'app.js.gz'), gzipSync(precompressedSource, { level: 1 }));
  const portico = servers.serve([site, '--bind', '127.0.0.1', '--http', '0', '--https', 'off', '--workers', '1']);
  port = await portico.port('http');
  base = `http://127.0.0.1:${port}`;
});

test('curl --compressed gets a compressed body that decompresses to the exact file', async () => {
  const headersFile = join(servers.box.dir, 'curl-headers.txt');
  const { stdout } = await run('curl', ['--silent', '--show-error', '--compressed', '--dump-header', headersFile, `${base}/style.css`], { maxBuffer: 10 * 1024 * 1024 });
  const headers = await readFile(headersFile, 'utf8');
  assert.match(headers, /content-encoding: (br|gzip)/i);
  assert.equal(stdout, css);
});

test("a brotli-capable client (Node's fetch) gets br, decoded to the exact file, smaller on the wire", async () => {
  const response = await fetch(`${base}/style.css`, { headers: { 'accept-encoding': 'br, gzip' } });
  assert.equal(response.headers.get('content-encoding'), 'br');
  assert.equal(await response.text(), css);
  const raw = await httpRequest(port, '/style.css', { headers: { 'accept-encoding': 'br' } });
  assert.ok(raw.body.length < css.length / 2, `br body is ${raw.body.length} bytes for ${css.length}`);
  assert.equal(brotliDecompressSync(raw.body).toString(), css);
  assert.equal(raw.headers['content-length'], String(raw.body.length));
});

test('gzip is chosen when the client prefers it, and each coding has its own ETag', async () => {
  const gz = await httpRequest(port, '/style.css', { headers: { 'accept-encoding': 'gzip, br;q=0.5' } });
  const br = await httpRequest(port, '/style.css', { headers: { 'accept-encoding': 'br' } });
  const plain = await httpRequest(port, '/style.css');
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.body).toString(), css);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(new Set([gz.headers.etag, br.headers.etag, plain.headers.etag]).size, 3);
  for (const reply of [gz, br, plain]) assert.equal(reply.headers.vary, 'Accept-Encoding');
  // Revalidating the gzip representation with its own tag gives 304.
  assert.equal((await httpRequest(port, '/style.css', { headers: { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag as string } })).status, 304);
  assert.equal((await httpRequest(port, '/style.css', { headers: { 'accept-encoding': 'gzip', 'if-none-match': br.headers.etag as string } })).status, 200);
});

test('a precompressed sibling (app.js.gz) is served as is, with the original type', async () => {
  const reply = await httpRequest(port, '/app.js', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(reply.headers['content-encoding'], 'gzip');
  assert.match(reply.headers['content-type'] as string, /^(application|text)\/javascript/);
  assert.ok(reply.body.equals(gzipSync(precompressedSource, { level: 1 })), 'the sibling bytes, not a fresh compression');
  assert.equal(gunzipSync(reply.body).toString(), precompressedSource);
});

test('ranges are never compressed', async () => {
  const reply = await httpRequest(port, '/style.css', { headers: { 'accept-encoding': 'br, gzip', range: 'bytes=10-59' } });
  assert.equal(reply.status, 206);
  assert.equal(reply.headers['content-encoding'], undefined);
  assert.equal(reply.body.toString(), css.slice(10, 60));
});

test('already compressed types and tiny files are sent as they are', async () => {
  const png = await httpRequest(port, '/photo.png', { headers: { 'accept-encoding': 'br, gzip' } });
  assert.equal(png.headers['content-encoding'], undefined);
  assert.equal(png.headers.vary, undefined);
  const tiny = await httpRequest(port, '/tiny.txt', { headers: { 'accept-encoding': 'br, gzip' } });
  assert.equal(tiny.headers['content-encoding'], undefined);
  assert.equal(tiny.body.toString(), 'too small to compress');
});

test('a changed file is compressed again, never served stale from the cache', async () => {
  const first = await httpRequest(port, '/style.css', { headers: { 'accept-encoding': 'br' } });
  const changed = `${css}/* changed */\n`;
  await writeFile(join(servers.box.site, 'style.css'), changed);
  const second = await httpRequest(port, '/style.css', { headers: { 'accept-encoding': 'br' } });
  assert.notEqual(second.headers.etag, first.headers.etag);
  assert.equal(brotliDecompressSync(second.body).toString(), changed);
  await writeFile(join(servers.box.site, 'style.css'), css);
});
