import { describeError, PorticoError } from '../errors.js';
import { isFaultActive } from '../fault-injection.js';
import type { Logger } from '../log/logger.js';
import { freezeBundle, type TlsBundle } from './bundle.js';
import type { LeafWanted, ParsedPair } from './certificate-check.js';
import type { Issuer } from './issuer.js';
import type { KeyType } from './key-types.js';
import { exportPrivateKey, generateKeyPair } from './keys.js';
import { isRenewalDue, leafValidity, renewalTime } from './renewal.js';
import { loadChecked, storePair } from './storage/pair-storage.js';
import type { Storage } from './storage/storage.js';
import { leafId, type PairLocation, StorageKeys } from './storage/storage-keys.js';

export interface KeyringOptions {
  readonly hosts: readonly string[];
  readonly keyType: KeyType;
  readonly lifetimeMs: number;
  /** Where its certificate is stored, when not the internal CA's place for these hosts (an ACME CA's). */
  readonly storageId?: string;
}

/** Timers never wait longer than this, so a machine that slept still renews soon after waking. */
const MAX_TIMER_MS = 60 * 60_000;
const RETRY_MS = [1_000, 5_000, 30_000, 120_000, 600_000] as const;
/** A certificate due for renewal the moment it arrives is not renewed again sooner than this. */
const DUE_ON_ARRIVAL_WAIT_MS = 60 * 60_000;

/**
 * The one owner of key material, living in the primary. States:
 *
 *   idle ──start()──▶ obtaining ──▶ ready ──(renewal time, or a worker saw it expire)──▶ renewing ──▶ ready
 *                          │                                                              │
 *                          └──── failed: logged, retried with backoff ◀───────────────────┘
 *
 * Obtaining follows check → lock → check again → create → fenced store → read back → unlock: whatever
 * another process stored while we waited is used, not replaced. A bundle is published only
 * after it has been read back from storage and validated, so what is served is what is stored.
 * The keyring makes the key; the Issuer only signs; the Storage and its per-certificate lock
 * decide who creates.
 */
export class Keyring {
  private current: TlsBundle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private failures = 0;
  private stopped = false;
  /** When the renewal timer will renew (never, while no timer is set). */
  private renewAt = Number.POSITIVE_INFINITY;

  private readonly id: string;

  constructor(
    private readonly storage: Storage,
    private readonly issuer: Issuer,
    private readonly options: KeyringOptions,
    private readonly log: Logger,
    private readonly publish: (bundle: TlsBundle) => void,
  ) {
    this.id = options.storageId ?? leafId(options.hosts, options.keyType);
  }

  get bundle(): TlsBundle | undefined {
    return this.current;
  }

  /** Obtains the first bundle and keeps it renewed. Rejects only if the first obtain fails. */
  async start(): Promise<TlsBundle> {
    const bundle = await this.obtain();
    this.accept(bundle);
    return bundle;
  }

  /** Renews at once, e.g. because a worker found the current certificate expired on use. */
  renewNow(reason: string): void {
    if (this.stopped || this.renewing) return;
    this.log.warn(`renewing the certificate now: ${reason}`);
    this.renew();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Takes a newer certificate that another process stored: an instance of the same fleet that
   * renewed first, or `portico cert renew`. The primary calls this every few seconds.
   */
  async refresh(): Promise<void> {
    const current = this.current;
    if (this.stopped || this.renewing || current === undefined) return;
    // The timer waits at most an hour; a wall clock that jumped (a machine that slept) is noticed here.
    if (Date.now() >= this.renewAt) return this.renew();
    const stored = await this.loadLeaf(false);
    if (stored && stored.fingerprint256 !== current.fingerprint256 && stored.notBefore >= current.notBefore && this.current === current) this.accept(stored);
  }

  /**
   * Issues a new certificate now, although the stored one is still good (`portico cert renew`).
   * Under the same lock: if another process replaced the stored one meanwhile, that one is kept.
   */
  async renewStored(): Promise<TlsBundle> {
    const before = await this.loadLeaf(false);
    return this.obtain(before?.fingerprint256 ?? null);
  }

  private accept(bundle: TlsBundle): void {
    this.failures = 0;
    if (bundle.fingerprint256 !== this.current?.fingerprint256) {
      this.current = bundle;
      this.publish(bundle);
    }
    const now = Date.now();
    if (renewalTime(bundle) > now) return this.schedule(renewalTime(bundle));
    // Due the moment it arrived: the CA's lifetime is very short, or this machine's clock is far
    // ahead of the CA's. Asking again at once would ask again and again.
    this.log.warn(`the certificate just obtained for ${this.options.hosts.join(', ')} is already due for renewal (valid ${new Date(bundle.notBefore).toISOString()} to ${new Date(bundle.notAfter).toISOString()}; is this machine's clock right?); the next renewal is in ${DUE_ON_ARRIVAL_WAIT_MS / 60_000} min`);
    this.schedule(now + DUE_ON_ARRIVAL_WAIT_MS);
  }

  private schedule(at: number): void {
    clearTimeout(this.timer);
    this.renewAt = Number.POSITIVE_INFINITY;
    if (this.stopped || isFaultActive('no-scheduled-renewal')) return;
    this.renewAt = at;
    const wait = Math.max(0, Math.min(at - Date.now(), MAX_TIMER_MS));
    this.timer = setTimeout(() => (Date.now() >= at ? this.renew() : this.schedule(at)), wait);
  }

  private renew(): void {
    clearTimeout(this.timer);
    this.renewAt = Number.POSITIVE_INFINITY;
    this.renewing = this.obtain()
      .then((bundle) => this.accept(bundle))
      .catch((error: unknown) => {
        const retryMs = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)]!;
        this.failures += 1;
        this.log.error(`certificate renewal failed (attempt ${this.failures}), retrying in ${retryMs / 1000} s: ${describeError(error)}`);
        this.schedule(Date.now() + retryMs);
      })
      .finally(() => {
        this.renewing = undefined;
      });
  }

  /** `replacing`: the fingerprint to replace even if it is still usable (null: none was stored). */
  private async obtain(replacing?: string | null): Promise<TlsBundle> {
    if (replacing === undefined) {
      const stored = await this.loadUsable(false);
      if (stored) return stored;
    }
    const lock = await this.storage.lock(StorageKeys.leafLock(this.id));
    try {
      const storedMeanwhile = replacing === undefined ? await this.loadUsable(true) : await this.loadLeaf(true);
      if (storedMeanwhile && storedMeanwhile.fingerprint256 !== replacing) return storedMeanwhile;
      await this.issuer.prepare();
      this.log.info(`issuing a ${this.options.keyType} certificate for ${this.options.hosts.join(', ')}`);
      const key = await generateKeyPair(this.options.keyType);
      const certPem = await this.issuer.issue({ names: this.options.hosts, key, validity: leafValidity(Date.now(), this.options.lifetimeMs) });
      const at = this.location();
      // Fenced: if this process stalled past its lease and another took the lock, nothing is written.
      await storePair(this.storage, at, { keyPem: exportPrivateKey(key), certPem }, lock);
      const readBack = await this.loadLeaf(false);
      if (!readBack) throw new PorticoError('ERR_ISSUANCE_FAILED', `the certificate stored in ${this.storage.describe(at.bundle)} did not validate when read back`);
      return readBack;
    } finally {
      await lock.release();
    }
  }

  /** A stored bundle that is valid and not yet due for renewal, or undefined. */
  private async loadUsable(repair: boolean): Promise<TlsBundle | undefined> {
    const bundle = await this.loadLeaf(repair);
    return bundle && !isRenewalDue(bundle, Date.now()) ? bundle : undefined;
  }

  private async loadLeaf(repair: boolean): Promise<TlsBundle | undefined> {
    if (!(await this.issuer.load(repair))) return undefined;
    const wanted: LeafWanted = { hosts: this.options.hosts, keyType: this.options.keyType };
    const leaf = await loadChecked(this.storage, this.location(), repair, (stored) => this.issuer.check(stored, wanted, Date.now()));
    return leaf && toBundle(this.id, leaf, wanted);
  }

  private location(): PairLocation {
    return StorageKeys.leaf(this.id);
  }
}

function toBundle(id: string, leaf: ParsedPair, wanted: LeafWanted): TlsBundle {
  return freezeBundle({
    id,
    fingerprint256: leaf.cert.fingerprint256,
    serialNumber: leaf.cert.serialNumber,
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
    notBefore: Date.parse(leaf.cert.validFrom),
    notAfter: Date.parse(leaf.cert.validTo),
    hosts: wanted.hosts,
    keyType: wanted.keyType,
  });
}
