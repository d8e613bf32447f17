import { errorPage } from '../http/error-page.js';
import type { Exchange } from '../http/exchange.js';
import { Pipeline } from '../http/pipeline.js';
import type { Logger } from '../log/logger.js';
import { UnclaimedHosts } from '../log/unclaimed-hosts.js';

export interface RoutedSite {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly isDefault: boolean;
  /** Its `*` and `*.name` hosts get certificates as names arrive (on-demand TLS). */
  readonly onDemand?: boolean;
  readonly pipeline: Pipeline;
  /** Frees what the site holds beyond its requests (upstream pools, health checks) once it is replaced. */
  readonly close?: () => void;
}

/**
 * Which site answers an exchange, by the host it names: an exact name first, then a `*.` wildcard
 * over one label (as certificates match), then a site whose hosts include `*` (an on-demand
 * site for any name), then the default site; with none, a 404 page. Over TLS
 * the handshake already chose a site by SNI (its certificate was sent); a request whose host
 * names a different site gets 421 Misdirected Request (RFC 9110 §15.5.20), so no site's content
 * ever goes out under a certificate that was not issued for it.
 *
 * Every answer reaches a log: a 421 the log of the site the handshake chose (the connection is
 * that site's, as nginx logs it in the server block SNI picked); a request no site answers (no
 * default site) the operator log, through UnclaimedHosts.
 */
export class SiteRouter {
  private readonly exact = new Map<string, RoutedSite>();
  private readonly wildcard = new Map<string, RoutedSite>();
  private readonly anyName: RoutedSite | undefined;
  private readonly fallback: RoutedSite | undefined;
  private readonly notFound: Pipeline;
  /** A 421 per site the handshake may choose, logged as that site's; `undefined`'s when it chose none. */
  private readonly misdirected = new Map<RoutedSite | undefined, Pipeline>();
  private readonly unclaimed: UnclaimedHosts;

  constructor(
    readonly sites: readonly RoutedSite[],
    log: Logger,
  ) {
    for (const site of sites) {
      for (const host of site.hosts) {
        if (host === '*') this.anyName ??= site;
        else if (host.startsWith('*.')) this.wildcard.set(host.slice(1), site);
        else this.exact.set(host, site);
      }
    }
    this.fallback = sites.find((site) => site.isDefault);
    this.unclaimed = new UnclaimedHosts(log);
    this.notFound = new Pipeline([(exchange) => errorPage(404, exchange.method === 'HEAD')], log);
    this.notFound.onResponse((finished) => this.unclaimed.record(finished, 'no default site'));
    for (const site of [...sites, undefined]) {
      const misdirected = new Pipeline([(exchange) => errorPage(421, exchange.method === 'HEAD')], log);
      if (site === undefined) misdirected.onResponse((finished) => this.unclaimed.record(finished, 'the TLS handshake named no site'));
      else if (site.pipeline.observed) misdirected.onResponse((finished) => site.pipeline.finished(finished));
      this.misdirected.set(site, misdirected);
    }
  }

  select(exchange: Exchange): Pipeline {
    const site = this.match(exchange.host) ?? this.fallback;
    if (exchange.secure) {
      const chosen = exchange.servername === undefined ? this.fallback : (this.match(exchange.servername) ?? this.fallback);
      if (chosen !== site) return this.misdirected.get(chosen)!;
    }
    return site === undefined ? this.notFound : site.pipeline;
  }

  /** The sites were replaced (a reload): what they hold is freed once their requests in flight finish. */
  close(): void {
    this.unclaimed.report();
    for (const site of this.sites) site.close?.();
  }

  /** The site a name belongs to, without the default. */
  match(name: string): RoutedSite | undefined {
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact;
    const dot = this.wildcard.size === 0 ? -1 : name.indexOf('.');
    return (dot === -1 ? undefined : this.wildcard.get(name.slice(dot))) ?? this.anyName;
  }
}
