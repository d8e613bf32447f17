import { errorPage } from '../http/error-page.js';
import type { Exchange } from '../http/exchange.js';
import type { AnsweredBy, ExchangeLabel } from '../http/exchange-observer.js';
import type { Handler } from '../http/handler.js';
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
 * that site's, as nginx logs it in the server block SNI picked); an ACME challenge the log of the
 * site its host names; a request no site answers (no default site) the operator log, through
 * UnclaimedHosts. Each pipeline's label says so to the worker's ExchangeObserver.
 */
export class SiteRouter {
  private readonly exact = new Map<string, RoutedSite>();
  private readonly wildcard = new Map<string, RoutedSite>();
  private readonly anyName: RoutedSite | undefined;
  private readonly fallback: RoutedSite | undefined;
  private readonly notFound: Pipeline;
  /** A 421 per site the handshake may choose, logged as that site's; `undefined`'s when it chose none. */
  private readonly misdirected = new Map<RoutedSite | undefined, Pipeline>();
  /** ACME http-01 answers per site their host names, made on the first challenge (`challenge`). */
  private readonly challenges = new Map<RoutedSite | undefined, Pipeline>();
  private readonly unclaimed: UnclaimedHosts;

  constructor(
    readonly sites: readonly RoutedSite[],
    private readonly log: Logger,
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
    this.notFound = new Pipeline([(exchange) => errorPage(404, exchange.method === 'HEAD')], log, undefined, {}, this.labelFor(undefined, 'not-found', 'no default site'));
    for (const site of [...sites, undefined]) {
      this.misdirected.set(site, new Pipeline([(exchange) => errorPage(421, exchange.method === 'HEAD')], log, undefined, {}, this.labelFor(site, 'misdirected', 'the TLS handshake named no site')));
    }
  }

  /**
   * The pipeline that answers an ACME http-01 challenge (`answer`: the worker's one challenge
   * handler) as the site the request's host names: counted and logged as that site's, or as
   * unclaimed without one. Before any site's redirects or rules: a CA must reach it over HTTP.
   */
  challenge(exchange: Exchange, answer: Handler): Pipeline {
    const site = this.match(exchange.host) ?? this.fallback;
    let pipeline = this.challenges.get(site);
    if (pipeline === undefined) {
      pipeline = new Pipeline([answer], this.log, undefined, {}, this.labelFor(site, 'acme', 'an ACME challenge'));
      this.challenges.set(site, pipeline);
    }
    return pipeline;
  }

  /** A label for answers the router gives itself: logged as the site's, or without a site as unclaimed (`reason`). */
  private labelFor(site: RoutedSite | undefined, answeredBy: AnsweredBy, reason: string): ExchangeLabel {
    if (site !== undefined) return { site: site.name, answeredBy, log: site.pipeline.label.log };
    return { site: undefined, answeredBy, log: (end) => this.unclaimed.record(end, reason) };
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
