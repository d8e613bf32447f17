import type { OnDemandPlan } from '../config/plan.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { TlsBundle } from './bundle.js';
import { freezeBundle, ON_DEMAND_ID } from './bundle.js';
import { Keyring } from './keyring.js';

/** After a failed order a name is not tried again for this long: never a loop against a CA. */
const FAILED_ORDER_PAUSE_MS = 60_000;
const ASK_TIMEOUT_MS = 5_000;
const MINUTE_MS = 60_000;

export type OnDemandResult = { readonly bundle: TlsBundle } | { readonly refused: string };

/** Makes the keyring of one name: the internal CA's, or the site's ACME CA's. */
export type KeyringFactory = (name: string, publish: (bundle: TlsBundle) => void) => Keyring;

/**
 * On-demand TLS for one site (Caddy's on_demand): the first handshake for a name the site's
 * patterns match waits while a certificate is obtained, if the site's ask URL answers 200 for
 * `?domain=NAME`. Bounded per site: orders at once, orders a minute, certificates in all. A
 * refusal is logged with its reason; nothing is ordered for a refused name. Each certificate is
 * then kept renewed by its own keyring, with the same store and lock as any other, so a fleet
 * orders each name once.
 */
export class OnDemandCertificates {
  private readonly keyrings = new Map<string, Keyring>();
  private readonly inFlight = new Map<string, Promise<OnDemandResult>>();
  private readonly orderTimes: number[] = [];
  private readonly failedUntil = new Map<string, number>();
  private ordering = 0;

  constructor(
    readonly plan: OnDemandPlan,
    private readonly keyringFor: KeyringFactory,
    private readonly log: Logger,
    private readonly publish: (bundle: TlsBundle) => void,
  ) {}

  /** Every certificate obtained so far, for a worker that starts later. */
  bundles(): TlsBundle[] {
    return [...this.keyrings.values()].flatMap((keyring) => (keyring.bundle ? [keyring.bundle] : []));
  }

  obtain(name: string): Promise<OnDemandResult> {
    const held = this.keyrings.get(name)?.bundle;
    if (held) return Promise.resolve({ bundle: held });
    let pending = this.inFlight.get(name);
    if (!pending) {
      pending = this.decide(name).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, pending);
    }
    return pending;
  }

  stop(): void {
    for (const keyring of this.keyrings.values()) keyring.stop();
  }

  async refresh(): Promise<void> {
    for (const keyring of this.keyrings.values()) await keyring.refresh();
  }

  private async decide(name: string): Promise<OnDemandResult> {
    const now = Date.now();
    if ((this.failedUntil.get(name) ?? 0) > now) return this.refuse(name, 'its last order failed less than a minute ago');
    const asked = await this.ask(name);
    if (asked !== undefined) return this.refuse(name, asked);
    while (this.orderTimes.length > 0 && this.orderTimes[0]! <= Date.now() - MINUTE_MS) this.orderTimes.shift();
    if (this.keyrings.size >= this.plan.max) return this.refuse(name, `the site has ${this.plan.max} on-demand certificates already (tls.onDemand.max)`);
    if (this.ordering >= this.plan.concurrency) return this.refuse(name, `${this.ordering} orders are in progress already (tls.onDemand.concurrency)`);
    if (this.orderTimes.length >= this.plan.ratePerMinute) return this.refuse(name, `${this.plan.ratePerMinute} certificates were ordered in the last minute (tls.onDemand.ratePerMinute)`);
    this.orderTimes.push(Date.now());
    this.ordering += 1;
    const keyring = this.keyringFor(name, (bundle) => this.publish(asOnDemand(name, bundle)));
    try {
      this.log.info(`on-demand TLS: obtaining a certificate for ${name} (site ${this.plan.site}; allowed by ${this.plan.ask})`);
      const bundle = asOnDemand(name, await keyring.start());
      this.keyrings.set(name, keyring);
      return { bundle };
    } catch (error) {
      keyring.stop();
      this.failedUntil.set(name, Date.now() + FAILED_ORDER_PAUSE_MS);
      return this.refuse(name, `the certificate could not be obtained: ${describeError(error)}`);
    } finally {
      this.ordering -= 1;
    }
  }

  /** Undefined when the ask URL allows the name; otherwise why not. */
  private async ask(name: string): Promise<string | undefined> {
    const url = new URL(this.plan.ask);
    url.searchParams.set('domain', name);
    try {
      const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
      await response.body?.cancel();
      return response.status === 200 ? undefined : `${this.plan.ask} answered ${response.status} for it`;
    } catch (error) {
      return `${this.plan.ask} could not be asked (${describeError(error)})`;
    }
  }

  private refuse(name: string, why: string): OnDemandResult {
    this.log.warn(`on-demand TLS: no certificate for ${name} (site ${this.plan.site}): ${why}`);
    return { refused: why };
  }
}

function asOnDemand(name: string, bundle: TlsBundle): TlsBundle {
  return freezeBundle({ ...bundle, id: `${ON_DEMAND_ID}${name}` });
}
