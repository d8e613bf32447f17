import { describeError, PorticoError } from '../errors.js';
import { isFaultActive } from '../fault-injection.js';
import type { Logger } from '../log/logger.js';
import { freezeBundle, type TlsBundle } from './bundle.js';
import { type Check, checkLeaf, checkRoot, type LeafWanted, type ParsedPair } from './certificate-check.js';
import type { KeyType } from './key-types.js';
import { isRenewalDue, leafValidity, renewalTime } from './renewal.js';
import { leafId, type PairPaths, type PairToStore, type StateStore, type StoredPair } from './storage/state-store.js';

export interface KeyringOptions {
  readonly hosts: readonly string[];
  readonly keyType: KeyType;
  readonly lifetimeMs: number;
}

/** Timers never wait longer than this, so a machine that slept still renews soon after waking. */
const MAX_TIMER_MS = 60 * 60_000;
const RETRY_MS = [1_000, 5_000, 30_000, 120_000, 600_000] as const;

/**
 * The one owner of key material, living in the primary. States:
 *
 *   idle ──start()──▶ obtaining ──▶ ready ──(renewal time, or a worker saw it expire)──▶ renewing ──▶ ready
 *                          │                                                              │
 *                          └──── failed: logged, retried with backoff ◀───────────────────┘
 *
 * Obtaining follows check → lock → check again → create → store → read back → unlock: whatever
 * another process stored while we waited is used, not replaced. A bundle is published only
 * after it has been read back from disk and validated, so what is served is what is stored.
 */
export class Keyring {
  private current: TlsBundle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly store: StateStore,
    private readonly options: KeyringOptions,
    private readonly log: Logger,
    private readonly publish: (bundle: TlsBundle) => void,
  ) {}

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

  private accept(bundle: TlsBundle): void {
    this.failures = 0;
    if (bundle.fingerprint256 !== this.current?.fingerprint256) {
      this.current = bundle;
      this.publish(bundle);
    }
    this.schedule(renewalTime(bundle));
  }

  private schedule(at: number): void {
    clearTimeout(this.timer);
    if (this.stopped || isFaultActive('no-scheduled-renewal')) return;
    const wait = Math.max(0, Math.min(at - Date.now(), MAX_TIMER_MS));
    this.timer = setTimeout(() => (Date.now() >= at ? this.renew() : this.schedule(at)), wait);
  }

  private renew(): void {
    clearTimeout(this.timer);
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

  private async obtain(): Promise<TlsBundle> {
    const stored = await this.loadUsable(false);
    if (stored) return stored;
    const lock = await this.store.lock();
    try {
      const storedMeanwhile = await this.loadUsable(true);
      if (storedMeanwhile) return storedMeanwhile;
      const root = await this.loadOrCreateRoot();
      this.log.info(`issuing a ${this.options.keyType} certificate for ${this.options.hosts.join(', ')}`);
      const { issueLeaf } = await import('./internal-ca.js');
      const leaf = await issueLeaf(root, this.options.hosts, this.options.keyType, leafValidity(Date.now(), this.options.lifetimeMs));
      await lock.assertHeld();
      await this.store.writePair(this.leafPaths(), leaf, () => {
        if (isFaultActive('die-between-leaf-key-and-cert')) process.kill(process.pid, 'SIGKILL');
      });
      const readBack = await this.loadLeaf(false);
      if (!readBack) throw new PorticoError('ERR_ISSUANCE_FAILED', `the certificate stored in ${this.leafPaths().cert} did not validate when read back`);
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
    const root = await this.loadRoot(repair);
    if (!root) return undefined;
    const paths = this.leafPaths();
    const wanted: LeafWanted = { hosts: this.options.hosts, keyType: this.options.keyType };
    const leaf = await this.checked(paths, repair, (stored) => checkLeaf(stored, root.cert, wanted, Date.now()));
    return leaf && toBundle(leaf, wanted);
  }

  private async loadRoot(repair: boolean): Promise<ParsedPair | undefined> {
    return this.checked(this.store.rootPaths(), repair, (stored) => checkRoot(stored, Date.now()));
  }

  private async loadOrCreateRoot(): Promise<PairToStore> {
    const existing = await this.loadRoot(true);
    if (existing) return existing;
    this.log.info('creating the internal root CA');
    // Loaded only when something must be created: most starts just read what is stored.
    const { createRootCa } = await import('./internal-ca.js');
    const root = await createRootCa(Date.now());
    await this.store.writePair(this.store.rootPaths(), root);
    const readBack = await this.loadRoot(false);
    if (!readBack) throw new PorticoError('ERR_ISSUANCE_FAILED', `the root CA stored in ${this.store.rootPaths().cert} did not validate when read back`);
    return readBack;
  }

  /** Reads and checks a pair; when repairing, sets aside whatever failed the check. */
  private async checked(paths: PairPaths, repair: boolean, check: (stored: StoredPair) => Check<ParsedPair>): Promise<ParsedPair | undefined> {
    const result = check(await this.store.readPair(paths));
    if (result.ok) return result.value;
    if (repair && !result.missing) {
      // A key without its certificate is useless and vice versa: the pair goes aside together.
      for (const [file, role] of [[paths.cert, 'cert'], [paths.key, 'key']] as const) {
        const atFault = result.culprit === role || result.culprit === 'pair';
        await this.store.setAside(file, atFault ? result.problem : `its partner ${result.culprit === 'cert' ? paths.cert : paths.key} is broken: ${result.problem}`);
      }
    }
    return undefined;
  }

  private leafPaths(): PairPaths {
    return this.store.leafPaths(this.options.hosts, this.options.keyType);
  }
}

function toBundle(leaf: ParsedPair, wanted: LeafWanted): TlsBundle {
  return freezeBundle({
    id: leafId(wanted.hosts, wanted.keyType),
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
