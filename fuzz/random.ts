/**
 * The fuzzer's only source of chance: mulberry32, a small 32-bit PRNG, from a seed. The same seed
 * gives the same numbers on every machine and Node version, so a run (and so a finding) replays
 * exactly; Math.random cannot be seeded.
 */
export interface Random {
  /** An integer in [0, below). */
  below(below: number): number;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { below: (below) => Math.floor(next() * below) };
}

/** A seed for a run that was given none: printed at the start, so the run can be replayed. */
export function freshSeed(): number {
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** A seed as the command line or PORTICO_FUZZ_SEED gives it: an integer 0 to 2^32-1, else undefined. */
export function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const seed = Number(text);
  return seed <= 0xffff_ffff ? seed : undefined;
}
