import type { AcmeCertificatePlan } from '../../config/plan.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { TlsBundle } from '../bundle.js';
import { freezeBundle } from '../bundle.js';
import type { Issuer } from '../issuer.js';
import { Keyring } from '../keyring.js';
import type { Storage } from '../storage/storage.js';
import { acmeLeafId, AcmeIssuer, type ChallengeBoard } from './acme-issuer.js';

/** Waits between failed orders: never fast against a CA; each with ±20 % jitter. */
const RETRY_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000] as const;

/**
 * A site's certificate from an ACME CA. The site is served at once with a certificate from the
 * internal CA (handshakes are held only until that exists, as for any site); the ACME order runs
 * beside it, and its certificate replaces the internal one on every worker, under the same id,
 * when it has been issued, stored and read back. A failed order is logged with the CA's problem
 * and tried again after a growing wait. Each keyring keeps its own exactly-once lock and renewal.
 */
export class AcmeCertificate {
  private readonly internal: Keyring;
  private readonly acme: Keyring;
  private acmeBundle: TlsBundle | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly plan: AcmeCertificatePlan,
    storage: Storage,
    internalIssuer: Issuer,
    board: ChallengeBoard,
    private readonly log: Logger,
    private readonly publish: (bundle: TlsBundle) => void,
    private readonly onIssued: (bundle: TlsBundle) => void,
  ) {
    const asSite = (bundle: TlsBundle): TlsBundle => freezeBundle({ ...bundle, id: plan.id });
    this.internal = new Keyring(storage, internalIssuer, { hosts: plan.hosts, keyType: plan.keyType, lifetimeMs: plan.lifetimeMs }, log, (bundle) => {
      if (this.acmeBundle === undefined) this.publish(asSite(bundle));
    });
    this.acme = AcmeCertificate.keyring(plan, storage, board, log, (bundle) => {
      const first = this.acmeBundle === undefined;
      this.acmeBundle = asSite(bundle);
      this.publish(this.acmeBundle);
      if (first) this.onIssued(this.acmeBundle);
    });
  }

  /** The keyring of the ACME certificate alone (its storage id is the CA account's and the hosts'), as `portico cert renew` uses it too. */
  static keyring(plan: AcmeCertificatePlan, storage: Storage, board: ChallengeBoard, log: Logger, publish: (bundle: TlsBundle) => void): Keyring {
    const storageId = acmeLeafId(plan);
    return new Keyring(storage, new AcmeIssuer(storage, plan, board, log), { hosts: plan.hosts, keyType: plan.keyType, lifetimeMs: plan.lifetimeMs, storageId }, log, publish);
  }

  get bundle(): TlsBundle | undefined {
    return this.acmeBundle ?? this.internal.bundle;
  }

  async refresh(): Promise<void> {
    await this.internal.refresh();
    await this.acme.refresh();
  }

  /** Resolves with the internal certificate; the ACME one follows when the CA has issued it. */
  async start(): Promise<TlsBundle> {
    const first = await this.internal.start();
    this.order(0);
    return this.acmeBundle ?? freezeBundle({ ...first, id: this.plan.id });
  }

  renewNow(reason: string): void {
    (this.acmeBundle ? this.acme : this.internal).renewNow(reason);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.internal.stop();
    this.acme.stop();
  }

  private order(attempt: number): void {
    if (this.stopped) return;
    this.acme.start().then(
      () => undefined,
      (error: unknown) => {
        if (this.stopped) return;
        const base = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!;
        const wait = Math.round(base * (0.8 + Math.random() * 0.4));
        this.log.error(`ACME order ${attempt + 1} for ${this.plan.hosts.join(', ')} failed, still serving the internal certificate; next try in ${Math.round(wait / 1000)} s: ${describeError(error)}`);
        this.retry = setTimeout(() => this.order(attempt + 1), wait);
        this.retry.unref();
      },
    );
  }
}
