/** An inclusive byte range: `start`..`end` (RFC 9110 §14.1.2). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type RangeRequest =
  /** No Range header, another unit, a syntax error, or too many ranges: send the whole file. */
  | { readonly kind: 'ignore' }
  /** Valid syntax, but no range overlaps the file: 416. */
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] };

/** More ranges than this in one request is treated as abuse and the header is ignored. */
export const MAX_RANGES = 32;

/**
 * Parses a Range header against a file of `size` bytes (RFC 9110 §14.1.1–14.2). Overlapping
 * or adjacent ranges are coalesced (§14.2 allows it; it stops `bytes=0-,0-,0-…` amplification),
 * keeping the order in which the client asked for them. Pure.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'ignore' };
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) return { kind: 'ignore' };
  const specs = match[1]!.split(',').map((spec) => spec.trim()).filter((spec) => spec.length > 0);
  if (specs.length === 0 || specs.length > MAX_RANGES) return { kind: 'ignore' };
  const satisfiable: ByteRange[] = [];
  for (const spec of specs) {
    const range = /^(\d*)-(\d*)$/.exec(spec);
    if (!range || (range[1] === '' && range[2] === '')) return { kind: 'ignore' };
    const [first, last] = [range[1]!, range[2]!];
    if (first === '') {
      const suffix = Number(last);
      if (suffix > 0 && size > 0) satisfiable.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Number(last);
    if (last !== '' && end < start) return { kind: 'ignore' };
    if (start < size) satisfiable.push({ start, end: Math.min(end, size - 1) });
  }
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges: coalesce(satisfiable) };
}

function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  const ordered = ranges.map((range, index) => ({ ...range, index })).sort((a, b) => a.start - b.start);
  const merged: Array<{ start: number; end: number; index: number }> = [];
  for (const range of ordered) {
    const last = merged[merged.length - 1];
    if (last && range.start <= last.end + 1) {
      last.end = Math.max(last.end, range.end);
      last.index = Math.min(last.index, range.index);
    } else {
      merged.push({ ...range });
    }
  }
  return merged.sort((a, b) => a.index - b.index).map(({ start, end }) => ({ start, end }));
}

export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}
