import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type MatrixTarget, type Outcome, pathVariants, send, type Transport } from '../support/matrix.js';
import type { PorticoProcess } from '../support/portico-process.js';
import { eventually } from '../support/eventually.js';
import { useTestServers } from '../support/test-servers.js';
import { serveBehindApp } from './raw-upstream.js';

// A misbehaving upstream behind a route with a proxy handler (/r/**) and behind tryFiles'
// @app (/app/...): garbage instead of HTTP, odd statuses, a lone 100, a 101 nobody asked for,
// a head that never comes, a body that stops, a reset mid-body; over HTTP/1.1, HTTP/2 and (for
// the faults before a head) a WebSocket upgrade. Each gets a clear 502/504, or a cut response
// once a head was sent, a log line says what happened, and the worker serves the next request.

const HOST = 'faults.example.test';
const servers = useTestServers();
let portico: PorticoProcess;
let target: MatrixTarget;

before(async () => {
  ({ portico, target } = await serveBehindApp(servers, HOST, (upstreamPort) => {
    const proxy = `[{ proxy: { to: ["http://127.0.0.1:${upstreamPort}"], timeouts: { response: 2s } } }]`;
    return ['      - match: { path: ["/r/**"] }', `        handle: ${proxy}`, '      - name: app', `        handle: ${proxy}`];
  }));
});

/** What a fault must come to: a status (before any head), or `cut` (a 200 head, then fewer bytes than it declared). */
const FAULTS: ReadonlyArray<[fault: string, expected: readonly number[] | 'cut-or-502', log: RegExp, upgrade: boolean]> = [
  ['garbage', [502], /invalid response|does not match the HTTP/i, true],
  ['status-999', [502], /invalid status 999|bad upgrade/i, true],
  ['status-0', [502], /invalid response|bad upgrade/i, true],
  ['only-100', [502], /bad response/, true],
  ['switch-101', [502], /bad upgrade/, false],
  ['stall-head', [504], /Headers Timeout Error.*no response within 2 s \(504\)/, true],
  ['stall-small', [502, 504], /cut its response body short: Body Timeout Error/, false],
  ['stall-body', 'cut-or-502', /cut its response body|Body Timeout|\(50[24]\)/, false],
  ['two-lengths', 'cut-or-502', /invalid response|cut its response body/, false],
  ['length-list', 'cut-or-502', /invalid response|cut its response body/, false],
  ['short-close', 'cut-or-502', /invalid response|cut its response body/, false],
  ['reset-mid', 'cut-or-502', /cut its response body|other side closed|ECONNRESET|\(502\)/, false],
];

function judge(outcome: Outcome, expected: readonly number[] | 'cut-or-502'): true | string {
  const got = `${outcome.status} (${outcome.body.length} bytes${outcome.error ? `, ${outcome.error}` : ''})`;
  if (outcome.error?.startsWith('no end within')) return `hung: ${got}`;
  if (expected !== 'cut-or-502') return expected.includes(outcome.status) || `expected ${expected.join('/')}, got ${got}`;
  if (outcome.status === 502 || outcome.status === 504) return true;
  // The head was out: the client must see the body cut (fewer bytes than declared, or the stream reset), never a whole 200.
  const declared = Number(outcome.headers['content-length'] ?? Number.NaN);
  const whole = outcome.status === 200 && !outcome.error && (Number.isNaN(declared) || outcome.body.length >= declared);
  return (outcome.status === 200 && !whole) || `expected a cut 200 or 502/504, got ${got}`;
}

const at = (path: string) => pathVariants(path)[0]!;

for (const [prefix, where] of [
  ['/r/', 'a route with a proxy handler'],
  ['/app/', "tryFiles' @app"],
] as const) {
  test(`behind ${where}: each upstream fault is a 502/504 or a cut response, logged, and the worker serves the next request`, async () => {
    const workers = portico.workerPids();
    const problems: string[] = [];
    const markedDown = (): number => portico.output.split('\n').filter((line) => line.includes(' is down for ')).length;
    const downBefore = markedDown();
    // Every fault on every transport at once (each has its own path, so its log line is its own):
    // the timeouts overlap instead of adding up.
    const cases = FAULTS.flatMap(([fault, expected, log, upgrade]) => (upgrade ? (['h1', 'h2', 'upgrade'] as Transport[]) : (['h1', 'h2'] as Transport[])).map((transport) => ({ fault, expected, log, transport })));
    await Promise.all(
      cases.map(async ({ fault, expected, log, transport }) => {
        const path = `${prefix}${transport}/${fault}`;
        const outcome = await send(target, transport, { path }, at(path));
        const verdict = judge(outcome, expected);
        if (verdict !== true) problems.push(`${transport} ${path}: ${verdict}`);
        const logged = await eventually(() => portico.output.split('\n').some((line) => line.includes(path) && log.test(line)), { what: `a log line for ${path}`, timeoutMs: 10_000 }).then(
          () => true,
          () => false,
        );
        if (!logged) problems.push(`${transport} ${path}: no log line says what happened (${log})`);
        const next = await send(target, transport === 'upgrade' ? 'h1' : transport, { path: `${prefix}ok` }, at(`${prefix}ok`));
        if (next.status !== 200 || !next.body.startsWith('app ')) problems.push(`${transport} ${path}: the next request got ${next.status} ${next.body.slice(0, 60)} ${next.error ?? ''}`);
      }),
    );
    assert.deepEqual(portico.workerPids(), workers, 'the worker was never restarted');
    // An upstream that answers, however badly, is up: no fault here may mark it down (docs/proxy.md).
    assert.equal(markedDown(), downBefore, 'no fault marked the upstream down');
    assert.deepEqual(problems, [], `\n${problems.join('\n')}\n--- log:\n${portico.output.split('\n').filter((line) => /proxy|WARN|ERROR/.test(line)).slice(-40).join('\n')}`);
  });
}
