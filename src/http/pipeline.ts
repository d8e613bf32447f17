import { describeError } from '../errors.js';
import { loggedTarget } from '../log/logged-target.js';
import type { Logger } from '../log/logger.js';
import { errorPage } from './error-page.js';
import type { Exchange } from './exchange.js';
import type { ExchangeLabel } from './exchange-observer.js';
import { compose, type Handler, type Next, type Outcome } from './handler.js';
import type { Response } from './response.js';

/** What a site's handlers may ask of the transports beyond an answer. */
export interface PipelineExtras {
  /** Whether a handler reads this exchange's body as it arrives (then no body limit applies, and `exchange.body` is set). */
  readonly streamsBody?: (exchange: Exchange) => boolean;
}

/** A pipeline of no site that logs nowhere (tests, tools); its exchanges are still counted. */
const UNLABELLED: ExchangeLabel = Object.freeze({ site: undefined, answeredBy: 'site' });

/**
 * A site's request pipeline: its chain of handlers, one catch that turns any failure into a
 * 500 page, and its label: which site it answers for, and where its exchanges are logged, for the
 * worker's ExchangeObserver (src/http/exchange-observer.ts), which sees every exchange end.
 */
export class Pipeline {
  private readonly chain: Next;

  constructor(
    handlers: readonly Handler[],
    private readonly log: Logger,
    /** What the site does to an answer it did not make (a transport's 400, 413, 414): its error pages and headers. */
    private readonly dress?: (exchange: Exchange, response: Response) => Outcome,
    private readonly extras: PipelineExtras = {},
    readonly label: ExchangeLabel = UNLABELLED,
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

  private fail(exchange: Exchange, error: unknown): Response {
    this.log.error(`${exchange.method} ${loggedTarget(exchange.target)}: ${describeError(error)}`);
    return errorPage(500, exchange.method === 'HEAD');
  }
}
