import type { Plan } from '../config/plan.js';
import type { Logger } from '../log/logger.js';
import type { CertificateSources, CertificateStatus } from './certificate-service.js';
import { type ExchangeCounts, PRIMARY_REQUESTS } from './messages.js';
import type { Reloader, ReloadResult } from './reloader.js';
import type { Supervisor, WorkerState } from './supervisor.js';

export type { ReloadResult };

/** How long `counters()` waits for each worker's answer. */
const COUNTERS_TIMEOUT_MS = 5_000;

export interface ControlStatus {
  readonly workers: readonly WorkerState[];
  readonly sites: readonly { readonly name: string; readonly hosts: readonly string[] }[];
  readonly certificates: readonly CertificateStatus[];
  /** The config file being served; undefined when started from flags. */
  readonly configFile: string | undefined;
  /** When the primary started (ms since the epoch). */
  readonly since: number;
}

export interface ControlCounters {
  /** The sum over the workers that answered. */
  readonly counts: ExchangeCounts;
  /** How many workers answered, and how many live ones did not in time. */
  readonly workers: number;
  readonly unanswered: number;
}

/**
 * The one object that exposes what can be done to a running Portico: SIGHUP (and so `portico
 * reload`) comes through here, and so will the admin API. Each operation is answered with a
 * typed value, or fails with a PorticoError of its own code.
 */
export class Control {
  private readonly since = Date.now();

  constructor(
    private readonly plan: { readonly current: Plan },
    private readonly supervisor: Supervisor,
    private readonly certificates: CertificateSources,
    private readonly reloader: Reloader,
    private readonly log: Logger,
  ) {}

  status(): ControlStatus {
    const plan = this.plan.current;
    return {
      workers: this.supervisor.workers(),
      sites: plan.serving.sites.map((site) => ({ name: site.name, hosts: site.hosts })),
      certificates: this.certificates.status(),
      configFile: plan.configFile,
      since: this.since,
    };
  }

  /** Reads the config file again and applies it (or refuses it); `by` says who asked, for the log. */
  reload(by = 'control'): Promise<ReloadResult> {
    this.log.info(`control: reload asked for by ${by}`);
    return this.reloader.reload();
  }

  /**
   * Renews a certificate source now and resolves with the certificate it serves then (an internal
   * one: a new leaf, already sent to every worker). ERR_UNKNOWN_CERTIFICATE for an id the running
   * configuration does not have; ERR_CERTIFICATE_NOT_RENEWABLE for a site's own files.
   */
  renew(id: string, by = 'control'): Promise<CertificateStatus> {
    return this.certificates.renew(id, `asked for by ${by}`);
  }

  /** Every live worker's exchange counters, asked over IPC, summed. */
  async counters(): Promise<ControlCounters> {
    const live = this.supervisor.live();
    const answers = await Promise.allSettled(live.map((worker) => worker.ask('its exchange counters', { kind: 'counters' }, PRIMARY_REQUESTS.counters.reply, COUNTERS_TIMEOUT_MS)));
    const counts = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
    return { counts: sumCounts(counts), workers: counts.length, unanswered: live.length - counts.length };
  }
}

function sumCounts(all: readonly ExchangeCounts[]): ExchangeCounts {
  const sum = (pick: (counts: ExchangeCounts) => number): number => all.reduce((total, counts) => total + pick(counts), 0);
  return {
    total: sum((c) => c.total),
    byStatus: { '1xx': sum((c) => c.byStatus['1xx']), '2xx': sum((c) => c.byStatus['2xx']), '3xx': sum((c) => c.byStatus['3xx']), '4xx': sum((c) => c.byStatus['4xx']), '5xx': sum((c) => c.byStatus['5xx']) },
    byAnswer: { site: sum((c) => c.byAnswer.site), 'not-found': sum((c) => c.byAnswer['not-found']), misdirected: sum((c) => c.byAnswer.misdirected), acme: sum((c) => c.byAnswer.acme) },
    tunnels: sum((c) => c.tunnels),
    incomplete: sum((c) => c.incomplete),
    bytesSent: sum((c) => c.bytesSent),
    bytesReceived: sum((c) => c.bytesReceived),
  };
}
