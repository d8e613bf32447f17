import { type IncomingMessage, request } from 'node:http';

/**
 * A client that downloads `path` at about `rate` bytes per second (it pauses once it has read
 * its budget for each tenth of a second). Returns its stop function; `onBytes` sees every chunk.
 */
export function slowClient(port: number, path: string, rate: number, onBytes: (n: number) => void = () => undefined): () => void {
  let budget = rate / 10;
  let response: IncomingMessage | undefined;
  const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
    response = res;
    res.on('data', (chunk: Buffer) => {
      onBytes(chunk.length);
      budget -= chunk.length;
      if (budget <= 0) res.pause();
    });
  });
  req.on('error', () => undefined);
  req.end();
  const tick = setInterval(() => {
    budget = rate / 10;
    response?.resume();
  }, 100);
  return () => {
    clearInterval(tick);
    req.destroy();
  };
}
