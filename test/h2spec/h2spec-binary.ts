import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL('../../../test/h2spec/build', import.meta.url));

/** Where the conformance test looks for h2spec: $H2SPEC, else the checkout's .tools/h2spec. */
export const H2SPEC = process.env.H2SPEC ?? fileURLToPath(new URL('../../../.tools/h2spec', import.meta.url));

/**
 * h2spec, ready to run: the one built before, or built now by test/h2spec/build when Go is
 * there (a few seconds; never installing packages from inside `npm test`), so a new user's
 * `npm test` runs the HTTP/2 conformance suite too. Otherwise the one line that says how to
 * get it, for the test's skip reason; with PORTICO_REQUIRE_H2SPEC=1 (CI) that line is an error.
 */
export async function h2specBinary(): Promise<{ readonly path: string } | { readonly missing: string }> {
  if (existsSync(H2SPEC)) return { path: H2SPEC };
  const how = `no h2spec at ${H2SPEC}: build it with test/h2spec/build .tools/h2spec (Go, and h2spec's source in ../shared/tools/h2spec or $H2SPEC_SOURCE)`;
  let missing = how;
  if (process.env.H2SPEC === undefined && (await run('go', ['version']).then(() => true, () => false))) {
    try {
      await run(BUILD, [H2SPEC], { env: { ...process.env, H2SPEC_NO_INSTALL: '1' }, timeout: 300_000 });
      if (existsSync(H2SPEC)) return { path: H2SPEC };
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim().split('\n').pop();
      missing = `${how}; building it here failed: ${stderr ?? String(error)}`;
    }
  }
  if (process.env.PORTICO_REQUIRE_H2SPEC === '1') throw new Error(`${missing} (PORTICO_REQUIRE_H2SPEC=1: CI runs h2spec always)`);
  return { missing };
}
