import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { PorticoProcess } from '../support/portico-process.js';
import { createSandbox } from '../support/sandbox.js';
import { probe } from '../support/tls-probe.js';
import { fetchRootCa } from '../support/root-ca.js';

const SERVICE_DOC = new URL('../../../docs/service.md', import.meta.url);

/** The unit as docs/service.md shows it. */
async function documentedUnit(): Promise<string> {
  const doc = await readFile(SERVICE_DOC, 'utf8');
  const unit = /```ini\n([\s\S]+?)```/.exec(doc)?.[1];
  assert.ok(unit, 'docs/service.md has no ```ini block');
  return unit;
}

test('the systemd unit in docs/service.md passes systemd-analyze verify, with nothing to report', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-unit-'));
  try {
    // systemd checks that ExecStart's program exists: this machine's node stands in for /usr/bin/node.
    const unit = (await documentedUnit()).replace('/usr/bin/node', process.execPath);
    const path = join(dir, 'portico.service');
    await writeFile(path, unit);
    const { stdout, stderr } = await promisify(execFile)('systemd-analyze', ['verify', path]);
    assert.equal(`${stdout}${stderr}`.trim(), '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the unit runs Portico as a notify service with its own user, reload by SIGHUP, and ports below 1024 by capability', async () => {
  const unit = await documentedUnit();
  for (const line of ['Type=notify', 'NotifyAccess=all', 'User=portico', 'ExecReload=/bin/kill -HUP $MAINPID', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'KillMode=mixed']) {
    assert.match(unit, new RegExp(`^${line.replace(/[$]/g, '\\$')}$`, 'm'), line);
  }
});

test('readiness: READY=1 reaches NOTIFY_SOCKET, naming the primary, once listeners and certificates are ready; a handshake then succeeds at once', async () => {
  const box = await createSandbox();
  const socketPath = join(box.dir, 'notify.sock');
  // Node has no unix datagram sockets; python3 stands in for systemd's end of NOTIFY_SOCKET.
  const listener = spawn('python3', ['-c', `import socket,sys\ns=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(${JSON.stringify(socketPath)})\nprint('bound', flush=True)\nprint(s.recv(4096).decode(), flush=True)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = '';
  listener.stdout.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const message = new Promise<string>((resolve) => listener.on('exit', () => resolve(received)));
  await new Promise<void>((resolve) => listener.stdout.once('data', () => resolve()));
  await writeFile(join(box.dir, 'portico.yaml'), `http: off\nhttps: 0\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\nsites:\n  - { name: site, hosts: [localhost], root: ./site }\n`);
  const portico = PorticoProcess.serve(['--config', join(box.dir, 'portico.yaml')], { NOTIFY_SOCKET: socketPath });
  try {
    const text = await message;
    assert.match(text, /READY=1/);
    assert.match(text, new RegExp(`MAINPID=${portico.pid}\\b`));
    const reply = await probe({ port: await portico.port('https'), servername: 'localhost', ca: (await fetchRootCa(box.state)).pem });
    assert.equal(reply.status, 200);
  } finally {
    listener.kill();
    await portico.stop();
    await box.remove();
  }
});

test('a port below 1024 refused to an unprivileged user: the error names the capability that fixes it', async (t) => {
  const start = Number((await readFile('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').catch(() => '1024')).trim());
  if (start <= 80) return t.skip(`this machine lets every user bind port 80 (net.ipv4.ip_unprivileged_port_start=${start})`);
  // A runtime fetched by npx lives under the invoking user's home, which nobody may not enter: then
  // Portico, run as nobody, cannot start its workers (the same binary, spawned again).
  const asNobody = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '-e', "require('node:child_process').execFileSync(process.execPath, ['-e', '0'])"]);
  if (asNobody.status !== 0) return t.skip(`the user nobody cannot start this Node binary again (${process.execPath}: ${/\bE[A-Z]{2,}\b/.exec(asNobody.stderr.toString())?.[0] ?? `exit ${asNobody.status}`}), as npx's cache under a private home makes it`);
  const box = await createSandbox();
  try {
    await chmod(box.dir, 0o755);
    // As nobody (setpriv, util-linux): the kernel, not Portico, refuses the port.
    const run = new PorticoProcess(['serve', box.site, '--http', '80', '--https', 'off', '--bind', '127.0.0.1', '--workers', '1'], {}, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--']);
    const { code } = await run.waitForExit();
    assert.equal(code, 1);
    assert.match(run.stderr, /port 80 \(--http\) was refused by the operating system: .*AmbientCapabilities=CAP_NET_BIND_SERVICE.*\(ERR_PORT_ACCESS\)/);
  } finally {
    await box.remove();
  }
});

