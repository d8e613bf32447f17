import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

// testssl.sh (Debian's testssl.sh, a tool nobody on the project wrote) against a real Portico:
// protocols, every cipher suite offered, and the known TLS vulnerabilities.
const run = promisify(execFile);
const servers = useTestServers();
let report = '';

before(async () => {
  const box = await servers.ready();
  const portico = servers.serve(anyPortArgs(box, ['--workers', '1', '--http', 'off']));
  const port = await portico.port('https');
  await portico.waitUntilServing();
  const { stdout } = await run('testssl', ['--quiet', '--color', '0', '--warnings', 'off', '-p', '-s', '-E', '-U', `127.0.0.1:${port}`], { timeout: 180_000, maxBuffer: 8 * 1024 * 1024 });
  report = stdout;
});

test('testssl.sh: TLS 1.2 and 1.3 only', () => {
  for (const old of ['SSLv2', 'SSLv3', 'TLS 1 ', 'TLS 1.1']) assert.match(report, new RegExp(`^ ${old.replace('.', '\\.')}\\s+not offered`, 'm'), old);
  assert.match(report, /^ TLS 1\.3\s+offered/m);
});

test('testssl.sh: every suite offered is AEAD with forward secrecy (ECDHE, or TLS 1.3)', () => {
  const suites = [...report.matchAll(/^ x[0-9a-f]{4,6}\s+\S+\s+\S+.*?\s(TLS_\S+)\s*$/gm)].map((m) => m[1]!);
  assert.ok(suites.length >= 3, `suites listed:\n${report}`);
  assert.deepEqual(
    suites.filter((suite) => !/^TLS_(ECDHE_(ECDSA|RSA)_WITH_)?(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/.test(suite)),
    [],
  );
});

test('testssl.sh: no vulnerability found, nothing rated medium or worse', () => {
  const vulnerable = report.split('\n').filter((line) => /VULNERABLE|potentially|NOT ok/.test(line));
  assert.deepEqual(vulnerable, []);
  assert.match(report, /LUCKY13.*not vulnerable/);
});
