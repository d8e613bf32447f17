import { describeError } from '../errors.js';
import { loggedTarget } from '../log/logged-target.js';
import type { Logger } from '../log/logger.js';
import { errorPage } from './error-page.js';
import type { Exchange } from './exchange.js';
import { compose, type Handler, type Next, type Outcome } from './handler.js';
import type { Response } from './response.js';

/** What the transport reports once an exchange is over: the seam for access logs and metrics. */
export interface Finished {
  readonly exchange: Exchange;
  readonly status: number;
  /** Body bytes written to the client (a tunnel's: every byte to the client). */
  readonly bytesSent: number;
  /** A tunnel's bytes from the client (the request's size is worked out from its head otherwise). */
  readonly bytesReceived?: number;
  /** False when the client left, or the body was cut short. */
  readonly complete: boolean;
  readonly startedAt: number;
}

export type OnResponse = (finished: Finished) => void;

/** What a site's handlers may ask of the transports beyond an answer. */
export interface PipelineExtras {
  /** Whether a handler reads this exchange's body as it arrives (then no body limit applies, and `exchange.body` is set). */
  readonly streamsBody?: (exchange: Exchange) => boolean;
}

/**
 * A site's request pipeline: its chain of handlers, one catch that turns any failure into a
 * 500 page, and one `onResponse` seam that sees every exchange end, whichever transport carried it.
 */
export class Pipeline {
  private readonly chain: Next;
  private readonly listeners: OnResponse[] = [];

  constructor(
    handlers: readonly Handler[],
    private readonly log: Logger,
    /** What the site does to an answer it did not make (a transport's 400, 413, 414): its error pages and headers. */
    private readonly dress?: (exchange: Exchange, response: Response) => Outcome,
    private readonly extras: PipelineExtras = {},
  ) {
    this.chain = compose(handlers, (exchange) => errorPage(404, exchange.method === 'HEAD'));
  }

  /** A request the transport refused before any handler ran, answered as the site answers errors. Never throws or rejects. */
  refuse(exchange: Exchange, response: Response): Outcome {
    if (this.dress === undefined) return response;
    try {
      const outcome = this.dress(exchange, response);
      return outcome instanceof Promise ? outcome.catch(() => response) : outcome;
    } catch {
      return response;
    }
  }

  /** Answers an exchange; synchronously when every handler on the way did. Never throws or rejects. */
  handle(exchange: Exchange): Outcome {
    let outcome: Outcome;
    try {
      outcome = this.chain(exchange);
    } catch (error) {
      return this.fail(exchange, error);
    }
    return outcome instanceof Promise ? outcome.catch((error: unknown) => this.fail(exchange, error)) : outcome;
  }

  streamsBody(exchange: Exchange): boolean {
    return this.extras.streamsBody?.(exchange) ?? false;
  }

  onResponse(listener: OnResponse): void {
    this.listeners.push(listener);
  }

  /** Whether anything listens to `onResponse`: if not, transports skip timing and the record. */
  get observed(): boolean {
    return this.listeners.length > 0;
  }

  finished(finished: Finished): void {
    for (const listener of this.listeners) listener(finished);
  }

  private fail(exchange: Exchange, error: unknown): Response {
    this.log.error(`${exchange.method} ${loggedTarget(exchange.target)}: ${describeError(error)}`);
    return errorPage(500, exchange.method === 'HEAD');
  }
}
