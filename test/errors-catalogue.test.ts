import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ERROR_CODES } from '../src/errors.js';

test('every error code in the catalogue is documented in docs/errors.md', async () => {
  const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  for (const code of Object.keys(ERROR_CODES)) assert.match(doc, new RegExp(`\\| \`${code}\` \\|`), `${code} is documented`);
});
