import { ANSWERING_UPSTREAM, SIGNED_IN_USER } from '../http/request-state.js';
import type { BlockList } from 'node:net';
import type { SitePlan } from '../config/plan.js';
import type { ExchangeEnd, ExchangeLabel, ExchangeListener } from '../http/exchange-observer.js';
import type { AccessRecord } from '../log/w3c-fields.js';
import type { W3cLog } from '../log/w3c-log.js';
import type { AccessLogs } from './access-logs.js';
import { addressList, clientAddress } from '../http/client-address.js';

/**
 * A site's label for the worker's ExchangeObserver: its name, and its access log (if it has one)
 * as the place its exchanges end. Made with the site's pipeline, once per configuration, so an
 * exchange in flight across a reload ends in the log of the site it started on.
 */
export function siteLabel(site: Pick<SitePlan, 'name' | 'accessLog' | 'trustedProxies'>, logs: AccessLogs): ExchangeLabel {
  return { site: site.name, answeredBy: 'site', log: site.accessLog ? accessLine(logs.use(site.accessLog), site) : undefined };
}

/** Writes each exchange's end as one line of the site's W3C log. */
function accessLine(log: W3cLog, site: Pick<SitePlan, 'name' | 'trustedProxies'>): ExchangeListener {
  const trusted = site.trustedProxies.length > 0 ? addressList(site.trustedProxies) : undefined;
  return (end) => log.write(new ExchangeRecord(end, site.name, trusted));
}

/**
 * One finished exchange as a log line sees it. Fields are read through getters, so what a line
 * does not show (a forwarded address) is never computed: logging is on the hot path of every
 * request.
 */
class ExchangeRecord implements AccessRecord {
  constructor(
    private readonly end: ExchangeEnd,
    readonly site: string,
    private readonly trusted: BlockList | undefined,
  ) {}

  get endedAt(): number {
    return this.end.endedAt;
  }
  get startedAt(): number {
    return this.end.startedAt;
  }
  get method(): string {
    return this.end.exchange.method;
  }
  get path(): string {
    return this.end.exchange.path;
  }
  get query(): string {
    return this.end.exchange.query;
  }
  get localAddress(): string | undefined {
    return this.end.exchange.localAddress;
  }
  get localPort(): number | undefined {
    return this.end.exchange.localPort;
  }
  get clientAddress(): string | undefined {
    return clientAddress(this.end.exchange, this.trusted);
  }
  get upstream(): { readonly address: string; readonly ms: number } | undefined {
    return this.end.exchange.state.get(ANSWERING_UPSTREAM);
  }

  get user(): string | undefined {
    return this.end.exchange.state.get(SIGNED_IN_USER);
  }
  get status(): number {
    return this.end.status;
  }
  get complete(): boolean {
    return this.end.complete;
  }
  get bytesSent(): number {
    return this.end.bytesSent;
  }
  get bytesReceived(): number {
    return this.end.bytesReceived;
  }
  get protocol(): string {
    return this.end.exchange.protocol;
  }
  header(name: string): string | undefined {
    return this.end.exchange.header(name);
  }
}
