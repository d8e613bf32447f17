import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { runPortico } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

// A successful `portico cert install` says so on stdout and nothing on stderr: it used to log
// `WARN moved …/pending/…/key.pem aside …: installed`, as if the key had been found broken.
const openssl = (...args: string[]): Promise<{ stdout: string }> => promisify(execFile)('openssl', args);
let box: Sandbox;

before(async () => {
  box = await createSandbox();
});

after(() => box?.remove());

test('a successful cert install prints one line on stdout and logs no WARN', async () => {
  const ca = { cert: join(box.dir, 'ca.crt'), key: join(box.dir, 'ca.key') };
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-subj', '/CN=Test CA', '-days', '30');
  const requested = await runPortico(['cert', 'request', '--host', 'shop.example.test', '--state', box.state]);
  assert.equal(requested.code, 0, requested.stderr);
  const csr = join(box.dir, 'shop.csr');
  const leaf = join(box.dir, 'shop.crt');
  await writeFile(csr, requested.stdout);
  await openssl('x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '10', '-copy_extensions', 'copyall', '-out', leaf);
  const chain = join(box.dir, 'chain.pem');
  await writeFile(chain, (await readFile(leaf, 'utf8')) + (await readFile(ca.cert, 'utf8')));
  const installed = await runPortico(['cert', 'install', chain, '--state', box.state]);
  assert.equal(installed.code, 0, installed.stderr);
  assert.match(installed.stdout, /^installed [0-9A-F:]+ for shop\.example\.test \(issued by CN=Test CA, /);
  assert.equal(installed.stderr, '');
  // Its pending key is done with: installing the same certificate again is refused as installed already.
  const again = await runPortico(['cert', 'install', chain, '--state', box.state]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no pending key matches it .*or is installed already/);
});
