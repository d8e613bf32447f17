import { type EntityTag, parseEntityTag, parseEntityTags, strongMatch, weakMatch } from './entity-tag.js';

/** The validators of the representation a response would carry. */
export interface Validators {
  readonly etag: string;
  /** Last modification, in ms; compared at one-second resolution as HTTP dates are. */
  readonly lastModified: number;
}

export interface ConditionalHeaders {
  readonly method: string;
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  readonly ifModifiedSince?: string;
  readonly ifUnmodifiedSince?: string;
}

export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/**
 * Evaluates preconditions in the order RFC 9110 §13.2.2 requires:
 * If-Match, else If-Unmodified-Since; then If-None-Match, else (GET/HEAD) If-Modified-Since.
 * A header that cannot be parsed is ignored, as the RFC says for dates (§13.1.3–4). Pure.
 */
export function evaluatePreconditions(headers: ConditionalHeaders, current: Validators): PreconditionOutcome {
  if (headers.ifMatch === undefined && headers.ifNoneMatch === undefined && headers.ifModifiedSince === undefined && headers.ifUnmodifiedSince === undefined) return 'proceed';
  const isGetOrHead = headers.method === 'GET' || headers.method === 'HEAD';
  // The common revalidation, decided without parsing: the client sends back exactly our tag.
  if (headers.ifNoneMatch === current.etag && headers.ifMatch === undefined && headers.ifUnmodifiedSince === undefined) {
    return isGetOrHead ? 'not-modified' : 'precondition-failed';
  }
  const tag = parseEntityTag(current.etag)!;
  if (headers.ifMatch !== undefined) {
    if (!listMatches(headers.ifMatch, tag, strongMatch)) return 'precondition-failed';
  } else if (headers.ifUnmodifiedSince !== undefined) {
    const date = parseHttpDate(headers.ifUnmodifiedSince);
    if (date !== undefined && toSeconds(current.lastModified) > date) return 'precondition-failed';
  }
  if (headers.ifNoneMatch !== undefined) {
    if (listMatches(headers.ifNoneMatch, tag, weakMatch)) return isGetOrHead ? 'not-modified' : 'precondition-failed';
  } else if (isGetOrHead && headers.ifModifiedSince !== undefined) {
    const date = parseHttpDate(headers.ifModifiedSince);
    if (date !== undefined && toSeconds(current.lastModified) <= date) return 'not-modified';
  }
  return 'proceed';
}

/**
 * If-Range (RFC 9110 §13.1.5): the range applies only if the validator still matches — an
 * entity tag by strong comparison, or a date equal to Last-Modified. Anything else (a weak tag,
 * an unparsable value) means "send the whole representation".
 */
export function ifRangeAllows(ifRange: string | undefined, current: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    const tag = parseEntityTag(value);
    return tag !== undefined && strongMatch(tag, parseEntityTag(current.etag)!);
  }
  const date = parseHttpDate(value);
  return date !== undefined && date === toSeconds(current.lastModified);
}

function listMatches(header: string, tag: EntityTag, match: (a: EntityTag, b: EntityTag) => boolean): boolean {
  const tags = parseEntityTags(header);
  if (tags === 'any') return true;
  return tags !== undefined && tags.some((candidate) => match(candidate, tag));
}

/** An HTTP-date in whole seconds since the epoch, or undefined (RFC 9110 §5.6.7: three formats). */
export function parseHttpDate(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z]{3,9}, /.test(trimmed) && !/^[A-Za-z]{3} [A-Za-z]{3} /.test(trimmed)) return undefined;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

function toSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
