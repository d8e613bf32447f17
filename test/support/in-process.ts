import { errorPage } from '../../src/http/error-page.js';
import { type Exchange, headerGetter, splitTarget } from '../../src/http/exchange.js';
import type { Handler } from '../../src/http/handler.js';
import { RequestState } from '../../src/http/request-state.js';
import { isFileSlice, type Response } from '../../src/http/response.js';
import type { Logger } from '../../src/log/logger.js';
import type { Reply } from './http-request.js';

/** A logger that keeps its lines, so a test can read what would have gone to stderr. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, debug: keep('DEBUG'), info: keep('INFO'), warn: keep('WARN'), error: keep('ERROR') };
}

/** An exchange as a transport would build it. */
export function exchange(method: string, target: string, headers: Record<string, string> = {}): Exchange {
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { method, target, ...splitTarget(target), protocol: 'HTTP/1.1', state: new RequestState(), remoteAddress: '127.0.0.1', host: lower.host?.split(':')[0] ?? '', authority: lower.host ?? '', secure: false, servername: undefined, localAddress: '127.0.0.1', localPort: 8080, headers: lower, header: headerGetter(lower) };
}

/** Reads a response's whole body (bytes, or slices of its open files) and releases it, as a transport would. */
export async function collect(response: Response): Promise<Buffer> {
  try {
    const { body } = response;
    if (body.kind === 'none' || body.kind === 'upgrade') return Buffer.alloc(0);
    if (body.kind === 'bytes') return Buffer.from(body.data);
    const parts: Buffer[] = [];
    if (body.kind === 'stream') {
      for await (const chunk of body.stream) parts.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(parts);
    }
    for (const segment of body.segments) {
      if (!isFileSlice(segment)) parts.push(Buffer.from(segment));
      else {
        const length = segment.end - segment.start + 1;
        const { buffer, bytesRead } = await segment.handle.read(Buffer.alloc(length), 0, length, segment.start);
        parts.push(buffer.subarray(0, bytesRead));
      }
    }
    return Buffer.concat(parts);
  } finally {
    response.release?.();
  }
}

/** Hands a handler one request in-process and returns what a client would receive. */
export async function handle(handler: Handler, method: string, target: string, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await handler(exchange(method, target, headers), (unanswered) => errorPage(404, unanswered.method === 'HEAD'));
  return { status: response.status, headers: { ...response.headers }, body: await collect(response) };
}
