import { anything, checkShape, flag, type Infer, type Issue, list, literal, number, object, oneOf, optional, record, refine, type Shape, tagged, text } from './message-shape.js';
import type { WorkerPlan } from '../config/plan.js';
import type { ExchangeCounts } from '../http/exchange-observer.js';
import type { TlsBundle } from '../tls/bundle.js';

/**
 * The IPC boundary between the primary and its workers: every message that crosses it is one of
 * these, and each side checks what it receives, strictly, before acting on it (a field too many,
 * one missing or of the wrong type: the whole message is dropped). Payloads are plain JSON.
 *
 * A worker says 'ready' once it listens for messages (anything sent earlier could be lost while
 * its ES module loads); the primary answers with 'start' and the current bundle, if any.
 *
 * A question that wants an answer is a 'request' with an id; its answer is the 'reply' with the
 * same id (src/cluster/ipc-requests.ts: one correlation, one timeout, each reply checked against
 * what its request expects).
 */

const count = number({ whole: true, min: 0 });
const port = number({ whole: true, min: 0, max: 65_535 });
const loose = object({}, 'loose');

const binding = object({ name: oneOf(['http', 'https']), port, address: optional(text), tls: flag, setting: text });

/**
 * A worker's plan: its bindings, limits and every site's own keys are checked; what a site's
 * routes say was planned and checked by the primary's loader (each handler kind's schema), and
 * is compiled (so checked again) by the kind in the worker.
 */
const site = object(
  {
    name: text,
    hosts: list(text),
    isDefault: flag,
    root: optional(text),
    browse: flag,
    cacheControl: text,
    vdirs: list(loose),
    certificateId: optional(text),
    accessLog: optional(loose),
    onDemand: flag,
    trustedProxies: list(text),
    rules: loose,
    proxy: list(loose),
    routes: list(loose),
  },
  'loose',
);

const workerPlan = object({
  bindings: list(binding),
  sites: list(site),
  limits: record(number()),
  shutdownGraceMs: count,
  answersAcme: optional(flag),
  tlsGroups: optional(list(text)),
  reusePort: optional(flag),
});

const tlsBundle = object({
  id: text,
  fingerprint256: text,
  serialNumber: text,
  certPem: text,
  keyPem: text,
  notBefore: number(),
  notAfter: number(),
  hosts: list(text),
  keyType: text,
});

const exchangeCounts = object({
  total: count,
  byStatus: object({ '1xx': count, '2xx': count, '3xx': count, '4xx': count, '5xx': count }),
  byAnswer: object({ site: count, 'not-found': count, misdirected: count, acme: count }),
  tunnels: count,
  incomplete: count,
  bytesSent: count,
  bytesReceived: count,
});

const id = count;

/** What a worker may ask the primary, and what each answer must look like. */
export const WORKER_REQUESTS = {
  /** A handshake for a name only an on-demand site matches: obtain its certificate, if allowed (it is sent before the reply). */
  'on-demand': { ask: object({ kind: literal('on-demand'), site: text, name: text }), reply: object({ ok: flag }) },
  /**
   * A challenge this worker has no answer for: the primary looks in the store, where another
   * instance of a fleet may have put it (http-01: a token; tls-alpn-01: a host name).
   */
  'acme-lookup': {
    ask: object({ kind: literal('acme-lookup'), challenge: oneOf(['http-01', 'tls-alpn-01']), key: text }),
    reply: object({ value: optional(text) }),
  },
} as const;

/** What the primary may ask a worker. */
export const PRIMARY_REQUESTS = {
  /** This worker's exchange counters since it started. */
  counters: { ask: object({ kind: literal('counters') }), reply: exchangeCounts },
} as const;

type Asks<T extends Record<string, { ask: Shape<unknown> }>> = Infer<T[keyof T]['ask']>;
export type WorkerRequest = Asks<typeof WORKER_REQUESTS>;
export type PrimaryRequest = Asks<typeof PRIMARY_REQUESTS>;

const primaryMessage = tagged('type', [
  object({ type: literal('start'), plan: workerPlan }),
  /** A reload: serve these sites from now on, on the same listeners; reopen the access logs. */
  object({ type: literal('reconfigure'), plan: workerPlan }),
  object({ type: literal('tls-bundle'), bundle: tlsBundle }),
  /** A session-ticket key, base64 (48 bytes), shared by all workers. */
  object({ type: literal('ticket-keys'), keys: refine(text, (keys) => Buffer.from(keys, 'base64').length === 48, 'a 48-byte key') }),
  object({ type: literal('shutdown') }),
  /** An ACME http-01 answer to serve at /.well-known/acme-challenge/TOKEN; without keyAuthorization, one to forget. */
  object({ type: literal('acme-challenge'), token: text, keyAuthorization: optional(text) }),
  /** A tls-alpn-01 certificate for a name (RFC 8737), for handshakes that ask for acme-tls/1; without certPem, one to forget. */
  refine(object({ type: literal('acme-alpn'), name: text, certPem: optional(text), keyPem: optional(text) }), (m) => (m.certPem === undefined) === (m.keyPem === undefined), 'a certificate comes with its key'),
  /** An address past the sign-in failure limit, counted across workers: refuse it until then. */
  object({ type: literal('auth-blocked'), address: text, until: number() }),
  object({ type: literal('request'), id, request: tagged('kind', [PRIMARY_REQUESTS.counters.ask]) }),
  /** The answer to a worker's request; checked against what that request expects when it arrives. */
  object({ type: literal('reply'), id, reply: anything }),
]);

const workerMessage = tagged('type', [
  object({ type: literal('ready') }),
  /** Every listener of the worker is open: sent once, after all of them. */
  object({ type: literal('listening'), listeners: list(object({ name: oneOf(['http', 'https']), port })) }),
  object({ type: literal('listen-failed'), code: text, message: text }),
  object({ type: literal('certificate-expired'), fingerprint256: text }),
  /** The sites of a 'reconfigure' are being served. */
  object({ type: literal('reconfigured') }),
  /** A sign-in failed from this address (HTTP Basic). */
  object({ type: literal('auth-failed'), address: text }),
  object({ type: literal('request'), id, request: tagged('kind', [WORKER_REQUESTS['on-demand'].ask, WORKER_REQUESTS['acme-lookup'].ask]) }),
  object({ type: literal('reply'), id, reply: anything }),
]);

type Parsed<T> = Infer<T>;
/** `start` and `reconfigure` carry the WorkerPlan type itself (the schema checks its shape; the sites' routes are the kinds'). */
type WithPlan<T> = T extends { plan: unknown } ? Omit<T, 'plan'> & { readonly plan: WorkerPlan } : T;
type WithBundle<T> = T extends { bundle: unknown } ? Omit<T, 'bundle'> & { readonly bundle: TlsBundle } : T;
export type PrimaryMessage = WithBundle<WithPlan<Parsed<typeof primaryMessage>>>;
export type WorkerMessage = Parsed<typeof workerMessage>;
export type { ExchangeCounts };

/** A message from the primary, or undefined (with why) when it is not one of the above exactly. */
export function parsePrimaryMessage(value: unknown): { message: PrimaryMessage } | { problem: string } {
  const checked = checkShape(primaryMessage, value);
  return 'value' in checked ? { message: checked.value as PrimaryMessage } : { problem: describeIssue(value, checked.issue) };
}

export function parseWorkerMessage(value: unknown): { message: WorkerMessage } | { problem: string } {
  const checked = checkShape(workerMessage, value);
  return 'value' in checked ? { message: checked.value } : { problem: describeIssue(value, checked.issue) };
}

/** One line for the log: the message's type and the first thing wrong with it, never its payload (it may hold key material). */
export function describeIssue(value: unknown, issue: Issue): string {
  const type = typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' ? (value as { type: string }).type : typeof value;
  return `${JSON.stringify(type.slice(0, 40))}: ${issue.path.join('.') || '(message)'} ${issue.message}`;
}
