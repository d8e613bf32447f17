/**
 * `npm run fuzz [-- --seconds N] [--keep-corpus] [TARGET...]`: fuzzes each target (default: all)
 * for a bounded time, adds inputs that reach new code to fuzz/corpus/TARGET (not with
 * --keep-corpus), and stops at the first finding,
 * which it saves to fuzz/crashes/ and prints (exit 1). A finding becomes a row in a test table.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fuzz } from './fuzzer.js';
import { TARGETS } from './targets.js';

const { values, positionals } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, 'keep-corpus': { type: 'boolean', default: false } }, allowPositionals: true });
const repo = fileURLToPath(new URL('../../', import.meta.url));
const names = positionals.length > 0 ? positionals : Object.keys(TARGETS);
let failed = false;
for (const name of names) {
  const target = TARGETS[name];
  if (!target) {
    console.error(`no fuzz target ${name}: there are ${Object.keys(TARGETS).join(', ')}`);
    process.exit(2);
  }
  const result = await fuzz(target, { seconds: Number(values.seconds), corpusDir: `${repo}fuzz/corpus/${name}`, save: !values['keep-corpus'], crashDir: `${repo}fuzz/crashes/${name}`, scope: '/dist/src/' });
  console.log(`${name}: ${result.executions} inputs, ${result.corpus} in the corpus, ${result.blocks} code blocks reached${result.crash ? `; FINDING: ${result.crash.error} (input saved to ${result.crash.file})` : ''}`);
  failed ||= result.crash !== undefined;
}
process.exit(failed ? 1 : 0);
