import type { IncomingMessage, ServerResponse as Http1Response } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/** A request as both HTTP/1.1 and HTTP/2 (compatibility API) deliver it. */
export type ServerRequest = IncomingMessage | Http2ServerRequest;
export type ServerResponse = Http1Response | Http2ServerResponse;
export type RequestHandler = (req: ServerRequest, res: ServerResponse) => void;
