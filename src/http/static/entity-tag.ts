/**
 * Entity tags (RFC 9110 §8.8.3). Portico's tags are strong, derived from the file's size and
 * modification time (to the microsecond), as nginx's are: every worker and every machine with
 * the same file computes the same tag without reading it, and any rewrite changes it. Strong,
 * because ranges and If-Match need strong comparison; each content coding gets its own tag
 * (`"…-br"`), since its bytes differ. Pure.
 */
export interface EntityTag {
  readonly weak: boolean;
  readonly opaque: string;
}

export function fileEntityTag(size: number, mtimeMs: number, coding?: string): string {
  const version = `${size.toString(16)}-${Math.floor(mtimeMs * 1000).toString(16)}`;
  return `"${coding ? `${version}-${coding}` : version}"`;
}

/** A list of entity tags as If-Match and If-None-Match carry them; `*` is 'any'; undefined if malformed. */
export function parseEntityTags(header: string): 'any' | EntityTag[] | undefined {
  const text = header.trim();
  if (text === '*') return 'any';
  const tags: EntityTag[] = [];
  const pattern = /\s*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(,|$)/y;
  while (pattern.lastIndex < text.length) {
    const match = pattern.exec(text);
    if (!match) return undefined;
    tags.push({ weak: match[1] !== undefined, opaque: match[2]! });
  }
  return tags;
}

export function parseEntityTag(tag: string): EntityTag | undefined {
  const parsed = parseEntityTags(tag);
  return Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : undefined;
}

/** Strong comparison: both strong and identical (RFC 9110 §8.8.3.2). */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** Weak comparison: identical opaque tags, weakness ignored. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}
