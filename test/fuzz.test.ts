import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeFinding } from '../fuzz/finding.js';
import { fuzz } from '../fuzz/fuzzer.js';
import { parseSeed } from '../fuzz/random.js';
import { TARGETS } from '../fuzz/targets.js';

// A bounded run of coverage-guided fuzzing per target on every `npm test`, from the corpus in the
// repository (`npm run fuzz` runs longer and grows it): a fixed count of inputs from a fixed seed,
// so a red run is red again on any machine and replays from what it prints (docs/security.md).
// PORTICO_FUZZ_SEED=N tries another seed. A finding fails the test; it then becomes a row in the
// module's own table test and a file in fuzz/corpus/TARGET.
const corpusRoot = fileURLToPath(new URL('../../fuzz/corpus/', import.meta.url));
const SEED = parseSeed(process.env.PORTICO_FUZZ_SEED) ?? 20;
/** Inputs per target: under a second each on a loaded two-core machine (coverage is taken after every input). */
const ITERATIONS: Record<string, number> = { 'config-file': 300 };
const DEFAULT_ITERATIONS = 500;

async function fuzzOnce(name: string, iterations: number): Promise<Awaited<ReturnType<typeof fuzz>>> {
  const crashDir = await mkdtemp(join(tmpdir(), 'portico-fuzz-'));
  try {
    return await fuzz(TARGETS[name]!, { name, seed: SEED, iterations, corpusDir: join(corpusRoot, name), save: false, crashDir, scope: '/dist/src/' });
  } finally {
    await rm(crashDir, { recursive: true, force: true });
  }
}

for (const name of Object.keys(TARGETS)) {
  const iterations = ITERATIONS[name] ?? DEFAULT_ITERATIONS;
  test(`fuzzing ${name} with ${iterations} inputs from seed ${SEED} finds nothing`, async (t) => {
    const result = await fuzzOnce(name, iterations);
    t.diagnostic(`${result.executions} inputs, ${result.blocks} code blocks reached`);
    assert.equal(result.crash, undefined, result.crash && describeFinding(result.crash));
    assert.equal(result.executions, iterations, 'it ran them all');
  });
}

test('the same seed and corpus make the same inputs: a run replays', async () => {
  const [first, second] = [await fuzzOnce('client-hello', 200), await fuzzOnce('client-hello', 200)];
  assert.equal(second.digest, first.digest);
});
