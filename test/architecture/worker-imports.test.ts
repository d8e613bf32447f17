import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

// What a worker loads before it can listen, read from the built JavaScript (type-only imports
// are erased there; a dynamic import() inside a kind's compile is not followed, as it is not
// loaded until a site uses that kind). zod and undici cost a worker a tenth of a second or more
// each at start-up (docs/design.md, "Adding a handler kind"); the primary pays for zod alone.
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function staticImports(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, specifier] of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)';/gms)) {
      if (specifier!.startsWith('.')) visit(resolve(dirname(file), specifier!));
      else if (!specifier!.startsWith('node:')) packages.add(specifier!.split('/')[0]!);
    }
  };
  visit(resolve(SRC, entry));
  return { files, packages };
}

test('a worker loads neither zod nor undici, bcryptjs or the config loader before it listens', () => {
  const { files, packages } = staticImports('cluster/worker.js');
  for (const heavy of ['zod', 'undici', 'bcryptjs', 'yaml']) assert.ok(!packages.has(heavy), `${heavy} is in a worker's static imports: ${[...packages].join(', ')}`);
  assert.ok(![...files].some((file) => file.endsWith('config/config-file.js')), 'the config loader is not a worker\'s');
});

test('the checker sees a package the primary loads (zod, through the config loader)', () => {
  assert.ok(staticImports('config/config-file.js').packages.has('zod'));
});
