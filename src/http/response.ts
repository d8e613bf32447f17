import type { IncomingHttpHeaders, IncomingMessage, ServerResponse as Http1Response } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/** A request as both HTTP/1.1 and HTTP/2 (compatibility API) deliver it. */
export type ServerRequest = IncomingMessage | Http2ServerRequest;
export type ServerResponse = Http1Response | Http2ServerResponse;
export type RequestHandler = (req: ServerRequest, res: ServerResponse) => void;

/** A whole response decided in memory, written by whichever transport carries it. */
export interface PreparedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Undefined for HEAD, 304 and other bodiless responses. */
  readonly body: Buffer | string | undefined;
}

/** Answers from memory when it can; undefined sends the request down the full path. */
export type FastResponder = (method: string, url: string, header: (name: string) => string | undefined) => PreparedResponse | undefined;

/** What a site offers a listener: the full handler, and the in-memory answer for cache hits. */
export interface SiteHandler {
  readonly handle: RequestHandler;
  readonly respondFast: FastResponder;
}

/** One header's value, repeated fields joined as RFC 9110 §5.3 allows. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function writePrepared(res: ServerResponse, prepared: PreparedResponse): void {
  res.writeHead(prepared.status, prepared.headers);
  if (prepared.body === undefined) res.end();
  else res.end(prepared.body);
}
