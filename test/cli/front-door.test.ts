import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PORTICO_BIN } from '../support/portico-process.js';

const run = promisify(execFile);
const testRoot = fileURLToPath(new URL('..', import.meta.url));

test('the built portico command is executable, so npx and npm link can run it after any rebuild', async () => {
  await access(PORTICO_BIN, constants.X_OK);
  const { stdout } = await run(PORTICO_BIN, ['--version']);
  assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
});

test("npm test's launcher hands Node's runner every test file by name, top-level ones included", async () => {
  // Node 22 and 24 take a folder after --test as a module path and run nothing: files work everywhere.
  const { stdout } = await run(process.execPath, [join(testRoot, 'run-tests.js'), '--list']);
  const files = stdout.trim().split('\n');
  for (const name of ['errors-catalogue.test.js', join('cli', 'front-door.test.js'), join('tls', 'startup-race.test.js')]) {
    assert.ok(files.some((file) => file.endsWith(join('dist', 'test', name))), `${name} in:\n${stdout}`);
  }
  assert.ok(files.every((file) => file.endsWith('.test.js')));
});

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** The command lines of README.md's sh blocks. */
async function readmeCommands(): Promise<string[]> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  return [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((block) => block[1]!.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')));
}

test('the portico commands README.md shows run the built command itself, never npx or npm exec (5 to 17 s the first time on a fresh clone)', async () => {
  const commands = await readmeCommands();
  const portico = commands.filter((line) => /\bportico\b|dist\/src\/main\.js/.test(line.replace(/#.*$/, '')));
  assert.ok(portico.length >= 7, `README's portico commands:\n${portico.join('\n')}`);
  for (const line of portico) {
    assert.doesNotMatch(line, /^\s*(npx|npm exec|npm x)\b/, `copies and rebuilds the checkout first: ${line}`);
    assert.match(line, /^node dist\/src\/main\.js /, line);
  }
});

test("README.md's check command, run as written from the clone, validates the example", async () => {
  const line = (await readmeCommands()).find((candidate) => candidate.includes(' check --config '));
  assert.ok(line !== undefined);
  const { stdout } = await run('bash', ['-c', line.replace(/#.*$/, '')], { cwd: repoRoot });
  assert.match(stdout, /portico\.yaml: valid, 2 site\(s\)/);
});
