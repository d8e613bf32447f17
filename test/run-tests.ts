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

/**
 * The files that take longest (about 15 to 60 s each, mostly waiting: on leases, timeouts, other
 * processes), started first so that they overlap the many short ones instead of trailing at the
 * end with one slot idle. A file missing from this list only runs later; nothing else depends on it.
 */
const LONGEST_FIRST = [
  'tls/fleet',
  'cluster/chaos',
  'server/finished-connections',
  'server/testssl',
  'server/h2spec',
  'tls/redis-outage',
  'tls/storage-faults',
  'cli/bad-input',
  'config/named-files',
  'routes/routes-upstream-faults',
  'proxy/proxy-transports',
];

/** The test files in the order they start: the known long ones first, then the rest by name. */
export function inStartOrder(files: readonly string[]): string[] {
  const rank = (file: string): number => {
    const at = LONGEST_FIRST.findIndex((name) => file.endsWith(`${name}.test.js`));
    return at === -1 ? LONGEST_FIRST.length : at;
  };
  return [...files].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = inStartOrder(findTestFiles(testRoot).map((file) => relative(process.cwd(), file)));
  if (process.argv.includes('--list')) {
    process.stdout.write(`${files.join('\n')}\n`);
  } else {
    // Three at a time on two cores: most files spend their time waiting on other processes, and two left a core idle a third of the run.
    const concurrency = process.env.PORTICO_TEST_CONCURRENCY ?? '3';
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...files], { stdio: 'inherit' });
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  }
}
