/**
 * The Node ceiling: a node:cluster of workers answering every request from memory with the same
 * stack Portico uses (node:http for HTTP, node:http2 with HTTP/1.1 fallback for HTTPS), and
 * nothing else: no file system, no validators beyond one fixed ETag, no logging.
 *
 *   node bare-node-server.js SITE CERT KEY HTTP_PORT HTTPS_PORT WORKERS
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const [site, cert, key, httpPort, httpsPort, workers] = process.argv.slice(2) as [string, string, string, string, string, string];

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < Number(workers); i++) cluster.fork();
} else {
  const files = new Map<string, { body: Buffer; gzip: Buffer; type: string }>();
  for (const [name, type] of [['1k.html', 'text/html'], ['100k.txt', 'text/plain'], ['10m.bin', 'application/octet-stream']] as const) {
    const body = readFileSync(join(site, name));
    files.set(`/${name}`, { body, gzip: gzipSync(body, { level: 6 }), type });
  }
  const handler = (req: { url?: string; headers: Record<string, string | string[] | undefined> }, res: import('node:http').ServerResponse | import('node:http2').Http2ServerResponse): void => {
    const file = files.get(req.url ?? '');
    if (!file) {
      res.writeHead(404);
      res.end();
      return;
    }
    if (req.headers['if-none-match'] === '"bare"') {
      res.writeHead(304, { etag: '"bare"' });
      res.end();
      return;
    }
    const gzip = String(req.headers['accept-encoding'] ?? '').includes('gzip') && file.type.startsWith('text/');
    const body = gzip ? file.gzip : file.body;
    res.writeHead(200, { 'content-type': file.type, 'content-length': body.length, etag: '"bare"', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    res.end(body);
  };
  createServer(handler).listen(Number(httpPort), '127.0.0.1');
  createSecureServer({ allowHTTP1: true, cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' }, handler).listen(Number(httpsPort), '127.0.0.1');
}
