import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import { before, test } from 'node:test';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { PorticoProcess } from '../support/portico-process.js';
import { eventually } from '../support/eventually.js';
import { openDescriptors } from '../support/process-stats.js';
import { anyPortArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';
import { probe } from '../support/tls-probe.js';

// Connections Portico has finished with (it answered 408 and ended them) or whose peer has left
// (a handshake dropped without close_notify) must give their descriptors back within a bound,
// however the peer behaves, and must stop counting toward the per-address cap: otherwise one
// client behind a NAT locks every other client of that address out (issue 19, item 6).
// Portico runs with 1024 descriptors, as in descriptor-exhaustion.test.ts.
const servers = useTestServers();
const LIMIT = ['prlimit', '--nofile=1024:1024', '--'];
const HEADER_TIMEOUT_MS = 2_000;
/** What the acceptance allows after the header timeout; Portico's own bound (the linger) is 5 s. */
const RECOVERY_MS = HEADER_TIMEOUT_MS + 10_000;
const ATTACKERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const EVERYONE = ['127.0.0.1', ...ATTACKERS];

interface Server {
  readonly portico: PorticoProcess;
  readonly worker: number;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** The worker's descriptors once it has served a request, before any test. */
  readonly baseline: number;
}

let quick: Server;
let patient: Server;

async function start(headerTimeout: string): Promise<Server> {
  const box = await servers.ready();
  const portico = servers.serve(anyPortArgs(box, ['--workers', '1', '--header-timeout', headerTimeout]), {}, LIMIT);
  const httpPort = await portico.port('http');
  const httpsPort = await portico.port('https');
  await portico.waitUntilServing();
  const worker = portico.workerPids()[0]!;
  const server = { portico, worker, httpPort, httpsPort, baseline: 0 };
  assert.ok(await servedFrom(server, '127.0.0.1'), 'served before the test');
  return { ...server, baseline: await openDescriptors(worker) };
}

before(async () => {
  // Node 20 runs root-level hooks concurrently: both servers start from one hook.
  quick = await start(`${HEADER_TIMEOUT_MS / 1000}s`);
  // Its header timeout is longer than the test waits: what it releases, it releases on its own.
  patient = await start('60s');
});

/** One request over HTTPS and one over plain HTTP from `address`: whether both were answered 200. */
async function servedFrom(server: Server, address: string): Promise<boolean> {
  const https = await probe({ port: server.httpsPort, servername: 'localhost', localAddress: address }).then(
    (result) => result.status === 200,
    () => false,
  );
  const http = await new Promise<boolean>((resolve) => {
    const req = request({ host: '127.0.0.1', port: server.httpPort, localAddress: address, path: '/', headers: { host: 'localhost' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
  return https && http;
}

/**
 * A normal client from every address, over and over until stopped: each round retries until it
 * is answered, and fails if it is not within RECOVERY_MS (the per-address cap may refuse it while
 * the attacker's connections are live, never after Portico has finished with them).
 */
function bystanders(server: Server): { stop(): Promise<string[]> } {
  let stopping = false;
  const failures: string[] = [];
  const loops = EVERYONE.map(async (address) => {
    let rounds = 0;
    while (!stopping || rounds === 0) {
      const started = Date.now();
      const served = await eventually(() => servedFrom(server, address), { what: `${address} served`, timeoutMs: RECOVERY_MS }).then(() => true, () => false);
      if (!served) failures.push(`${address} was not served within ${Date.now() - started} ms (round ${rounds + 1})`);
      rounds += 1;
    }
  });
  return {
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return failures;
    },
  };
}

/** Sockets on `port` in CLOSE-WAIT (the peer has closed, Portico has not), from /proc/net/tcp. */
async function closeWait(port: number): Promise<number> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table.split('\n').filter((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1]?.endsWith(local) === true && fields[3] === '08';
  }).length;
}

/** `count` connections from `address` that finish the TLS handshake (or just TCP) and then never read or send. */
function silentClients(server: Server, address: string, count: number, tls: boolean): Promise<Socket[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      return new Promise<Socket>((resolve) => {
        const socket: Socket = tls
          ? connectTls({ host: '127.0.0.1', port: server.httpsPort, localAddress: address, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: i % 3 === 0 ? ['h2'] : ['http/1.1'] } as never)
          : connectTcp({ host: '127.0.0.1', port: server.httpPort, localAddress: address });
        socket.on('error', () => undefined);
        socket.once(tls ? 'secureConnect' : 'connect', () => {
          // Never read again: whatever Portico writes stays in the kernel's buffers.
          socket.pause();
          resolve(socket);
        });
        // Refused by the per-address cap.
        socket.once('close', () => resolve(socket));
      });
    }),
  );
}

/**
 * Waits for the worker's descriptors to come back to `baseline` within `timeoutMs`, allowing
 * `slack` for the bystanders' own connections (one at a time from each address).
 */
async function descriptorsComeBack(server: Server, baseline: number, what: string, timeoutMs = RECOVERY_MS, slack = 0): Promise<void> {
  await eventually(async () => {
    const open = await openDescriptors(server.worker);
    assert.ok(open <= baseline + slack, `${open} open (${await closeWait(server.httpsPort)} + ${await closeWait(server.httpPort)} in CLOSE-WAIT)`);
  }, { what: `${what}: the worker's descriptors back to ${baseline}${slack ? ` (+${slack} for the bystanders)` : ''}`, timeoutMs });
}

for (const tls of [true, false]) {
  const kind = tls ? 'TLS connections that finish the handshake' : 'plain-HTTP connections';
  test(`300 ${kind} from each of three addresses that never read or send: the 408 ends them, their descriptors come back while the clients still hold them, and every address is served`, async () => {
    const { baseline } = quick;
    const watch = bystanders(quick);
    const sockets = (await Promise.all(ATTACKERS.map((address) => silentClients(quick, address, 300, tls)))).flat();
    try {
      const held = sockets.filter((socket) => !socket.destroyed).length;
      assert.ok(held >= 3 * 256 * 0.9, `${held} of the attacker's connections were accepted (256 per address)`);
      await descriptorsComeBack(quick, baseline, kind, RECOVERY_MS, EVERYONE.length);
      assert.deepEqual(await watch.stop(), []);
      await descriptorsComeBack(quick, baseline, `${kind}, bystanders stopped`);
    } finally {
      await watch.stop();
      for (const socket of sockets) socket.destroy();
    }
  });
}

/** `count` connections from `address` that wait for their 408 and its FIN, read them, and keep their own side open. */
function answeredButOpen(server: Server, address: string, count: number, tls: boolean): Promise<Socket[]> {
  return Promise.all(
    Array.from({ length: count }, () => {
      return new Promise<Socket>((resolve, reject) => {
        const tcp = connectTcp({ host: '127.0.0.1', port: tls ? server.httpsPort : server.httpPort, localAddress: address, allowHalfOpen: true });
        const socket: Socket = tls ? connectTls({ socket: tcp, servername: 'localhost', rejectUnauthorized: false }) : tcp;
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('error', reject);
        socket.once('end', () => (text.startsWith('HTTP/1.1 408') ? resolve(socket) : reject(new Error(`not a 408: ${JSON.stringify(text)}`))));
      });
    }),
  );
}

for (const tls of [true, false]) {
  test(`a connection Portico has ended no longer counts toward its address's 256 (${tls ? 'TLS' : 'plain HTTP'}): with 256 answered 408 and held open by their client, the next client from that address is served at once`, async () => {
    const address = '127.0.0.5';
    const sockets = await answeredButOpen(quick, address, 256, tls);
    try {
      // One try, at once: the linger (5 s) has not released them yet, only the cap's bookkeeping can.
      assert.ok(await servedFrom(quick, address), `a client from ${address} is served while Portico's side of 256 finished connections lingers`);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
}

test('handshakes dropped without close_notify for 2 s from each of three addresses: no socket stays in CLOSE-WAIT, no address is locked out', async () => {
  const { baseline } = patient;
  const watch = bystanders(patient);
  const until = Date.now() + 2_000;
  let dropped = 0;
  // Eight at a time from each address; each is destroyed (a FIN, or a reset when a session
  // ticket is still unread) the moment its handshake completes.
  const loops = ATTACKERS.flatMap((address) =>
    Array.from({ length: 8 }, async (_, lane) => {
      while (Date.now() < until) {
        await new Promise<void>((resolve) => {
          const tcp = connectTcp({ host: '127.0.0.1', port: patient.httpsPort, localAddress: address });
          const socket: TLSSocket = connectTls({ socket: tcp, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: lane % 2 ? ['h2'] : ['http/1.1'] }, () => {
            dropped += 1;
            if (lane % 4 === 3 && typeof tcp.resetAndDestroy === 'function') tcp.resetAndDestroy();
            else socket.destroy();
          });
          tcp.on('error', () => undefined);
          tcp.once('close', () => socket.destroy());
          socket.on('error', () => undefined);
          socket.once('close', () => resolve());
        });
      }
    }),
  );
  try {
    await Promise.all(loops);
    assert.ok(dropped > 0, 'handshakes were completed and dropped');
    // The header timeout (60 s) is far beyond this deadline: only releasing a connection whose
    // peer has gone brings the count back in time.
    await descriptorsComeBack(patient, baseline, `${dropped} dropped handshakes`, 10_000, EVERYONE.length);
    assert.deepEqual(await watch.stop(), []);
    await descriptorsComeBack(patient, baseline, `${dropped} dropped handshakes, bystanders stopped`, 10_000);
    assert.equal(await closeWait(patient.httpsPort), 0, 'no socket in CLOSE-WAIT');
    assert.doesNotMatch(patient.portico.stderr, /refused connections from 127\.0\.0\.[2-4]: it holds 256 already/);
  } finally {
    await watch.stop();
  }
});
