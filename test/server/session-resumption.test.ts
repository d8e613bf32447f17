import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { eventually } from '../support/eventually.js';
import { fetchRootCa } from '../support/root-ca.js';
import { serveArgs } from '../support/sandbox.js';
import { useTestServers } from '../support/test-servers.js';

const servers = useTestServers();

/** One TLS connection with one request; resolves with the session to resume and whether this one resumed. */
function connectOnce(port: number, ca: string, session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    let reused = false;
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, session, ALPNProtocols: ['http/1.1'] }, () => {
      reused = socket.isSessionReused();
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.on('session', (data: Buffer) => {
      ticket = data;
    });
    socket.on('data', () => undefined);
    socket.on('error', reject);
    socket.on('close', () => resolve({ reused, session: ticket }));
  });
}

test('a TLS session resumes on a different worker process: ticket keys come from the primary', async () => {
  // One worker, killed and replaced: the replacement is a new process, so only a key shared by
  // the primary lets it resume a session the first worker issued.
  const { args, httpsPort } = await serveArgs(servers.box, ['--workers', '1']);
  const portico = servers.serve(args);
  await portico.waitUntilServing();
  const { pem } = await fetchRootCa(servers.box.state);
  const first = await connectOnce(httpsPort, pem);
  assert.ok(first.session, 'the server issued a session ticket');
  assert.equal((await connectOnce(httpsPort, pem, first.session)).reused, true, 'resumes on the same worker');

  process.kill(portico.workerPids()[0]!, 'SIGKILL');
  await portico.waitFor(/worker 0 started \(pid \d+\)[\s\S]*worker 0 started \(pid \d+\)/);
  // With a single worker the port refuses connections until the replacement listens.
  const again = await eventually(
    () =>
      connectOnce(httpsPort, pem, first.session).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ECONNREFUSED') return error;
        throw error;
      }),
    { what: 'the replacement worker accepts connections', timeoutMs: 10_000 },
  );
  if (again instanceof Error) throw again;
  assert.equal(again.reused, true, 'resumes on the replacement worker');
});
