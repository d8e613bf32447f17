import type { ClientHttp2Session } from 'node:http2';

/** The status of a stream the HTTP/2 layer reset before any response (a malformed request). */
export const STREAM_RESET = -1;

/** One GET on an HTTP/2 session, `:path` sent exactly as given. */
export function http2Get(session: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let status = 0;
    let body = '';
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ERR_HTTP2_STREAM_ERROR' ? resolve({ status: STREAM_RESET, body }) : reject(error)));
  });
}

/** One request with the headers given (`:method`, `:path`, `:authority`, …), no body; resolves with its status and body. */
export function http2Send(session: ClientHttp2Session, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let status = 0;
    let body = '';
    stream.on('response', (received) => (status = Number(received[':status'])));
    stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
  });
}
