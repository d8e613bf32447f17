import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
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
