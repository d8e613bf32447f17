import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { PorticoProcess } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';
import type { PemPair } from '../../src/tls/keys.js';

// Every file the configuration names is read with a bound: a device (/dev/zero), a FIFO nobody
// writes, a folder, or a file larger than any real one is refused at once, at its FILE:LINE:COL,
// instead of being read until memory runs out (before: `portico check` ran until killed).
let box: Sandbox;
let root: PemPair;
let pair: { cert: string; key: string };

before(async () => {
  box = await createSandbox();
  root = await createRootCa(Date.now());
  const leaf = await issueLeaf(root, ['own.example.test'], 'ec-p256', { notBefore: Date.now() - 60_000, notAfter: Date.now() + 86_400_000 });
  pair = { cert: join(box.dir, 'own.crt'), key: join(box.dir, 'own.key') };
  await writeFile(pair.cert, leaf.certPem);
  await writeFile(pair.key, leaf.keyPem);
  execFileSync('mkfifo', [join(box.dir, 'fifo')]);
  await mkdir(join(box.dir, 'folder'));
  // Sparse: 20 MiB on paper, nothing on disk; larger than every bound.
  await writeFile(join(box.dir, 'huge'), '');
  await truncate(join(box.dir, 'huge'), 20 * 1024 * 1024);
});

after(() => box?.remove());

/** Runs `portico ARGS`, killed if it is still running after a deadline far above what a refusal takes. */
async function runBounded(args: string[]): Promise<{ code: number | null; stderr: string; killed: boolean }> {
  const run = new PorticoProcess(args);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    run.child.kill('SIGKILL');
  }, 20_000);
  const { code } = await run.waitForExit();
  clearTimeout(timer);
  return { code, stderr: run.stderr, killed };
}

const config = (tls: string, extra = ''): string =>
  `http: off\nhttps: 0\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\nsites:\n  - name: own\n    hosts: [own.example.test]\n    root: ./site\n    tls: ${tls}\n${extra}`;

const KINDS: Array<[string, (bad: string) => string, RegExp]> = [
  ['tls.cert', (bad) => config(`{ cert: ${bad}, key: ./own.key }`), /:10:18 sites\[0\]\.tls\.cert: /],
  ['tls.key', (bad) => config(`{ cert: ./own.crt, key: ${bad} }`), /:10:\d+ sites\[0\]\.tls\.key: /],
  ['tls.passphraseFile', (bad) => config(`{ cert: ./own.crt, key: ./own.key, passphraseFile: ${bad} }`), /:10:\d+ sites\[0\]\.tls\.passphraseFile: /],
  ['an htpasswd file', (bad) => config('internal', `    auth: [{ path: /admin/, realm: Admin, htpasswd: ${bad} }]\n`), /:11:\d+ sites\[0\]\.auth\[0\]\.htpasswd: /],
  ['a proxy ca', (bad) => config('internal', `    proxy: [{ path: /api/, to: ["https://127.0.0.1:9"], ca: ${bad} }]\n`), /:11:\d+ sites\[0\]\.proxy\[0\]\.ca: /],
  ['an ACME ca', (bad) => config(`{ acme: { directory: "https://127.0.0.1:9/dir", ca: ${bad} } }`), /:10:\d+ sites\[0\]\.tls\.acme\.ca: /],
];

const BAD: Array<[string, string, RegExp]> = [
  ['/dev/zero', '/dev/zero', /\/dev\/zero is a character device, not a regular file.*\(ERR_NOT_A_FILE\)$/],
  ['a FIFO nobody writes', './fifo', /fifo is a FIFO, not a regular file.*\(ERR_NOT_A_FILE\)$/],
  ['a folder', './folder', /folder is a folder, not a regular file.*\(ERR_NOT_A_FILE\)$/],
  ['a 20 MiB file', './huge', /huge is larger than \d+ [MK]iB, more than such a file ever holds.*\(ERR_FILE_TOO_LARGE\)$/],
];

for (const [kind, make, where] of KINDS) {
  test(`portico check refuses ${kind} that is /dev/zero, a FIFO, a folder or 20 MiB, at once and at its place`, async () => {
    for (const [what, bad, message] of BAD) {
      const file = join(box.dir, 'named.yaml');
      await writeFile(file, make(bad));
      const { code, stderr, killed } = await runBounded(['check', '--config', file]);
      assert.equal(killed, false, `portico check was still reading ${what} as ${kind} after 20 s`);
      assert.equal(code, 1, `${what} as ${kind}:\n${stderr}`);
      const line = stderr.split('\n').find((candidate) => where.test(candidate));
      assert.ok(line !== undefined, `${what} as ${kind}: no line at ${where}:\n${stderr}`);
      assert.ok(line.startsWith(`portico: ${file}:`), line);
      assert.match(line, message);
      assert.doesNotMatch(stderr, /\n\s+at /);
    }
  });
}

test('a config file that is /dev/zero or a FIFO is refused at once', async () => {
  for (const [bad, expected] of [
    ['/dev/zero', /^portico: the config file \/dev\/zero is a character device, not a regular file; give a YAML or JSON file \(ERR_NOT_A_FILE\)$/],
    [join(box.dir, 'fifo'), /^portico: the config file .*fifo is a FIFO, not a regular file; give a YAML or JSON file \(ERR_NOT_A_FILE\)$/],
    [join(box.dir, 'huge'), /^portico: the config file .*huge is larger than 4 MiB, more than such a file ever holds; give a YAML or JSON file \(ERR_FILE_TOO_LARGE\)$/],
  ] as const) {
    const { code, stderr, killed } = await runBounded(['check', '--config', bad]);
    assert.equal(killed, false, `still reading ${bad} after 20 s`);
    assert.equal(code, 1);
    assert.match(stderr.trimEnd(), expected);
  }
});

test('serve --cert /dev/zero is refused at once, naming the flag', async () => {
  const { code, stderr, killed } = await runBounded(['serve', box.site, '--http', 'off', '--https', '0', '--state', box.state, '--cert', '/dev/zero', '--key', pair.key]);
  assert.equal(killed, false, 'still reading /dev/zero after 20 s');
  assert.equal(code, 1);
  assert.match(stderr, /^portico: --cert \/dev\/zero is a character device, not a regular file/m);
});

test('a reload that finds the certificate replaced by /dev/zero is refused at once, and the running certificate keeps serving', async () => {
  const file = join(box.dir, 'reload.yaml');
  const link = join(box.dir, 'current.crt');
  await symlink(pair.cert, link);
  await writeFile(file, config('{ cert: ./current.crt, key: ./own.key }'));
  const portico = PorticoProcess.serve(['--config', file]);
  try {
    await portico.waitFor(/^ready: /m);
    const port = await portico.port('https');
    await rm(link);
    await symlink('/dev/zero', link);
    process.kill(portico.pid, 'SIGHUP');
    await portico.waitFor(/current\.crt is a character device, not a regular file/);
    await portico.waitFor(/reload refused/);
    const reply = await probe({ port, servername: 'own.example.test', ca: root.certPem });
    assert.equal(reply.status, 200);
  } finally {
    await portico.stop();
  }
});
