import { z } from 'zod';
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

const count = z.number().int().nonnegative();
const port = z.number().int().min(0).max(65_535);

const binding = z.object({ name: z.enum(['http', 'https']), port, address: z.string().optional(), tls: z.boolean(), setting: z.string() }).strict();

/**
 * A worker's plan: its bindings, limits and every site's own keys are checked; what a site's
 * routes say was planned and checked by the primary's loader (each handler kind's schema), and
 * is compiled (so checked again) by the kind in the worker.
 */
const site = z
  .object({
    name: z.string(),
    hosts: z.array(z.string()),
    isDefault: z.boolean(),
    root: z.string().optional(),
    browse: z.boolean(),
    cacheControl: z.string(),
    vdirs: z.array(z.object({}).passthrough()),
    certificateId: z.string().optional(),
    accessLog: z.object({}).passthrough().optional(),
    onDemand: z.boolean(),
    trustedProxies: z.array(z.string()),
    rules: z.object({}).passthrough(),
    proxy: z.array(z.object({}).passthrough()),
    routes: z.array(z.object({}).passthrough()),
  })
  .passthrough();

const workerPlan = z
  .object({
    bindings: z.array(binding),
    sites: z.array(site),
    limits: z.record(z.string(), z.number()),
    shutdownGraceMs: count,
    answersAcme: z.boolean().optional(),
    tlsGroups: z.array(z.string()).optional(),
    reusePort: z.boolean().optional(),
  })
  .strict();

const tlsBundle = z
  .object({
    id: z.string(),
    fingerprint256: z.string(),
    serialNumber: z.string(),
    certPem: z.string(),
    keyPem: z.string(),
    notBefore: z.number(),
    notAfter: z.number(),
    hosts: z.array(z.string()),
    keyType: z.string(),
  })
  .strict();

const exchangeCounts = z
  .object({
    total: count,
    byStatus: z.object({ '1xx': count, '2xx': count, '3xx': count, '4xx': count, '5xx': count }).strict(),
    byAnswer: z.object({ site: count, 'not-found': count, misdirected: count, acme: count }).strict(),
    tunnels: count,
    incomplete: count,
    bytesSent: count,
    bytesReceived: count,
  })
  .strict();

const id = z.number().int().nonnegative();

/** What a worker may ask the primary, and what each answer must look like. */
export const WORKER_REQUESTS = {
  /** A handshake for a name only an on-demand site matches: obtain its certificate, if allowed (it is sent before the reply). */
  'on-demand': { ask: z.object({ kind: z.literal('on-demand'), site: z.string(), name: z.string() }).strict(), reply: z.object({ ok: z.boolean() }).strict() },
  /**
   * A challenge this worker has no answer for: the primary looks in the store, where another
   * instance of a fleet may have put it (http-01: a token; tls-alpn-01: a host name).
   */
  'acme-lookup': {
    ask: z.object({ kind: z.literal('acme-lookup'), challenge: z.enum(['http-01', 'tls-alpn-01']), key: z.string() }).strict(),
    reply: z.object({ value: z.string().optional() }).strict(),
  },
} as const;

/** What the primary may ask a worker. */
export const PRIMARY_REQUESTS = {
  /** This worker's exchange counters since it started. */
  counters: { ask: z.object({ kind: z.literal('counters') }).strict(), reply: exchangeCounts },
} as const;

type Asks<T extends Record<string, { ask: z.ZodType }>> = z.infer<T[keyof T]['ask']>;
export type WorkerRequest = Asks<typeof WORKER_REQUESTS>;
export type PrimaryRequest = Asks<typeof PRIMARY_REQUESTS>;

const primaryMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), plan: workerPlan }).strict(),
  /** A reload: serve these sites from now on, on the same listeners; reopen the access logs. */
  z.object({ type: z.literal('reconfigure'), plan: workerPlan }).strict(),
  z.object({ type: z.literal('tls-bundle'), bundle: tlsBundle }).strict(),
  /** A session-ticket key, base64 (48 bytes), shared by all workers. */
  z.object({ type: z.literal('ticket-keys'), keys: z.string().refine((keys) => Buffer.from(keys, 'base64').length === 48, 'a 48-byte key') }).strict(),
  z.object({ type: z.literal('shutdown') }).strict(),
  /** An ACME http-01 answer to serve at /.well-known/acme-challenge/TOKEN; without keyAuthorization, one to forget. */
  z.object({ type: z.literal('acme-challenge'), token: z.string(), keyAuthorization: z.string().optional() }).strict(),
  /** A tls-alpn-01 certificate for a name (RFC 8737), for handshakes that ask for acme-tls/1; without certPem, one to forget. */
  z.object({ type: z.literal('acme-alpn'), name: z.string(), certPem: z.string().optional(), keyPem: z.string().optional() }).strict().refine((m) => (m.certPem === undefined) === (m.keyPem === undefined), 'a certificate comes with its key'),
  /** An address past the sign-in failure limit, counted across workers: refuse it until then. */
  z.object({ type: z.literal('auth-blocked'), address: z.string(), until: z.number() }).strict(),
  z.object({ type: z.literal('request'), id, request: z.discriminatedUnion('kind', [PRIMARY_REQUESTS.counters.ask]) }).strict(),
  /** The answer to a worker's request; checked against what that request expects when it arrives. */
  z.object({ type: z.literal('reply'), id, reply: z.unknown() }).strict(),
]);

const workerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }).strict(),
  /** Every listener of the worker is open: sent once, after all of them. */
  z.object({ type: z.literal('listening'), listeners: z.array(z.object({ name: z.enum(['http', 'https']), port }).strict()) }).strict(),
  z.object({ type: z.literal('listen-failed'), code: z.string(), message: z.string() }).strict(),
  z.object({ type: z.literal('certificate-expired'), fingerprint256: z.string() }).strict(),
  /** The sites of a 'reconfigure' are being served. */
  z.object({ type: z.literal('reconfigured') }).strict(),
  /** A sign-in failed from this address (HTTP Basic). */
  z.object({ type: z.literal('auth-failed'), address: z.string() }).strict(),
  z.object({ type: z.literal('request'), id, request: z.discriminatedUnion('kind', [WORKER_REQUESTS['on-demand'].ask, WORKER_REQUESTS['acme-lookup'].ask]) }).strict(),
  z.object({ type: z.literal('reply'), id, reply: z.unknown() }).strict(),
]);

type Parsed<T extends z.ZodType> = z.infer<T>;
/** `start` and `reconfigure` carry the WorkerPlan type itself (the schema checks its shape; the sites' routes are the kinds'). */
type WithPlan<T> = T extends { plan: unknown } ? Omit<T, 'plan'> & { readonly plan: WorkerPlan } : T;
type WithBundle<T> = T extends { bundle: unknown } ? Omit<T, 'bundle'> & { readonly bundle: TlsBundle } : T;
export type PrimaryMessage = WithBundle<WithPlan<Parsed<typeof primaryMessage>>>;
export type WorkerMessage = Parsed<typeof workerMessage>;
export type { ExchangeCounts };

/** A message from the primary, or undefined (with why) when it is not one of the above exactly. */
export function parsePrimaryMessage(value: unknown): { message: PrimaryMessage } | { problem: string } {
  const parsed = primaryMessage.safeParse(value);
  return parsed.success ? { message: parsed.data as PrimaryMessage } : { problem: describeIssues(value, parsed.error) };
}

export function parseWorkerMessage(value: unknown): { message: WorkerMessage } | { problem: string } {
  const parsed = workerMessage.safeParse(value);
  return parsed.success ? { message: parsed.data } : { problem: describeIssues(value, parsed.error) };
}

/** One line for the log: the message's type and the first thing wrong with it, never its payload (it may hold key material). */
export function describeIssues(value: unknown, error: z.ZodError): string {
  const type = typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' ? (value as { type: string }).type : typeof value;
  const issue = error.issues[0];
  return `${JSON.stringify(type.slice(0, 40))}: ${issue ? `${issue.path.join('.') || '(message)'} ${issue.message}` : 'malformed'}`;
}
