import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { rawExchange } from '../../support/http-request.js';
import { http2Get, STREAM_RESET } from '../../support/http2-request.js';
import type { PorticoProcess } from '../../support/portico-process.js';
import { anyPortArgs } from '../../support/sandbox.js';
import { useTestServers } from '../../support/test-servers.js';

// Each request tries to reach a secret file placed just outside the root (ROOT/../secret.txt).
const SECRET = 'TOP-SECRET-7f3a9c: must never be served';
const servers = useTestServers();
let portico: PorticoProcess;
let httpPort: number;
let httpsPort: number;
let session: ClientHttp2Session;

/** Printable targets: sent as-is over HTTP/1.1 and as `:path` over HTTP/2. */
const HOSTILE: readonly string[] = [
  '/../secret.txt',
  '/../../secret.txt',
  '/./../secret.txt',
  '/sub/../../secret.txt',
  '/sub/./../../secret.txt',
  '/%2e%2e/secret.txt',
  '/%2E%2E/secret.txt',
  '/%2e%2E/secret.txt',
  '/.%2e/secret.txt',
  '/%2e./secret.txt',
  '/sub/%2e%2e/%2e%2e/secret.txt',
  '/%252e%252e/secret.txt',
  '/%25%32%65%25%32%65/secret.txt',
  '/..%2fsecret.txt',
  '/..%2Fsecret.txt',
  '/%2e%2e%2fsecret.txt',
  '/%2e%2e%2Fsecret.txt',
  '/..%5csecret.txt',
  '/..%5Csecret.txt',
  '/%2e%2e%5csecret.txt',
  '/..\\secret.txt',
  '/sub\\..\\..\\secret.txt',
  '/%c0%ae%c0%ae/secret.txt',
  '/%C0%AE%C0%AE/secret.txt',
  '/%e0%80%ae%e0%80%ae/secret.txt',
  '/%f0%80%80%ae%f0%80%80%ae/secret.txt',
  '/%c0%af../secret.txt',
  '/..%c0%afsecret.txt',
  '/..%ef%bc%8fsecret.txt',
  '/%ef%bc%8e%ef%bc%8e/secret.txt',
  '/..;/secret.txt',
  '/...//secret.txt',
  '/....//secret.txt',
  '//../secret.txt',
  '/%2f../secret.txt',
  '/%2F%2E%2E/secret.txt',
  '/sub/..%00/secret.txt',
  '/secret.txt%00.html',
  '/%00../secret.txt',
  '/escape.txt',
  '/escape-dir/secret.txt',
  '/sub/escape.txt',
  '/.%2e%2f.%2e%2fsecret.txt',
  '/%u002e%u002e/secret.txt',
  '/..%252fsecret.txt',
  '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/etc/passwd/../../secret.txt',
  'secret.txt',
  '../secret.txt',
];

/** Targets with raw bytes no HTTP/2 client would send: HTTP/1.1 only. */
const RAW_ONLY: readonly string[] = ['/..\x00/secret.txt', '/\x00/../secret.txt', '/../secret.txt\x00'];

before(async () => {
  const box = await servers.ready();
  await writeFile(join(box.dir, 'secret.txt'), SECRET);
  await mkdir(join(box.site, 'sub'));
  await writeFile(join(box.site, 'sub', 'ok.txt'), 'inside');
  await symlink(join(box.dir, 'secret.txt'), join(box.site, 'escape.txt'));
  await symlink(join(box.dir, 'secret.txt'), join(box.site, 'sub', 'escape.txt'));
  await symlink(box.dir, join(box.site, 'escape-dir'));
  portico = servers.serve(anyPortArgs(box, ['--workers', '1']));
  httpPort = await portico.port('http');
  httpsPort = await portico.port('https');
  await portico.waitUntilServing();
  session = connectHttp2(`https://127.0.0.1:${httpsPort}`, { rejectUnauthorized: false });
});

after(() => {
  session?.close();
});

test(`the hostile path table has at least 40 cases (${HOSTILE.length + RAW_ONLY.length})`, () => {
  assert.ok(HOSTILE.length + RAW_ONLY.length >= 40);
});

for (const target of [...HOSTILE, ...RAW_ONLY]) {
  test(`HTTP/1.1 ${JSON.stringify(target)} is refused without the secret`, async () => {
    const response = (await rawExchange(httpPort, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)).toString('latin1');
    assert.doesNotMatch(response, /TOP-SECRET/);
    assert.match(response, /^HTTP\/1\.1 (400|404) /);
  });
}

for (const target of HOSTILE) {
  test(`HTTP/2 ${JSON.stringify(target)} is refused without the secret`, async () => {
    const { status, body } = await http2Get(session, target);
    assert.doesNotMatch(body, /TOP-SECRET/);
    // A :path that does not start with "/" is malformed HTTP/2: nghttp2 resets the stream
    // before Portico sees it (RFC 9113 §8.3.1), which is a refusal too.
    const resetByProtocol = status === STREAM_RESET && !target.startsWith('/');
    assert.ok(status === 400 || status === 404 || resetByProtocol, `status ${status}`);
  });
}

test('after every hostile request the worker still serves, and refusals were logged', async () => {
  assert.equal((await http2Get(session, '/sub/ok.txt')).body, 'inside');
  assert.match(portico.stderr, /refused with 400: the path contains a dot segment/);
  assert.match(portico.stderr, /refused with 404: a symbolic link leads outside the root/);
  assert.doesNotMatch(portico.stderr, /uncaught|exited with/);
});
