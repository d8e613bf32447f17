import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { join } from 'node:path';
import { createRootCa, issueLeaf } from '../../src/tls/internal-ca/internal-ca.js';
import { freePort } from './sandbox.js';

export interface Pebble {
  /** The ACME directory URL. */
  readonly directory: string;
  /** A file with the root of Pebble's own HTTPS certificate (config key `ca`). */
  readonly tlsRootFile: string;
  /** The ports Pebble validates http-01 and tls-alpn-01 on: give them to Portico. */
  readonly httpPort: number;
  readonly httpsPort: number;
  /** Everything Pebble has logged so far. */
  log(): string;
  /** How many orders Pebble has created so far. */
  orders(): number;
  /** Pebble's issuing root, from its management API: what the certificates it issues chain to. */
  root(): Promise<string>;
  /** Makes a name resolve to this one address (pebble-challtestsrv answers Pebble's DNS). */
  resolve(name: string, address: string): Promise<void>;
  stop(): void;
}

/**
 * A real ACME CA: Debian's Pebble, with pebble-challtestsrv as its DNS so every name resolves to
 * 127.0.0.1, validating against whatever listens there on `httpPort` and `httpsPort`.
 */
export async function startPebble(dir: string): Promise<Pebble> {
  const children: ChildProcess[] = [];
  let pebbleLog = '';
  const start = (command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<void> => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return new Promise((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (command === 'pebble') pebbleLog += chunk.toString();
        if (ready.test(output)) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`${command} exited (${code}) before it was ready:\n${output}`)));
    });
  };
  // Pebble's own HTTPS certificate, from a CA of the test's; valid for years, so that a Portico
  // whose clock a test moves forward (libfaketime) still trusts the directory.
  const tlsRoot = await createRootCa(Date.now());
  const leaf = await issueLeaf(tlsRoot, ['localhost', '127.0.0.1'], 'ec-p256', { notBefore: Date.now() - 60_000, notAfter: Date.now() + 8 * 365 * 86_400_000 });
  const tlsRootFile = join(dir, 'pebble-tls-root.pem');
  await writeFile(tlsRootFile, tlsRoot.certPem);
  await writeFile(join(dir, 'pebble.crt'), leaf.certPem);
  await writeFile(join(dir, 'pebble.key'), leaf.keyPem);
  const [httpPort, httpsPort, acmePort, dnsPort, challManagement, managementPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  await start('pebble-challtestsrv', ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challManagement}`], {}, /Starting management server/);
  await writeFile(
    join(dir, 'pebble.json'),
    JSON.stringify({ pebble: { listenAddress: `127.0.0.1:${acmePort}`, managementListenAddress: `127.0.0.1:${managementPort}`, certificate: join(dir, 'pebble.crt'), privateKey: join(dir, 'pebble.key'), httpPort, tlsPort: httpsPort, ocspResponderURL: '', externalAccountBindingRequired: false } }),
  );
  await start('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' }, /Listening on: 127\.0\.0\.1/);
  const tlsRootPem = await readFile(tlsRootFile, 'utf8');
  return {
    directory: `https://127.0.0.1:${acmePort}/dir`,
    tlsRootFile,
    httpPort,
    httpsPort,
    log: () => pebbleLog,
    orders: () => pebbleLog.match(/Added order /g)?.length ?? 0,
    root: () =>
      new Promise((resolve, reject) => {
        get(`https://127.0.0.1:${managementPort}/roots/0`, { ca: tlsRootPem }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      }),
    resolve: async (name, address) => {
      // add-a adds to what a name has: clear it first, so the name has this one address.
      await fetch(`http://127.0.0.1:${challManagement}/clear-a`, { method: 'POST', body: JSON.stringify({ host: `${name}.` }) });
      await fetch(`http://127.0.0.1:${challManagement}/add-a`, { method: 'POST', body: JSON.stringify({ host: `${name}.`, addresses: [address] }) });
    },
    stop: () => {
      for (const child of children) child.kill('SIGKILL');
    },
  };
}
