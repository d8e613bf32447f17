import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runPortico } from '../support/portico-process.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

let box: Sandbox;
let occupied: Server;
let occupiedPort: number;

before(async () => {
  box = await createSandbox();
  await writeFile(join(box.dir, 'a-file'), 'not a folder');
  occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  occupiedPort = (occupied.address() as { port: number }).port;
});

after(async () => {
  occupied.close();
  await box.remove();
});

/** A user error: exit non-zero, exactly one line on stderr, no stack trace, nothing on stdout. */
async function assertOneClearLine(args: string[], expected: RegExp): Promise<void> {
  const { code, stdout, stderr } = await runPortico(args);
  assert.notEqual(code, 0, `exit code for ${args.join(' ')}`);
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr for ${args.join(' ')}:\n${stderr}`);
  assert.match(lines[0]!, /^portico: /);
  assert.match(lines[0]!, expected);
  assert.doesNotMatch(stderr, /\n\s+at /);
  assert.equal(stdout, '');
}

function serveWith(...extra: string[]): string[] {
  return ['serve', box.site, '--bind', '127.0.0.1', '--state', box.state, '--http', '0', '--https', '0', ...extra];
}

test('an unknown flag is named', async () => {
  await assertOneClearLine(serveWith('--colour', 'blue'), /unknown option --colour .*ERR_USAGE/);
});

test('a flag without its value is named', async () => {
  await assertOneClearLine(['serve', '--http'], /--http needs a value/);
});

test('a port that is not a number is refused', async () => {
  await assertOneClearLine(serveWith('--http', 'eighty'), /--http "eighty" is not a port.*ERR_INVALID_PORT/);
});

test('a port above 65535 is refused', async () => {
  await assertOneClearLine(serveWith('--https', '70000'), /--https "70000" is not a port/);
});

test('a port already in use is named with the flag that chose it', async () => {
  await assertOneClearLine(serveWith('--https', String(occupiedPort)), new RegExp(`port ${occupiedPort} \\(--https\\) is already in use.*ERR_PORT_IN_USE`));
});

test('a root folder that does not exist is refused', async () => {
  await assertOneClearLine(['serve', join(box.dir, 'missing'), '--state', box.state], /missing does not exist.*ERR_ROOT_NOT_FOUND/);
});

test('a root that is a file is refused', async () => {
  await assertOneClearLine(['serve', join(box.dir, 'a-file'), '--state', box.state], /a-file is not a folder.*ERR_ROOT_NOT_DIRECTORY/);
});

test('a state directory that cannot be created is refused', async () => {
  await assertOneClearLine(serveWith('--state', join(box.dir, 'a-file', 'state')), /state directory .* is not writable.*ERR_STATE_DIR_NOT_WRITABLE/);
});

test('an unknown key type lists the ones there are', async () => {
  await assertOneClearLine(serveWith('--key-type', 'dsa-1024'), /--key-type "dsa-1024" is not a key type: use one of ec-p256, ec-p384, rsa-2048/);
});

test('a worker count of zero is refused', async () => {
  await assertOneClearLine(serveWith('--workers', '0'), /--workers "0" is not a worker count/);
});

test('turning off both listeners is refused', async () => {
  await assertOneClearLine(['serve', box.site, '--http', 'off', '--https', 'off'], /nothing to serve/);
});

test('an unknown command is named, with the command it was probably meant to be', async () => {
  await assertOneClearLine(['serv'], /unknown command "serv": did you mean serve\?/);
});

test('a mistyped flag gets a suggestion', async () => {
  await assertOneClearLine(serveWith('--brwose'), /unknown option --brwose for serve \(did you mean --browse\?\).*ERR_USAGE/);
  await assertOneClearLine(serveWith('--hots', 'example.test'), /did you mean --host\?/);
});

test('-p and --port, which other servers use, point at --http and --https', async () => {
  await assertOneClearLine(['serve', box.site, '-p', '8080'], /unknown option -p for serve \(did you mean --http or --https\?\).*ERR_USAGE/);
  await assertOneClearLine(['serve', box.site, '--port', '8080'], /unknown option --port for serve \(did you mean --http or --https\?\).*ERR_USAGE/);
});

test('validate and fmt, as caddy names them, point at check', async () => {
  await assertOneClearLine(['validate', '--config', 'portico.yaml'], /unknown command "validate": did you mean check\?.*ERR_USAGE/);
  await assertOneClearLine(['fmt'], /unknown command "fmt": did you mean check\?.*ERR_USAGE/);
});

test('in config mode, a port in use is named by its key in the file, not by a flag config mode refuses', async () => {
  const config = join(box.dir, 'busy.yaml');
  await writeFile(config, `http: off\nhttps: ${occupiedPort}\nbind: 127.0.0.1\nworkers: 1\nstate: ${box.state}\nsites:\n  - { name: site, hosts: [localhost], root: ${box.site} }\n`);
  const { code, stderr } = await runPortico(['serve', '--config', config]);
  assert.equal(code, 1);
  const line = stderr.split('\n').find((candidate) => candidate.includes('ERR_PORT_IN_USE'));
  assert.equal(line, `portico: port ${occupiedPort} (https: in ${config}) is already in use: stop the program using it or choose another port by changing https: in ${config} (ERR_PORT_IN_USE)`, stderr);
  assert.doesNotMatch(stderr, /--https/);
});

test('an IPv6 address with a zone id is refused as a --host: a certificate cannot name it', async () => {
  await assertOneClearLine(serveWith('--host', 'fe80::1%lo'), /--host "fe80::1%lo" has an IPv6 zone id.*ERR_INVALID_OPTION/);
});

test('several problems are all reported, one line each', async () => {
  const { code, stderr } = await runPortico(serveWith('--http', 'x', '--workers', '0'));
  assert.equal(code, 1);
  assert.deepEqual(
    stderr.trimEnd().split('\n').map((line) => /\((ERR_\w+)\)$/.exec(line)?.[1]),
    ['ERR_INVALID_PORT', 'ERR_INVALID_OPTION'],
  );
});

test('with a port in use and four workers, start-up fails at once: every worker stops by itself', async () => {
  // A worker still loading when the primary gave up used to miss the shutdown, be started
  // anyway, and live until the forced kill 12 s later.
  const run = runPortico(serveWith('--workers', '4', '--https', String(occupiedPort)));
  const deadline = new Promise<'still running'>((resolve) => setTimeout(resolve, 8_000, 'still running').unref());
  const result = await Promise.race([run, deadline]);
  assert.notEqual(result, 'still running', 'the primary exits before the 12 s forced kill');
  if (result === 'still running') return;
  assert.equal(result.code, 1);
  assert.match(result.stderr, /is already in use.*ERR_PORT_IN_USE/);
});

test('ca root without a root CA says how to create one, exit 1', async () => {
  const { code } = await runPortico(['ca', 'root', '--state', join(box.dir, 'empty-state')]);
  assert.equal(code, 1);
  await assertOneClearLine(['ca', 'root', '--state', join(box.dir, 'empty-state')], /no root CA in .*run portico serve.*ERR_NO_ROOT_CA/);
});

test('--help, serve --help and --version print to stdout and exit 0', async () => {
  for (const args of [['--help'], ['serve', '--help'], ['ca', '--help']]) {
    const { code, stdout } = await runPortico(args);
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: portico/);
  }
  const { code, stdout } = await runPortico(['--version']);
  assert.equal(code, 0);
  assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
});
