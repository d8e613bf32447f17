import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { listeningSockets, reusePortBalances } from '../../src/server/reuse-port.js';
import { httpRequest } from '../support/http-request.js';
import { openSockets } from '../support/process-stats.js';
import { anyPortArgs, createSandbox, serveArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

// Where the runtime offers SO_REUSEPORT (Node ≥ 22.12 on Linux), each worker accepts on its own
// socket and the kernel spreads connections across them; on a shared socket, whichever worker
// is quickest takes them (once, all 20 slow clients of a benchmark landed on one worker).
const servers = useTestServers('each');
const offered = await reusePortBalances();
const skip = offered ? false : 'this runtime has no balancing SO_REUSEPORT (Node 20 ignores reusePort): workers share one socket';

/**
 * Opens `count` keep-alive connections one after another, each once the one before was answered,
 * and leaves them open: a browser's connections arrive like this, and on a shared socket the
 * worker that answered last is the one awake to take the next.
 */
async function heldConnections(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    sockets.push(
      await new Promise<Socket>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
        socket.once('data', () => resolve(socket));
        socket.once('error', reject);
      }),
    );
  }
  return sockets;
}

/** How many of the connections each worker holds: its sockets beyond `before`. */
async function spread(pids: readonly number[], before: readonly number[]): Promise<number[]> {
  return Promise.all(pids.map(async (pid, i) => (await openSockets(pid)) - before[i]!));
}

test('each of two workers listens on a socket of its own on the one port (any free port), and each takes a fair share of 60 connections', { skip }, async () => {
  const portico = servers.serve(anyPortArgs(servers.box, ['--workers', '2', '--https', 'off']));
  const port = await portico.port('http');
  await portico.waitFor(/worker \d+ started[\s\S]*worker \d+ started/);
  // Two sockets in the kernel's table (src/server/reuse-port.ts reads it), not one the primary shares.
  assert.equal(await listeningSockets('127.0.0.1', port), 2);
  const pids = portico.workerPids();
  const before = await Promise.all(pids.map((pid) => openSockets(pid)));
  const sockets = await heldConnections(port, 60);
  try {
    const counts = await spread(pids, before);
    // Binomial(60, ½): below 12 on one side happens about once in a million runs.
    assert.ok(counts.every((count) => count >= 12), `connections per worker: ${counts.join(', ')}`);
    assert.equal(counts[0]! + counts[1]!, 60);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});

test('a worker killed under a stream of new connections refuses none of them; its replacement takes its share on the same port', { skip }, async () => {
  const portico = servers.serve(anyPortArgs(servers.box, ['--workers', '2', '--https', 'off']));
  const port = await portico.port('http');
  await portico.waitFor(/worker \d+ started[\s\S]*worker \d+ started/);
  const [victim, survivor] = portico.workerPids();
  let stop = false;
  const outcomes = new Map<string, number>();
  let warmedUp!: () => void;
  const warm = new Promise<void>((resolve) => (warmedUp = resolve));
  // One request per connection, one connection at a time, until the replacement is up.
  const client = (async () => {
    for (let i = 0; i < 20_000 && !stop; i++) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
        let reply = '';
        socket.setEncoding('latin1').on('data', (chunk: string) => (reply += chunk));
        socket.on('close', () => resolve(reply.startsWith('HTTP/1.1 200') ? 'ok' : 'cut'));
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (outcomes.get('ok') === 20) warmedUp();
    }
    warmedUp();
  })();
  await warm;
  process.kill(victim!, 'SIGKILL');
  await portico.waitFor(/exited with signal SIGKILL; restarting/);
  await portico.waitFor(/worker \d+ started[\s\S]*worker \d+ started[\s\S]*worker \d+ started/);
  stop = true;
  await client;
  const summary = JSON.stringify(Object.fromEntries(outcomes));
  assert.equal(outcomes.get('ECONNREFUSED') ?? 0, 0, summary);
  // The one connection in flight on the killed worker (accepted, or still in its queue) may be cut.
  const failed = [...outcomes].filter(([outcome]) => outcome !== 'ok').reduce((sum, [, n]) => sum + n, 0);
  assert.ok(failed <= 1, summary);
  assert.ok((outcomes.get('ok') ?? 0) > 0, summary);

  assert.equal(await listeningSockets('127.0.0.1', port), 2, 'the replacement listens on the same port');
  const replacement = portico.workerPids().find((pid) => pid !== victim && pid !== survivor)!;
  const pids = [survivor!, replacement];
  const before = await Promise.all(pids.map((pid) => openSockets(pid)));
  const sockets = await heldConnections(port, 60);
  try {
    const counts = await spread(pids, before);
    assert.ok(counts.every((count) => count >= 12), `connections per worker after the restart: ${counts.join(', ')}`);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});

test('a second Portico started on the same port fails with ERR_PORT_IN_USE instead of sharing it, and the first keeps serving', { skip }, async () => {
  const { args, httpPort } = await serveArgs(servers.box, ['--workers', '2', '--https', 'off']);
  const first = servers.serve(args);
  await first.waitFor(/worker \d+ started[\s\S]*worker \d+ started/);
  const other = await createSandbox();
  try {
    const second = servers.serve([other.site, '--bind', '127.0.0.1', '--http', String(httpPort), '--https', 'off', '--workers', '2', '--state', other.state]);
    assert.deepEqual(await second.waitForExit(), { code: 1, signal: null });
    assert.match(second.stderr, new RegExp(`port ${httpPort} \\(--http\\) is already in use.*\\(ERR_PORT_IN_USE\\)`));
    assert.doesNotMatch(second.output, /worker \d+ started/, 'no worker of the second joined the port');
    assert.equal(await listeningSockets('127.0.0.1', httpPort), 2, "the first's two sockets, and no other");
    assert.equal((await httpRequest(httpPort, '/')).status, 200);
  } finally {
    await other.remove();
  }
});
