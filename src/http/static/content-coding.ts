import * as zlib from 'node:zlib';

/** Content codings Portico can send, in the order it prefers them when the client is indifferent. */
export type Coding = 'br' | 'zstd' | 'gzip';

/** Whether this runtime's zlib has Zstandard (Node ≥ 22.15 and ≥ 23.8): found by looking, never by version. */
export const HAS_ZSTD = typeof (zlib as { zstdCompress?: unknown }).zstdCompress === 'function';

/** br first (the smallest for text), then zstd (RFC 8878, where the runtime has it), then gzip. */
export const CODINGS: readonly Coding[] = HAS_ZSTD ? ['br', 'zstd', 'gzip'] : ['br', 'gzip'];

/**
 * Chooses a content coding from Accept-Encoding (RFC 9110 §12.5.3) among those available for
 * this file. Returns undefined for the identity coding. Highest q wins; on a tie the server's
 * preference (br, then zstd, then gzip, then identity) decides. A coding the client lists is preferred to
 * identity unless identity is ranked higher; identity is what is sent when nothing else is
 * acceptable or available. Pure.
 */
export function negotiateCoding(header: string | undefined, available: readonly Coding[]): Coding | undefined {
  if (header === undefined || available.length === 0) return undefined;
  const weights = new Map<string, number>();
  for (const item of header.split(',')) {
    const [name = '', ...params] = item.trim().toLowerCase().split(';');
    if (name === '') continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (Number.isFinite(q) && q >= 0 && q <= 1) weights.set(name === 'x-gzip' ? 'gzip' : name, q);
  }
  const weightOf = (coding: string): number => weights.get(coding) ?? weights.get('*') ?? 0;
  // Identity needs no asking: it competes only when the client ranks it explicitly.
  const identity = weights.get('identity') ?? 0;
  let best: Coding | undefined;
  let bestWeight = 0;
  for (const coding of CODINGS) {
    if (!available.includes(coding)) continue;
    const weight = weightOf(coding);
    if (weight > bestWeight) {
      best = coding;
      bestWeight = weight;
    }
  }
  return best !== undefined && bestWeight > 0 && bestWeight >= identity ? best : undefined;
}
