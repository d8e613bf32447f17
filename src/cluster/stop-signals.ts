import type { Logger } from '../log/logger.js';

/** Signals closer together than this are one interrupt delivered twice. */
const REPEATED_SIGNAL_MS = 300;

export interface Stoppable {
  readonly isStopping: boolean;
  /** Drains: requests in flight finish. */
  drain(signal: NodeJS.Signals): void;
  /** Stops now, abandoning requests in flight. */
  force(signal: NodeJS.Signals): void;
  /** Workers still running. */
  draining(): number;
}

/**
 * SIGINT and SIGTERM: the first drains; a second one stops at once, as Caddy and most servers
 * do. A repeat within REPEATED_SIGNAL_MS is the same interrupt delivered twice — under `npm
 * start`, Ctrl-C reaches the process group and npm forwards it again — so it is not a second.
 */
export function handleStopSignals(target: Stoppable, log: Logger): void {
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!target.isStopping) {
      firstSignalAt = Date.now();
      target.drain(signal);
      setTimeout(() => {
        const draining = target.draining();
        if (draining > 0) log.info(`still draining ${draining} worker(s); Ctrl-C again stops at once`);
      }, REPEATED_SIGNAL_MS).unref();
      return;
    }
    const since = Date.now() - firstSignalAt;
    if (since < REPEATED_SIGNAL_MS) return log.debug(`ignored ${signal} ${since} ms after the first: the same interrupt, delivered twice`);
    target.force(signal);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}
