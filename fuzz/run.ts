/**
 * `npm run fuzz [-- --seconds N] [--iterations N] [--seed N] [--keep-corpus] [TARGET...]`:
 * fuzzes each target (default: all) for a bounded time or count, adds inputs that reach new code
 * to fuzz/corpus/TARGET (not with --keep-corpus), and stops at the first finding, which it saves
 * to fuzz/crashes/TARGET/ and prints with its seed, iteration and hex (exit 1). The seed is
 * printed at the start: `--seed N` (or PORTICO_FUZZ_SEED=N) with the same corpus makes the same
 * inputs again. `--replay FILE TARGET` runs one saved input. A finding becomes a row in a test
 * table and its input a file in fuzz/corpus/TARGET.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describeFinding } from './finding.js';
import { fuzz, replay } from './fuzzer.js';
import { freshSeed, parseSeed } from './random.js';
import { TARGETS } from './targets.js';

const { values, positionals } = parseArgs({
  options: { seconds: { type: 'string' }, iterations: { type: 'string' }, seed: { type: 'string' }, replay: { type: 'string' }, 'keep-corpus': { type: 'boolean', default: false } },
  allowPositionals: true,
});
const repo = fileURLToPath(new URL('../../', import.meta.url));
const names = positionals.length > 0 ? positionals : Object.keys(TARGETS);
for (const name of names) {
  if (!TARGETS[name]) {
    console.error(`no fuzz target ${name}: there are ${Object.keys(TARGETS).join(', ')}`);
    process.exit(2);
  }
}

if (values.replay !== undefined) {
  const input = await readFile(values.replay);
  let failed = false;
  for (const name of names) {
    const error = await replay(TARGETS[name]!, input);
    console.log(`${name}: ${error === undefined ? 'no finding' : `FINDING: ${error}`}`);
    failed ||= error !== undefined;
  }
  process.exit(failed ? 1 : 0);
}

const given = values.seed ?? process.env.PORTICO_FUZZ_SEED;
const seed = given === undefined ? freshSeed() : parseSeed(given);
if (seed === undefined) {
  console.error(`--seed (or PORTICO_FUZZ_SEED) must be an integer from 0 to 4294967295, not ${given}`);
  process.exit(2);
}
const iterations = values.iterations === undefined ? undefined : Number(values.iterations);
const seconds = values.seconds === undefined ? (iterations === undefined ? 30 : undefined) : Number(values.seconds);
console.log(`fuzzing with seed ${seed} (replay: --seed ${seed})`);
let failed = false;
for (const name of names) {
  const result = await fuzz(TARGETS[name]!, { name, seed, iterations, seconds, corpusDir: `${repo}fuzz/corpus/${name}`, save: !values['keep-corpus'], crashDir: `${repo}fuzz/crashes/${name}`, scope: '/dist/src/' });
  console.log(`${name}: ${result.executions} inputs, ${result.corpus} in the corpus, ${result.blocks} code blocks reached`);
  if (result.crash) console.log(describeFinding(result.crash));
  failed ||= result.crash !== undefined;
}
process.exit(failed ? 1 : 0);
