import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { ON_DEMAND_ID, type TlsBundle } from '../tls/bundle.js';
import { isWithinValidity } from '../tls/renewal.js';
import { DEFAULT_GROUPS, ecdhCurveOf } from '../tls/key-exchange-groups.js';
import { TLS_POLICY } from './tls-policy.js';

export const ACME_TLS = 'acme-tls/1';


/** A certificate is not handed out in its last second of validity. */
const EXPIRY_MARGIN_MS = 1_000;

interface Entry {
  readonly bundle: TlsBundle;
  readonly options: SecureContextOptions;
  readonly context: SecureContext;
}

/**
 * A worker's certificates, one per site: id → SecureContext, chosen by SNI (exact name, then a
 * one-label wildcard, then the default site's). Every context is built, and so checked, before it replaces the
 * one it succeeds: a handshake sees the old certificate or the new one, never none (caddy#5589).
 * Endpoints subscribe to learn when to install a new default and release held handshakes.
 */
export class CertificateTable {
  private readonly entries = new Map<string, Entry>();
  private readonly byName = new Map<string, string>();
  private defaultId: string | undefined;
  /** The certificates the current plan's sites use: handshakes wait until every one is here. */
  private wanted: readonly string[] = [];
  private ticketKeys: Buffer | undefined;
  private readonly listeners: (() => void)[] = [];
  private reportedExpired: string | undefined;
  /** tls-alpn-01 challenge certificates by name (RFC 8737), and the name the current handshake asked one for. */
  private readonly alpnChallenges = new Map<string, SecureContext>();
  private alpnPending: { readonly name: string; readonly remote: boolean } | undefined;
  /** Asks for a certificate for a name no certificate here covers (on-demand TLS); undefined when the name is not one for that. */
  private obtainOnDemand: ((name: string) => Promise<void> | undefined) | undefined;
  /** Where to look for a challenge certificate this worker was not given (another instance's order), if anywhere. */
  private lookupAlpn: ((name: string) => Promise<{ certPem: string; keyPem: string } | undefined>) | undefined;

  /** The key exchange groups of every context here (and of the TLS servers: `tlsOptions`). */
  private ecdhCurve = ecdhCurveOf(DEFAULT_GROUPS);

  constructor(
    private readonly log: Logger,
    private readonly onExpired: (bundle: TlsBundle) => void,
  ) {}

  /** The plan's `tlsGroups`, before any certificate is published or listener opened. */
  useGroups(groups: readonly string[] | undefined): void {
    this.ecdhCurve = ecdhCurveOf(groups);
  }

  /** The options every TLS context here starts from: the policy and the groups. */
  get tlsOptions(): SecureContextOptions {
    return { ...TLS_POLICY, ecdhCurve: this.ecdhCurve };
  }

  /** Serves a new bundle for its names; the first one published becomes the default. False if it does not work. */
  publish(bundle: TlsBundle): boolean {
    let entry: Entry;
    try {
      entry = this.build(bundle);
    } catch (error) {
      this.log.error(`refused certificate ${bundle.serialNumber}: ${describeError(error)}`);
      return false;
    }
    this.entries.set(bundle.id, entry);
    for (const name of bundle.hosts) this.byName.set(name.toLowerCase(), bundle.id);
    // A certificate obtained on demand is one client's name: never what other handshakes get.
    if (!bundle.id.startsWith(ON_DEMAND_ID)) this.defaultId ??= bundle.id;
    this.changed();
    return true;
  }

  /**
   * The certificates the current sites use, and the default one (for handshakes without SNI or
   * with a name no site has). Certificates of sites that are gone are dropped, so their names
   * fall back to the default certificate and the router answers them as unknown hosts.
   */
  configure(wanted: readonly string[], defaultId: string | undefined): void {
    this.wanted = wanted;
    this.defaultId = defaultId ?? wanted[0];
    // Certificates obtained on demand stay: the primary keeps them, and the router decides whether a site still wants their names.
    for (const id of this.entries.keys()) if (!wanted.includes(id) && !id.startsWith(ON_DEMAND_ID)) this.entries.delete(id);
    this.byName.clear();
    for (const [id, entry] of this.entries) if (id.startsWith(ON_DEMAND_ID)) for (const name of entry.bundle.hosts) this.byName.set(name.toLowerCase(), id);
    for (const id of wanted) for (const name of this.entries.get(id)?.bundle.hosts ?? []) this.byName.set(name.toLowerCase(), id);
    this.changed();
  }

  /** The primary's session-ticket key, so sessions resume on any worker and with any context. */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    for (const [id, entry] of this.entries) this.entries.set(id, this.build(entry.bundle));
    this.changed();
  }

  setAlpnChallenge(name: string, certPem: string | undefined, keyPem: string | undefined): void {
    if (certPem === undefined || keyPem === undefined) this.alpnChallenges.delete(name.toLowerCase());
    else this.alpnChallenges.set(name.toLowerCase(), createSecureContext({ ...this.tlsOptions, cert: certPem, key: keyPem }));
  }

  /** Lets `resolve` ask for challenge certificates stored by another instance of a fleet. */
  lookUpAlpnChallenges(lookup: ((name: string) => Promise<{ certPem: string; keyPem: string } | undefined>) | undefined): void {
    this.lookupAlpn = lookup;
  }

  /**
   * ALPN, chosen before the certificate (Node calls ALPNCallback, then SNICallback, within one
   * ClientHello): h2, else http/1.1; acme-tls/1 for a name with a pending tls-alpn-01 challenge
   * here, or, when challenges can be looked up, for a client that offers acme-tls/1 alone (as a
   * validating CA does, RFC 8737 §3); the next `resolve` for that name hands out its certificate.
   */
  selectProtocol(servername: string | false | undefined, protocols: readonly string[]): string | undefined {
    this.alpnPending = undefined;
    // Without SNI, Node passes false here.
    const name = typeof servername === 'string' && servername.length > 0 ? servername.toLowerCase() : undefined;
    if (name !== undefined && protocols.includes(ACME_TLS)) {
      if (this.alpnChallenges.has(name)) {
        this.alpnPending = { name, remote: false };
        return ACME_TLS;
      }
      if (this.lookupAlpn !== undefined && protocols.every((protocol) => protocol === ACME_TLS)) {
        this.alpnPending = { name, remote: true };
        return ACME_TLS;
      }
    }
    return protocols.includes('h2') ? 'h2' : protocols.includes('http/1.1') ? 'http/1.1' : undefined;
  }

  /** Lets `onDemandFor` obtain certificates for names on-demand sites match. */
  obtainOnDemandWith(obtain: ((name: string) => Promise<void> | undefined) | undefined): void {
    this.obtainOnDemand = obtain;
  }

  /** Whether some site obtains certificates on demand (then the endpoint reads each ClientHello's name first). */
  obtainsOnDemand(): boolean {
    return this.obtainOnDemand !== undefined;
  }

  /**
   * For a name only an on-demand site matches and no certificate here covers: the wait for its
   * certificate (rejected when refused). Undefined for every other name.
   */
  onDemandFor(name: string): Promise<void> | undefined {
    return this.covering(name) === undefined ? this.obtainOnDemand?.(name) : undefined;
  }

  /** SNICallback: `select`, or a challenge certificate looked up elsewhere; a name with none fails the handshake. */
  resolve(servername: string, callback: (error: Error | null, context?: SecureContext) => void): void {
    const pending = this.alpnPending;
    const name = servername.toLowerCase();
    if (pending?.remote !== true || pending.name !== name || this.lookupAlpn === undefined) return callback(null, this.select(servername));
    this.alpnPending = undefined;
    this.lookupAlpn(name).then(
      (pair) => (pair ? callback(null, createSecureContext({ ...this.tlsOptions, cert: pair.certPem, key: pair.keyPem })) : callback(new Error(`no tls-alpn-01 challenge is pending for ${name}`))),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** The context of a certificate for exactly this name (or its one-label wildcard), the default's included. */
  private covering(name: string): SecureContext | undefined {
    const id = this.byName.get(name) ?? this.byName.get(`*${name.slice(name.indexOf('.'))}`);
    return id === undefined ? undefined : this.entries.get(id)?.context;
  }

  /** The context for an SNI name; undefined means the default (the TLS server's own). */
  select(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase();
    if (this.alpnPending !== undefined) {
      const pending = this.alpnPending;
      this.alpnPending = undefined;
      if (pending.name === name && !pending.remote) return this.alpnChallenges.get(name);
    }
    const id = this.byName.get(name) ?? this.byName.get(`*${name.slice(name.indexOf('.'))}`);
    return id === undefined || id === this.defaultId ? undefined : this.entries.get(id)?.context;
  }

  /** The default certificate's options, for handshakes without SNI (or for names no certificate covers). */
  defaultOptions(): SecureContextOptions | undefined {
    return this.defaultId === undefined ? undefined : this.entries.get(this.defaultId)?.options;
  }

  /**
   * Whether a handshake can be served now. An expired default is never served: handshakes are
   * held as if there were none, and the primary is asked once to renew (caddy#7496).
   */
  isUsable(now: number): boolean {
    const bundle = this.defaultId === undefined ? undefined : this.entries.get(this.defaultId)?.bundle;
    // Only on-demand sites: nothing to wait for; each name waits for its own certificate instead.
    if (bundle === undefined) return this.wanted.length === 0;
    for (const id of this.wanted) if (!this.entries.has(id)) return false;
    // Not in its last second either: a client finishing the handshake a moment later, or with a
    // clock a little ahead, would find it expired.
    if (isWithinValidity({ notBefore: bundle.notBefore, notAfter: bundle.notAfter - EXPIRY_MARGIN_MS }, now)) return true;
    if (this.reportedExpired !== bundle.fingerprint256) {
      this.reportedExpired = bundle.fingerprint256;
      const at = new Date(bundle.notAfter).toISOString();
      const why = now < bundle.notBefore ? `is not valid until ${new Date(bundle.notBefore).toISOString()} (did the clock move back?)` : now < bundle.notAfter ? `expires at ${at}, in less than a second` : `expired at ${at}`;
      this.log.warn(`the certificate ${bundle.serialNumber} ${why}; holding handshakes until it is renewed`);
      this.onExpired(bundle);
    }
    return false;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private build(bundle: TlsBundle): Entry {
    const options: SecureContextOptions = { ...this.tlsOptions, key: bundle.keyPem, cert: bundle.certPem, ...(this.ticketKeys ? { ticketKeys: this.ticketKeys } : {}) };
    return { bundle, options, context: createSecureContext(options) };
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
