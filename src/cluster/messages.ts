import type { BindingName, WorkerPlan } from '../config/plan.js';
import type { TlsBundle } from '../tls/bundle.js';

/**
 * The IPC boundary between the primary and its workers: every message that crosses it is one of
 * these, and each side checks what it receives before acting on it. Payloads are plain JSON.
 *
 * A worker says 'ready' once it listens for messages (anything sent earlier could be lost while
 * its ES module loads); the primary answers with 'start' and the current bundle, if any.
 */
export type PrimaryMessage =
  | { readonly type: 'start'; readonly plan: WorkerPlan }
  /** A reload: serve these sites from now on, on the same listeners; reopen the access logs. */
  | { readonly type: 'reconfigure'; readonly plan: WorkerPlan }
  | { readonly type: 'tls-bundle'; readonly bundle: TlsBundle }
  /** A session-ticket key, base64 (48 bytes), shared by all workers. */
  | { readonly type: 'ticket-keys'; readonly keys: string }
  | { readonly type: 'shutdown' }
  /** An ACME http-01 answer to serve at /.well-known/acme-challenge/TOKEN; without keyAuthorization, one to forget. */
  | { readonly type: 'acme-challenge'; readonly token: string; readonly keyAuthorization: string | undefined }
  /** A tls-alpn-01 certificate for a name (RFC 8737), for handshakes that ask for acme-tls/1; without certPem, one to forget. */
  | { readonly type: 'acme-alpn'; readonly name: string; readonly certPem: string | undefined; readonly keyPem: string | undefined }
  /** An address past the sign-in failure limit, counted across workers: refuse it until then. */
  | { readonly type: 'auth-blocked'; readonly address: string; readonly until: number }
  /** The answer to an 'on-demand': its certificate was sent first (ok), or it was refused. */
  | { readonly type: 'on-demand-done'; readonly id: number; readonly ok: boolean }
  /** The answer to an 'acme-lookup': the stored value, or undefined when there is none. */
  | { readonly type: 'acme-found'; readonly id: number; readonly value: string | undefined };

export type WorkerMessage =
  | { readonly type: 'ready' }
  /** Every listener of the worker is open: sent once, after all of them. */
  | { readonly type: 'listening'; readonly listeners: readonly { readonly name: BindingName; readonly port: number }[] }
  | { readonly type: 'listen-failed'; readonly code: string; readonly message: string }
  | { readonly type: 'certificate-expired'; readonly fingerprint256: string }
  /** The sites of a 'reconfigure' are being served. */
  | { readonly type: 'reconfigured' }
  /** A sign-in failed from this address (HTTP Basic). */
  | { readonly type: 'auth-failed'; readonly address: string }
  /**
   * A challenge this worker has no answer for: the primary looks in the store, where another
   * instance of a fleet may have put it (http-01: a token; tls-alpn-01: a host name).
   */
  | { readonly type: 'acme-lookup'; readonly id: number; readonly challenge: 'http-01' | 'tls-alpn-01'; readonly key: string }
  /** A handshake for a name only an on-demand site matches: obtain its certificate, if allowed. */
  | { readonly type: 'on-demand'; readonly id: number; readonly site: string; readonly name: string };

export function parsePrimaryMessage(value: unknown): PrimaryMessage | undefined {
  if (!isRecord(value)) return undefined;
  switch (value.type) {
    case 'start':
    case 'reconfigure':
      return isRecord(value.plan) && Array.isArray(value.plan.bindings) && Array.isArray(value.plan.sites) ? (value as PrimaryMessage) : undefined;
    case 'tls-bundle':
      return isRecord(value.bundle) && typeof value.bundle.id === 'string' && typeof value.bundle.certPem === 'string' && typeof value.bundle.keyPem === 'string' && typeof value.bundle.notAfter === 'number'
        ? (value as PrimaryMessage)
        : undefined;
    case 'ticket-keys':
      return typeof value.keys === 'string' && Buffer.from(value.keys, 'base64').length === 48 ? (value as PrimaryMessage) : undefined;
    case 'shutdown':
      return { type: 'shutdown' };
    case 'acme-challenge':
      return typeof value.token === 'string' && (value.keyAuthorization === undefined || typeof value.keyAuthorization === 'string') ? (value as PrimaryMessage) : undefined;
    case 'acme-alpn':
      return typeof value.name === 'string' && (value.certPem === undefined || (typeof value.certPem === 'string' && typeof value.keyPem === 'string')) ? (value as PrimaryMessage) : undefined;
    case 'auth-blocked':
      return typeof value.address === 'string' && typeof value.until === 'number' ? (value as PrimaryMessage) : undefined;
    case 'on-demand-done':
      return typeof value.id === 'number' && typeof value.ok === 'boolean' ? (value as PrimaryMessage) : undefined;
    case 'acme-found':
      return typeof value.id === 'number' && (value.value === undefined || typeof value.value === 'string') ? (value as PrimaryMessage) : undefined;
    default:
      return undefined;
  }
}

export function parseWorkerMessage(value: unknown): WorkerMessage | undefined {
  if (!isRecord(value)) return undefined;
  switch (value.type) {
    case 'ready':
      return { type: 'ready' };
    case 'reconfigured':
      return { type: 'reconfigured' };
    case 'auth-failed':
      return typeof value.address === 'string' ? (value as WorkerMessage) : undefined;
    case 'on-demand':
      return typeof value.id === 'number' && typeof value.site === 'string' && typeof value.name === 'string' ? (value as WorkerMessage) : undefined;
    case 'acme-lookup':
      return typeof value.id === 'number' && (value.challenge === 'http-01' || value.challenge === 'tls-alpn-01') && typeof value.key === 'string' ? (value as WorkerMessage) : undefined;
    case 'listening':
      return Array.isArray(value.listeners) && value.listeners.every((l: { name?: unknown; port?: unknown }) => (l.name === 'http' || l.name === 'https') && typeof l.port === 'number')
        ? (value as WorkerMessage)
        : undefined;
    case 'listen-failed':
      return typeof value.code === 'string' && typeof value.message === 'string' ? (value as WorkerMessage) : undefined;
    case 'certificate-expired':
      return typeof value.fingerprint256 === 'string' ? (value as WorkerMessage) : undefined;
    default:
      return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> & { type?: unknown } {
  return typeof value === 'object' && value !== null;
}
