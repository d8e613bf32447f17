import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { splitPair } from '../../src/tls/storage/pair-storage.js';
import { PorticoProcess, runPortico } from '../support/portico-process.js';
import { anyPortArgs, createSandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';

// The state folder on a file system the test makes: a tiny tmpfs that fills up, a read-only
// bind mount. Mounting needs root (CI runs as root); elsewhere these tests say why they skip.
function canMount(): boolean {
  // Tried, not assumed: root in a container without CAP_SYS_ADMIN cannot mount either.
  const probe = mkdtempSync(join(tmpdir(), 'portico-mount-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const skip = canMount() ? false : 'this machine does not let the tests mount a tmpfs (root with CAP_SYS_ADMIN is needed)';

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

test('a disk that fills up while a certificate is renewed: the old one keeps serving, nothing is torn, and renewal succeeds once there is room', { skip }, async () => {
  const box = await createSandbox();
  const disk = join(box.dir, 'disk');
  await mkdir(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', disk]);
  let portico: PorticoProcess | undefined;
  try {
    const state = join(disk, 'state');
    portico = PorticoProcess.serve(anyPortArgs({ ...box, state }, ['--workers', '1', '--cert-lifetime', '12s']));
    const port = await portico.port('https');
    await portico.waitUntilServing();
    const root = (await runPortico(['ca', 'root', '--state', state])).stdout;
    const first = await probe({ port, servername: 'localhost', ca: root });
    // Fill the disk: the renewal at two thirds of 12 s finds no room for the new key.
    await writeFile(join(disk, 'filler'), Buffer.alloc(512 * 1024)).catch(() => undefined);
    await portico.waitFor(/certificate renewal failed \(attempt 1\), retrying in 1 s: .*ENOSPC/, 20_000);
    assert.equal((await probe({ port, servername: 'localhost', ca: root })).cert.fingerprint256, first.cert.fingerprint256, 'the old certificate still serves');
    const leafFolder = join(state, 'certificates', (await readdir(join(state, 'certificates')))[0]!);
    const stored = splitPair(await readFile(join(leafFolder, 'bundle.pem'), 'utf8'));
    assert.ok(new X509Certificate(stored.certPem).checkPrivateKey(createPrivateKey(stored.keyPem)), 'the stored pair is whole and matching');
    assert.deepEqual((await filesUnder(state)).filter((name) => /\.tmp-|aside/.test(name)), [], 'no temporary or half-written file left');
    // Room again: the retry succeeds and the new certificate is served.
    await rm(join(disk, 'filler'));
    await portico.waitFor(/publishing certificate [\s\S]*publishing certificate/, 20_000);
    assert.notEqual((await probe({ port, servername: 'localhost', ca: root })).cert.fingerprint256, first.cert.fingerprint256);
  } finally {
    await portico?.stop();
    execFileSync('umount', [disk]);
    await box.remove();
  }
});

test('a read-only state folder is refused at start with one clear line', { skip }, async () => {
  const box = await createSandbox();
  const state = join(box.dir, 'state');
  await mkdir(state);
  execFileSync('mount', ['--bind', '-o', 'ro', state, state]);
  try {
    const { code, stdout, stderr } = await runPortico(['serve', ...anyPortArgs(box, ['--workers', '1'])]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr.trim(), /^portico: state directory .*state is not writable \(EROFS: a read-only file system\); choose another with --state DIR \(ERR_STATE_DIR_NOT_WRITABLE\)$/);
  } finally {
    execFileSync('umount', [state]);
    await box.remove();
  }
});
