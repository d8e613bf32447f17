/**
 * A Node static server people reach for (`http-server`, `serve`; pinned in bench/peers), run as
 * its users run it, from its own command line: one process for HTTP and one for HTTPS, since
 * each serves one of them. This wrapper is the one process bench/run starts and stops, so the
 * pair is measured (memory, start-up) and stopped as one server.
 *
 *   node peer-server.js http-server|serve SITE CERT KEY HTTP_PORT HTTPS_PORT
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [which, site, cert, key, httpPort, httpsPort] = process.argv.slice(2);
if (!site || !cert || !key || !httpPort || !httpsPort || (which !== 'http-server' && which !== 'serve')) {
  console.error('usage: peer-server.js http-server|serve SITE CERT KEY HTTP_PORT HTTPS_PORT');
  process.exit(2);
}
const peers = fileURLToPath(new URL('../../bench/peers/node_modules/', import.meta.url));

function command(port: string, tls: boolean): string[] {
  if (which === 'http-server') return [`${peers}http-server/bin/http-server`, site!, '-a', '127.0.0.1', '-p', port, '--silent', ...(tls ? ['-S', '-C', cert!, '-K', key!] : [])];
  return [`${peers}serve/build/main.js`, site!, '-l', `tcp://127.0.0.1:${port}`, '--no-request-logging', '--no-clipboard', '--no-port-switching', ...(tls ? ['--ssl-cert', cert!, '--ssl-key', key!] : [])];
}

// The runtime this wrapper runs on (bench/run --node) runs the peer too.
const children: ChildProcess[] = [command(httpPort, false), command(httpsPort, true)].map((args) => spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
let exited = 0;
for (const child of children) {
  child.once('exit', (code) => {
    if (++exited === children.length) process.exit(0);
    // One of the pair gone: the server is broken; stop the other too.
    if (code !== 0) for (const other of children) other.kill('SIGTERM');
  });
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => children.forEach((child) => child.kill('SIGTERM')));
