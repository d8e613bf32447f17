import type { FileHandle } from 'node:fs/promises';
import type { Duplex, Readable } from 'node:stream';

/** A slice of an open file: bytes `start`..`end`, inclusive. */
export interface FileSlice {
  readonly handle: FileHandle;
  readonly start: number;
  readonly end: number;
}

/** What a response carries after its head. Segments are sent in order: bytes, or file slices. */
export type Body =
  | { readonly kind: 'none' }
  | { readonly kind: 'bytes'; readonly data: Buffer | string }
  | { readonly kind: 'segments'; readonly segments: readonly (Buffer | string | FileSlice)[] }
  /** Bytes as another party sends them (a proxied response): passed on with backpressure, never whole in memory. */
  | { readonly kind: 'stream'; readonly stream: Readable }
  /**
   * The connection is handed over (a WebSocket tunnel, status 101): once the head is written the
   * transport gives `take` the client's socket and the bytes that came after the request's head;
   * the exchange ends when the promise settles, with the bytes carried each way. Only an exchange
   * whose `upgrade` is set may be answered so (HTTP/1.1); the rules run before it like any other.
   */
  | { readonly kind: 'upgrade'; readonly take: (socket: Duplex, head: Buffer) => Promise<Traffic> };

/** Bytes carried each way by a tunnel: `sent` to the client, `received` from it. */
export interface Traffic {
  readonly sent: number;
  readonly received: number;
}

/**
 * One response, decided by a handler and written by whichever transport carries the exchange.
 * Headers are lower-case names; Content-Length is set by the handler whenever the length is known.
 * `release` frees what the body holds (open files): the transport calls it exactly once, when
 * the body is sent, cut short, or never sent because the client left.
 */
export interface Response {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Set-Cookie fields, one each: the one header that cannot be joined with commas (a proxied response's). */
  readonly cookies?: readonly string[];
  readonly body: Body;
  readonly release?: () => void;
  /**
   * The decoded URL path of the file this response comes from, when that is not simply the
   * request's (a folder's default document, a tryFiles candidate): site rules match it too, so a
   * rule on `/index.html` covers `/` (docs/config.md, "Site rules").
   */
  readonly servedPath?: string;
  /** The body is this answer's own words (Basic auth's "only over HTTPS" page): a site's error pages leave it as it is. */
  readonly ownPage?: boolean;
}

export const NO_BODY: Body = Object.freeze({ kind: 'none' });

export function bytesResponse(status: number, headers: Readonly<Record<string, string>>, data: Buffer | string | undefined): Response {
  return { status, headers, body: data === undefined ? NO_BODY : { kind: 'bytes', data } };
}

export function isFileSlice(segment: Buffer | string | FileSlice): segment is FileSlice {
  return typeof segment === 'object' && 'handle' in segment;
}
