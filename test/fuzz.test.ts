import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fuzz } from '../fuzz/fuzzer.js';
import { TARGETS } from '../fuzz/targets.js';

// A few seconds of coverage-guided fuzzing per target on every run, from the corpus in the
// repository (`npm run fuzz` runs longer and grows it). A finding fails the test and names the
// saved input; it then becomes a row in the module's own table test.
const corpusRoot = fileURLToPath(new URL('../../fuzz/corpus/', import.meta.url));

for (const [name, target] of Object.entries(TARGETS)) {
  test(`fuzzing ${name} for 2 s finds nothing`, async (t) => {
    const crashDir = await mkdtemp(join(tmpdir(), 'portico-fuzz-'));
    try {
      const result = await fuzz(target, { seconds: 2, corpusDir: join(corpusRoot, name), save: false, crashDir, scope: '/dist/src/' });
      t.diagnostic(`${result.executions} inputs, ${result.blocks} code blocks reached`);
      assert.equal(result.crash, undefined, result.crash && `${result.crash.error}: ${JSON.stringify(result.crash.input.toString('latin1'))}`);
      assert.ok(result.executions > 100, 'it ran');
    } finally {
      await rm(crashDir, { recursive: true, force: true });
    }
  });
}
