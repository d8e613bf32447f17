import type { Parsed } from './flags.js';

const UNIT_BYTES: Record<string, number> = { '': 1, b: 1, kb: 1_000, mb: 1_000_000, gb: 1_000_000_000, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** A size in bytes from a number or `512KiB`, `1MiB`, `2GB` (binary and decimal units). */
export function parseSize(value: number | string): Parsed<number> {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? { value } : { problem: `${value} is not a number of bytes` };
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? UNIT_BYTES[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) return { problem: `${JSON.stringify(value)} is not a size; write bytes as a number, or 512KiB, 1MiB, 2GiB` };
  return { value: Math.round(Number(match[1]) * unit) };
}
