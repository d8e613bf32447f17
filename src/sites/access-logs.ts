import type { AccessLogPlan } from '../config/plan.js';
import type { Logger } from '../log/logger.js';
import { W3cLog } from '../log/w3c-log.js';
import { PORTICO_VERSION } from '../version.js';

/**
 * A worker's access logs, one per folder and field list, shared by every configuration that
 * names them: a reload keeps a log that is still wanted (its buffered lines and open file carry
 * on) and retires the rest, which flush and close. A retired log whose disk refuses its last
 * lines keeps retrying them, and is still written (or its lines counted) when the worker exits.
 */
export class AccessLogs {
  private readonly logs = new Map<string, W3cLog>();
  private readonly retired = new Set<W3cLog>();

  constructor(
    private readonly log: Logger,
    private readonly now?: () => number,
  ) {}

  use(plan: AccessLogPlan): W3cLog {
    const key = keyOf(plan);
    let log = this.logs.get(key);
    if (log === undefined) {
      log = new W3cLog({ dir: plan.dir, fields: plan.fields, software: `Portico ${PORTICO_VERSION}`, log: this.log, ...(this.now ? { now: this.now } : {}) });
      this.logs.set(key, log);
    }
    return log;
  }

  /** Keeps the logs these plans name; the others are retired (in-flight exchanges may still write a last line). */
  retain(plans: readonly AccessLogPlan[]): void {
    const wanted = new Set(plans.map(keyOf));
    for (const log of this.retired) if (log.idle) this.retired.delete(log);
    for (const [key, log] of this.logs) {
      if (wanted.has(key)) continue;
      log.retire();
      this.logs.delete(key);
      this.retired.add(log);
    }
  }

  /** Closes every file after writing what is buffered; the next line opens it again (logrotate). */
  reopen(): void {
    for (const log of this.logs.values()) log.reopen();
  }

  /** Before the worker exits: writes every buffered line now; what the disk refuses is counted and reported. */
  flush(): void {
    for (const log of [...this.logs.values(), ...this.retired]) log.close();
  }
}

function keyOf(plan: AccessLogPlan): string {
  return `${plan.dir}\0${plan.fields.join(' ')}`;
}
