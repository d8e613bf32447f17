import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { after, before, test } from 'node:test';
import { IpcRequests } from '../../src/cluster/ipc-requests.js';
import { PRIMARY_REQUESTS, parseWorkerMessage } from '../../src/cluster/messages.js';
import { isPorticoError } from '../../src/errors.js';
import { eventually } from '../support/eventually.js';
import { recordingLogger } from '../support/in-process.js';
import { PORTICO_BIN } from '../support/portico-process.js';

// A real Portico worker process, forked as the primary forks it, spoken to over its real IPC
// channel: what it does with messages that are not exactly what the boundary allows.
let worker: Worker;
let stderr = '';
const received: unknown[] = [];

before(async () => {
  cluster.setupPrimary({ exec: PORTICO_BIN, args: [], silent: true });
  worker = cluster.fork({ PORTICO_WORKER_SLOT: '0' });
  worker.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  worker.on('message', (message: unknown) => received.push(message));
  await eventually(() => received.some((message) => (message as { type?: string }).type === 'ready'), { what: 'the worker to say ready' });
});

after(async () => {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.send({ type: 'shutdown' });
  await exited;
});

/** Asks the worker for its counters through the one request/reply layer. */
function askCounters(requests: IpcRequests, timeoutMs = 10_000): Promise<unknown> {
  return requests.ask('its counters', PRIMARY_REQUESTS.counters.reply, timeoutMs, (id) => worker.send({ type: 'request', id, request: { kind: 'counters' } }));
}

function routeReplies(requests: IpcRequests): () => void {
  const onMessage = (raw: unknown): void => {
    const parsed = parseWorkerMessage(raw);
    if ('message' in parsed && parsed.message.type === 'reply') requests.settle(parsed.message.id, parsed.message.reply);
  };
  worker.on('message', onMessage);
  return () => worker.off('message', onMessage);
}

test('a malformed message is dropped with a log line and not acted on: a shutdown with a field too many leaves the worker serving', async () => {
  worker.send({ type: 'shutdown', now: true });
  worker.send({ type: 'tls-bundle', bundle: { id: 'x', certPem: 'not a certificate' } });
  worker.send({ type: 'ticket-keys', keys: 'c2hvcnQ=' });
  await eventually(() => stderr.split('ignored a malformed message from the primary').length - 1 >= 3 && stderr, { what: 'three malformed messages logged' });
  assert.match(stderr, /ignored a malformed message from the primary: "shutdown": \(message\) Unrecognized key/);
  assert.match(stderr, /ignored a malformed message from the primary: "tls-bundle": bundle\.fingerprint256/);
  assert.match(stderr, /"ticket-keys": keys a 48-byte key/);
  assert.ok(!stderr.includes('not a certificate'), 'no payload is logged');
  // Still there, and answering: the shutdown was not acted on.
  const requests = new IpcRequests(recordingLogger(), 'worker 0');
  const stop = routeReplies(requests);
  try {
    const counts = (await askCounters(requests)) as { total: number };
    assert.equal(counts.total, 0);
    assert.equal(worker.isDead(), false);
  } finally {
    stop();
  }
});

test('a reply for an id nothing waits for is ignored; a malformed reply is dropped and its request still waits for a good one', async () => {
  const log = recordingLogger();
  const requests = new IpcRequests(log, 'worker 0');
  requests.settle(41, { total: 1 });
  assert.ok(log.lines.includes('DEBUG ignored a reply from worker 0 to request 41, which nothing waits for'));
  const asked = requests.ask('its counters', PRIMARY_REQUESTS.counters.reply, 10_000, () => undefined);
  requests.settle(0, { total: -1 });
  assert.ok(log.lines.some((line) => line.startsWith('WARN ignored a malformed reply from worker 0 to its counters:')));
  assert.equal(requests.waiting, 1);
  const stop = routeReplies(requests);
  try {
    // The real worker's answer to request 0 settles it.
    worker.send({ type: 'request', id: 0, request: { kind: 'counters' } });
    const counts = (await asked) as { total: number };
    assert.equal(typeof counts.total, 'number');
    assert.equal(requests.waiting, 0);
  } finally {
    stop();
  }
});

test('a request that gets no reply fails with ERR_IPC_TIMEOUT; one to a process that exits fails with ERR_IPC_GONE', async () => {
  const requests = new IpcRequests(recordingLogger(), 'worker 0');
  // A request kind the worker does not know is malformed to it: dropped, never answered.
  const unanswered = requests.ask('something it was never taught', PRIMARY_REQUESTS.counters.reply, 300, (id) => worker.send({ type: 'request', id, request: { kind: 'metrics' } }));
  await assert.rejects(unanswered, (error: unknown) => isPorticoError(error) && error.code === 'ERR_IPC_TIMEOUT' && error.message.includes('worker 0 did not answer something it was never taught'));
  await eventually(() => stderr.includes('ignored a malformed message from the primary: "request": request.kind'), { what: 'the unknown request logged' });
  const abandoned = requests.ask('its counters', PRIMARY_REQUESTS.counters.reply, 10_000, () => undefined);
  requests.abandon();
  await assert.rejects(abandoned, (error: unknown) => isPorticoError(error) && error.code === 'ERR_IPC_GONE');
});
