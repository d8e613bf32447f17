import type { CertificatePlan, OnDemandPlan, Plan } from '../config/plan.js';
import { describeError, PorticoError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { ChallengeBoard } from '../tls/acme/acme-issuer.js';
import { freezeBundle, type TlsBundle } from '../tls/bundle.js';
import { FileCertificate } from '../tls/file-certificate.js';
import { InternalIssuer } from '../tls/internal-ca/internal-issuer.js';
import { bundleCovers, loadInstalled } from '../tls/key-manager.js';
import { Keyring } from '../tls/keyring.js';
import { OnDemandCertificates } from '../tls/on-demand.js';
import { FileStorage } from '../tls/storage/file-storage.js';
import type { Storage } from '../tls/storage/storage.js';

/** Where a site's certificate comes from: the internal CA's keyring, the CA's by ACME, or the user's files. */
type CertificateSource = Pick<Keyring, 'bundle' | 'start' | 'renewNow' | 'stop' | 'refresh'>;

/** How often the store is read for certificates installed by `portico cert install`. */
const INSTALLED_POLL_MS = 2_000;

/** A certificate as `status()` shows it. */
export interface CertificateStatus {
  readonly id: string;
  readonly source: CertificatePlan['source'] | 'on-demand' | 'installed';
  readonly hosts: readonly string[];
  readonly notAfter: number | undefined;
  readonly fingerprint256: string | undefined;
}

/**
 * The primary's certificates, whoever makes them: what the rest of the primary may ask of them.
 * Every bundle a source publishes goes out through the `publish` it was made with.
 */
export interface CertificateSources {
  /** Starts a source for every certificate of the list that has none; resolves once each has its first bundle. */
  provide(certificates: readonly CertificatePlan[], rereadFiles?: boolean): Promise<void>;
  /** The plan is now the running one: its on-demand sites, and which sites an installed certificate may serve. */
  adopt(plan: Plan): Promise<void>;
  /** After the first `adopt`: installed certificates now, and the store polled every 2 s. */
  watch(): Promise<void>;
  /** A handshake's name only an on-demand site matches. */
  obtainOnDemand(site: string, name: string): Promise<{ readonly bundle: TlsBundle } | { readonly refused: string }>;
  /** The source serving that certificate, if any. */
  sourceOf(fingerprint256: string): Pick<CertificateSource, 'renewNow'> | undefined;
  /** Renews a certificate now (an internal one: a new leaf, published); ERR_UNKNOWN_CERTIFICATE or ERR_CERTIFICATE_NOT_RENEWABLE. */
  renew(id: string, reason: string): Promise<CertificateStatus>;
  /** Every bundle a worker serves now: what a new worker is sent. */
  bundles(): TlsBundle[];
  status(): CertificateStatus[];
  /** The store (opened on first need), for others that keep things there: ACME challenges. */
  readonly storage: Storage | undefined;
  stop(): void;
  /** Closes a connection the storage holds (Redis), at exit. */
  close(): void;
}

/**
 * The certificates of the plan's sites (internal keyrings, ACME, own files), on-demand TLS per
 * site, and certificates installed with `portico cert install` serving an internal site in its
 * own one's place; the store is read every two seconds for those and for newer certificates
 * another process stored.
 */
export class CertificateService implements CertificateSources {
  private storageOpened: Storage | undefined;
  private closeStorage: (() => void) | undefined;
  private issuer: InternalIssuer | undefined;
  /** Certificate plan id → its source, for the sites of the current plan. */
  private readonly sources = new Map<string, CertificateSource>();
  /** Site name → its on-demand certificates (tls.onDemand). */
  private readonly onDemand = new Map<string, OnDemandCertificates>();
  /** Certificates installed with `portico cert install` that serve an internal site instead of its own: plan id → bundle. */
  private readonly installed = new Map<string, TlsBundle>();
  private planned: readonly CertificatePlan[] = [];
  private installedTimer: NodeJS.Timeout | undefined;
  private storeUnreadable = false;
  private stopped = false;

  constructor(
    private readonly settings: Pick<Plan, 'storage' | 'stateDir'>,
    private readonly challenges: ChallengeBoard,
    private readonly log: Logger,
    private readonly print: (line: string) => void,
    /** Sends a bundle to every worker. */
    private readonly publish: (bundle: TlsBundle) => void,
  ) {}

  get storage(): Storage | undefined {
    return this.storageOpened;
  }

  /** Opens the store when the plan needs one (some certificate is not from files). */
  async open(plan: Pick<Plan, 'certificates' | 'onDemand'>): Promise<void> {
    if (plan.certificates.some((certificate) => certificate.source !== 'files') || plan.onDemand.length > 0) await this.openStorage();
  }

  private async openStorage(): Promise<InternalIssuer> {
    if (this.storageOpened === undefined) {
      const wanted = this.settings.storage;
      if (wanted.kind === 'redis') {
        const { RedisStorage, safeUrl } = await import('../tls/storage/redis-storage.js');
        const redis = await RedisStorage.open(wanted, this.log);
        this.closeStorage = () => redis.close();
        this.storageOpened = redis;
        this.log.info(`key material is stored in Redis at ${safeUrl(wanted.url)} (prefix ${wanted.prefix})`);
      } else this.storageOpened = await FileStorage.open(this.settings.stateDir, this.log);
    }
    this.issuer ??= new InternalIssuer(this.storageOpened, this.log);
    return this.issuer;
  }

  /**
   * Starts a source for every certificate of the plan that has none, and resolves once each has
   * published its first bundle: a site is routed to only after its certificate is in every
   * worker. Sources the plan no longer names are stopped.
   */
  async provide(certificates: readonly CertificatePlan[], rereadFiles = false): Promise<void> {
    const started: Promise<TlsBundle>[] = [];
    const replaced = new Map<string, CertificateSource>();
    for (const wanted of certificates) {
      const existing = this.sources.get(wanted.id);
      // A reload reads own certificate files again (the user may have replaced them); the one
      // served stays until the new one has been read and checked.
      if (existing !== undefined && !(rereadFiles && wanted.source === 'files')) continue;
      if (existing !== undefined) replaced.set(wanted.id, existing);
      // While an installed certificate serves this site, the internal one is renewed but not sent.
      const publish = (bundle: TlsBundle): void => {
        if (!this.installed.has(bundle.id)) this.publish(bundle);
      };
      const created = await this.createSource(wanted, publish);
      this.sources.set(wanted.id, created);
      started.push(
        created.start().then((bundle) => {
          const origin = wanted.source === 'files' ? `from ${wanted.certFile}` : `root CA: portico ca root --state ${this.settings.stateDir}${wanted.source === 'acme' ? `; ordering from ${wanted.directory}` : ''}`;
          this.print(`certificate ready for ${bundle.hosts.join(', ')} (${bundle.keyType}, valid until ${new Date(bundle.notAfter).toISOString()}); ${origin}`);
          return bundle;
        }),
      );
    }
    const results = await Promise.allSettled(started);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      // Sources that never obtained a certificate are forgotten, so a later reload tries them
      // afresh; a file certificate that failed to re-read gives way to the one it was replacing.
      for (const wanted of certificates) {
        const source = this.sources.get(wanted.id);
        if (source === undefined || source.bundle !== undefined) continue;
        source.stop();
        const previous = replaced.get(wanted.id);
        if (previous) this.sources.set(wanted.id, previous);
        else this.sources.delete(wanted.id);
      }
      throw failed.reason;
    }
    const ids = new Set(certificates.map((wanted) => wanted.id));
    for (const [id, source] of this.sources) {
      if (ids.has(id)) continue;
      source.stop();
      this.sources.delete(id);
    }
  }

  private async createSource(wanted: CertificatePlan, publish: (bundle: TlsBundle) => void): Promise<CertificateSource> {
    if (wanted.source === 'files') return new FileCertificate(wanted, this.log, publish);
    const issuer = await this.openStorage();
    if (wanted.source === 'internal') return new Keyring(this.storageOpened!, issuer, wanted, this.log, publish);
    const { AcmeCertificate } = await import('../tls/acme/acme-certificate.js');
    return new AcmeCertificate(wanted, this.storageOpened!, issuer, this.challenges, this.log, publish, (bundle) =>
      this.print(`ACME certificate ready for ${bundle.hosts.join(', ')} (valid until ${new Date(bundle.notAfter).toISOString()}), from ${wanted.directory}`),
    );
  }

  async adopt(plan: Plan): Promise<void> {
    this.planned = plan.certificates;
    await this.provideOnDemand(plan.onDemand);
  }

  /** On-demand TLS per site of the plan: kept across a reload when its settings are the same, so are its certificates. */
  private async provideOnDemand(plans: readonly OnDemandPlan[]): Promise<void> {
    const wanted = new Map(plans.map((plan) => [plan.site, plan]));
    for (const [site, current] of this.onDemand) {
      if (JSON.stringify(current.plan) === JSON.stringify(wanted.get(site))) continue;
      current.stop();
      this.onDemand.delete(site);
    }
    for (const plan of wanted.values()) {
      if (this.onDemand.has(plan.site)) continue;
      const internal = await this.openStorage();
      const storage = this.storageOpened!;
      const acme = plan.acme === undefined ? undefined : (await import('../tls/acme/acme-certificate.js')).AcmeCertificate;
      const keyringFor = (name: string, publish: (bundle: TlsBundle) => void): Keyring =>
        acme && plan.acme
          ? acme.keyring({ source: 'acme', id: name, hosts: [name], keyType: plan.keyType, lifetimeMs: plan.lifetimeMs, ...plan.acme }, storage, this.challenges, this.log, publish)
          : new Keyring(storage, internal, { hosts: [name], keyType: plan.keyType, lifetimeMs: plan.lifetimeMs }, this.log, publish);
      this.onDemand.set(plan.site, new OnDemandCertificates(plan, keyringFor, this.log, (bundle) => this.publish(bundle)));
    }
  }

  async obtainOnDemand(site: string, name: string): Promise<{ readonly bundle: TlsBundle } | { readonly refused: string }> {
    const certificates = this.onDemand.get(site);
    return certificates ? await certificates.obtain(name) : { refused: `site ${site} has no on-demand TLS` };
  }

  async watch(): Promise<void> {
    await this.applyInstalled();
    if (this.storageOpened && !this.stopped) {
      this.installedTimer = setInterval(() => void this.watchStore(), INSTALLED_POLL_MS);
      this.installedTimer.unref();
    }
  }

  /**
   * Every two seconds: certificates installed with `portico cert install`, and newer ones that
   * another process stored (a fleet member's renewal, `portico cert renew`). A store that does
   * not answer is said once, not every two seconds; the certificates in memory keep serving.
   */
  private async watchStore(): Promise<void> {
    try {
      await this.applyInstalled();
      for (const source of this.sources.values()) await source.refresh();
      for (const certificates of this.onDemand.values()) await certificates.refresh();
      if (this.storeUnreadable) this.log.info('the certificate store answers again');
      this.storeUnreadable = false;
    } catch (error) {
      if (!this.storeUnreadable) this.log.warn(`cannot read the certificate store, serving the certificates in memory: ${describeError(error)}`);
      this.storeUnreadable = true;
    }
  }

  /**
   * `portico cert install` writes to the store; this looks there every two seconds. An installed
   * certificate that covers every host of a site whose tls is internal serves that site in its
   * place (the same id, so every worker swaps it atomically); when it is gone or expired, the
   * internal one comes back.
   */
  private async applyInstalled(): Promise<void> {
    if (!this.storageOpened || this.stopped) return;
    const bundles = await loadInstalled(this.storageOpened, Date.now());
    for (const wanted of this.planned) {
      if (wanted.source !== 'internal') continue;
      const match = bundles.find((bundle) => bundleCovers(bundle, wanted.hosts));
      const current = this.installed.get(wanted.id);
      if (match && match.fingerprint256 !== current?.fingerprint256) {
        const bundle = freezeBundle({ ...match, id: wanted.id, hosts: wanted.hosts });
        this.installed.set(wanted.id, bundle);
        this.print(`installed certificate ${match.fingerprint256} now serves ${wanted.hosts.join(', ')} (valid until ${new Date(match.notAfter).toISOString()})`);
        this.publish(bundle);
      } else if (!match && current) {
        this.installed.delete(wanted.id);
        const own = this.sources.get(wanted.id)?.bundle;
        this.log.warn(`the installed certificate for ${wanted.hosts.join(', ')} is gone or no longer valid; serving the internal one again`);
        if (own) this.publish(own);
      }
    }
  }

  sourceOf(fingerprint256: string): Pick<CertificateSource, 'renewNow'> | undefined {
    for (const source of this.sources.values()) if (source.bundle?.fingerprint256 === fingerprint256) return source;
    return undefined;
  }

  async renew(id: string, reason: string): Promise<CertificateStatus> {
    const source = this.sources.get(id);
    const wanted = this.planned.find((certificate) => certificate.id === id);
    if (source === undefined) throw new PorticoError('ERR_UNKNOWN_CERTIFICATE', `no certificate has the id ${JSON.stringify(id)}; the running ones are: ${[...this.sources.keys()].join(', ') || 'none'}`);
    if (source instanceof FileCertificate) throw new PorticoError('ERR_CERTIFICATE_NOT_RENEWABLE', `certificate ${id} comes from ${wanted?.source === 'files' ? wanted.certFile : 'files'}: replace the files and reload instead`);
    this.log.info(`renewing certificate ${id} now: ${reason}`);
    if (source instanceof Keyring) {
      // A new leaf under the certificate's lock, stored; taking it from the store publishes it.
      await source.renewStored();
      await source.refresh();
    } else source.renewNow(reason);
    return this.status().find((certificate) => certificate.id === id)!;
  }

  bundles(): TlsBundle[] {
    const bundles: TlsBundle[] = [];
    for (const [id, source] of this.sources) {
      const bundle = this.installed.get(id) ?? source.bundle;
      if (bundle) bundles.push(bundle);
    }
    for (const certificates of this.onDemand.values()) bundles.push(...certificates.bundles());
    return bundles;
  }

  status(): CertificateStatus[] {
    const kinds = new Map(this.planned.map((certificate) => [certificate.id, certificate.source]));
    const status: CertificateStatus[] = [];
    for (const [id, source] of this.sources) {
      const installed = this.installed.get(id);
      const bundle = installed ?? source.bundle;
      status.push({ id, source: installed ? 'installed' : (kinds.get(id) ?? (source instanceof FileCertificate ? 'files' : 'internal')), hosts: bundle?.hosts ?? [], notAfter: bundle?.notAfter, fingerprint256: bundle?.fingerprint256 });
    }
    for (const certificates of this.onDemand.values()) {
      for (const bundle of certificates.bundles()) status.push({ id: bundle.id, source: 'on-demand', hosts: bundle.hosts, notAfter: bundle.notAfter, fingerprint256: bundle.fingerprint256 });
    }
    return status;
  }

  stop(): void {
    this.stopped = true;
    for (const source of this.sources.values()) source.stop();
    for (const certificates of this.onDemand.values()) certificates.stop();
    clearInterval(this.installedTimer);
  }

  close(): void {
    this.closeStorage?.();
  }
}
