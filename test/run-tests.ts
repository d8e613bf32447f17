/**
 * `npm test`'s launcher: finds every compiled `*.test.js` under dist/test and hands the list to
 * Node's test runner. Node 20 takes folders on `--test`, Node 22 and 24 take files and globs
 * (a folder there is a module path, and nothing runs): a list of files works on all three.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const testRoot = fileURLToPath(new URL('.', import.meta.url));

export function findTestFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? findTestFiles(join(folder, entry.name)) : entry.name.endsWith('.test.js') ? [join(folder, entry.name)] : []))
    .sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = findTestFiles(testRoot).map((file) => relative(process.cwd(), file));
  if (process.argv.includes('--list')) {
    process.stdout.write(`${files.join('\n')}\n`);
  } else {
    const concurrency = process.env.PORTICO_TEST_CONCURRENCY ?? '2';
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...files], { stdio: 'inherit' });
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  }
}
