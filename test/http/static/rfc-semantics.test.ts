import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { httpRequest, rawExchange, type Reply } from '../../support/http-request.js';
import { defineRfcCases } from './rfc-cases.js';
import { useTestServers } from '../../support/test-servers.js';

// RFC 9110 over real sockets: validators (§8.8), conditional requests (§13), ranges (§14).
const servers = useTestServers();
const data = randomBytes(100_000);
const text = 'Portico static text. '.repeat(200);
let port: number;

before(async () => {
  const { site } = await servers.ready();
  await writeFile(join(site, 'data.bin'), data);
  await writeFile(join(site, 'page.txt'), text);
  const portico = servers.serve([site, '--bind', '127.0.0.1', '--http', '0', '--https', 'off', '--workers', '1']);
  port = await portico.port('http');
});

const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> => httpRequest(port, path, { method, headers });
const etagOf = async (path: string): Promise<string> => (await get(path, {}, 'HEAD')).headers.etag as string;

test('200 carries a strong ETag, Last-Modified, Accept-Ranges and Cache-Control', async () => {
  const reply = await get('/data.bin');
  assert.equal(reply.status, 200);
  assert.match(reply.headers.etag as string, /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.ok(Date.parse(reply.headers['last-modified'] as string) > 0);
  assert.equal(reply.headers['accept-ranges'], 'bytes');
  assert.equal(reply.headers['cache-control'], 'no-cache');
  assert.ok(reply.body.equals(data));
});

test('HEAD has the same status and headers as GET and no body, for 200, 304, 404 and ranges', async () => {
  const etag = await etagOf('/data.bin');
  for (const [path, headers] of [['/data.bin', {}], ['/data.bin', { 'if-none-match': etag }], ['/missing', {}], ['/data.bin', { range: 'bytes=0-9' }]] as const) {
    const full = await get(path, headers);
    const head = await get(path, headers, 'HEAD');
    // GET with a Range is 206; HEAD ignores Range (RFC 9110 §14.2: ranges are defined for GET only).
    const expected = 'range' in headers ? 200 : full.status;
    assert.equal(head.status, expected, `${path} ${JSON.stringify(headers)}`);
    assert.equal(head.body.length, 0);
    if (expected === full.status) {
      for (const name of ['etag', 'content-type', 'content-length', 'last-modified', 'cache-control', 'vary']) assert.equal(head.headers[name], full.headers[name], name);
    }
  }
});

defineRfcCases('over HTTP/1.1', get, data);

test('304 over a socket carries Date, as every response does', async () => {
  const reply = await get('/page.txt', { 'if-none-match': await etagOf('/page.txt') });
  assert.equal(reply.status, 304);
  assert.ok(reply.headers.date);
});

test('a body sent with GET is ignored and the connection stays usable', async () => {
  const response = (await rawExchange(port, 'GET /page.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toString('latin1');
  assert.match(response, /^HTTP\/1\.1 200 OK/);
  assert.match(response, /HTTP\/1\.1 404 Not Found/);
});

