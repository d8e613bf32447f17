import type { Writable } from 'node:stream';
import type { Exchange } from '../http/exchange.js';
import type { Response } from '../http/response.js';

/**
 * How a transport hands over an exchange: the writable its response goes to, and how to write
 * the response's head on that transport. The endpoint does the rest, the same for every transport.
 */
export type Dispatch = (exchange: Exchange, out: Writable, head: (response: Response, endStream: boolean) => void) => void;
