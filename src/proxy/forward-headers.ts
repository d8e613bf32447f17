import { isIP } from 'node:net';
import type { ProxyRoute } from '../config/plan.js';
import type { Exchange } from '../http/exchange.js';

/** Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'trailer', 'http2-settings']);
/** Set by this proxy from what it knows, never taken from an untrusted client. */
const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);
/**
 * Other fields by which a request claims a client's address, how it came or what it asked for
 * (read by frameworks and libraries such as request-ip, and PHP's HTTP_CLIENT_IP snippets): passed
 * on only from a trusted proxy, as is every other `X-Forwarded-*` (-Port, -Prefix, -Ssl, …).
 */
const CLAIMS = new Set([
  'x-real-ip', 'x-client-ip', 'client-ip', 'x-proxyuser-ip', 'true-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip', 'fastly-client-ip', 'x-forwarded', 'forwarded-for',
  'proxy-client-ip', 'wl-proxy-client-ip', 'akamai-client-ip', 'x-azure-clientip', 'x-appengine-user-ip', 'x-envoy-external-address', 'x-originating-ip', 'x-remote-ip', 'x-remote-addr', 'remote-addr', 'x-client-real-ip',
  // Claims of which URL or host was asked for, which IIS URL Rewrite, older Symfony and nginx's
  // auth_request route by: from a client they would route /api/x to /api/admin/x past the rule
  // that guards it. (Method overrides are the client's own request, and pass.)
  'x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-original-host', 'x-original-method', 'x-host', 'x-http-host-override', 'x-backend-host',
]);

/** Name shapes that claim the same: `x-original-*` (x-original-forwarded-for, …) and any `*-client-ip`. */
const CLAIM_SHAPES = /^x-original-|-client-?ip$/;

/**
 * Whether a client's field is withheld from the upstream: a name with an underscore (CGI-style
 * upstreams read `X_Forwarded_For` as `X-Forwarded-For`; nginx's `underscores_in_headers off`),
 * and, from a peer that is not a trusted proxy, a claim of address or scheme.
 */
function withheld(name: string, trustedPeer: boolean): boolean {
  return name.includes('_') || (!trustedPeer && (CLAIMS.has(name) || name.startsWith('x-forwarded-') || CLAIM_SHAPES.test(name)));
}

/** The fields a Connection header names, lower-case: hop-by-hop too. */
function connectionOptions(value: string | string[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const part of [value ?? []].flat().join(',').split(',')) {
    const name = part.trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}

export interface ForwardFacts {
  /** The address the request came from (the TCP peer). */
  readonly peer: string | undefined;
  /** Whether the peer is a configured trusted proxy: then its forwarding fields are extended, not replaced. */
  readonly trustedPeer: boolean;
  /** The Host the client asked for, with its port, as it sent it. */
  readonly host: string | undefined;
  /** The upstream's host:port, for `host: upstream`. */
  readonly upstreamHost: string;
}

/**
 * The request header fields an upstream gets (RFC 9110 §7.6, RFC 7239): hop-by-hop fields and
 * those Connection names removed; X-Forwarded-For/-Proto/-Host and Forwarded set from what this
 * proxy saw, extended only when the peer is a trusted proxy (a client cannot spoof its address);
 * names with an underscore dropped, and other address claims (X-Real-IP, …) unless from a trusted
 * proxy; Host kept or the upstream's; CDN-Loop extended (loop detection); Via when asked. Upgrade
 * and Connection are the tunnel's business.
 */
export function upstreamRequestHeaders(exchange: Exchange, route: ProxyRoute, facts: ForwardFacts): Record<string, string | string[]> {
  const named = connectionOptions(exchange.headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(exchange.headers)) {
    if (value === undefined || name.startsWith(':') || name === 'host' || HOP_BY_HOP.has(name) || named.has(name) || FORWARDING.has(name) || withheld(name, facts.trustedPeer)) continue;
    out[name] = value;
  }
  const proto = exchange.secure ? 'https' : 'http';
  const peer = facts.peer ?? 'unknown';
  const earlier = (name: string): string | undefined => (facts.trustedPeer ? exchange.header(name) : undefined);
  out['x-forwarded-for'] = earlier('x-forwarded-for') ? `${earlier('x-forwarded-for')}, ${peer}` : peer;
  out['x-forwarded-proto'] = earlier('x-forwarded-proto') ?? proto;
  const host = facts.host ?? exchange.host;
  out['x-forwarded-host'] = earlier('x-forwarded-host') ?? host;
  const element = `for=${forwardedNode(peer)};host=${quoteIfNeeded(host)};proto=${proto}`;
  out.forwarded = earlier('forwarded') ? `${earlier('forwarded')}, ${element}` : element;
  out.host = route.host === 'upstream' ? facts.upstreamHost : host;
  out['cdn-loop'] = exchange.header('cdn-loop') ? `${exchange.header('cdn-loop')}, portico` : 'portico';
  if (route.via) out.via = exchange.headers.via ? `${exchange.header('via')}, ${viaVersion(exchange)} portico` : `${viaVersion(exchange)} portico`;
  return out;
}

/**
 * How many Portico proxies a request may pass before the next refuses it (508): a chain of a few
 * is normal (an edge in front of an inner one), a route whose upstream is Portico itself loops
 * until the connection pool is full of its own requests, and then hangs.
 */
export const MAX_PORTICO_HOPS = 8;

/**
 * The times a request has passed through a Portico proxy already: the `portico` entries of its
 * CDN-Loop field (RFC 8586), which each Portico proxy extends as it forwards.
 */
export function porticoHops(exchange: Exchange): number {
  const field = exchange.header('cdn-loop');
  if (field === undefined) return 0;
  return field.split(',').filter((entry) => entry.split(';')[0]!.trim().toLowerCase() === 'portico').length;
}

export interface UpstreamAnswer {
  readonly headers: Record<string, string>;
  readonly cookies: readonly string[] | undefined;
}

/**
 * The response header fields a client gets from an upstream: hop-by-hop ones removed, Location
 * pointing at the upstream turned into one at this site (when asked), Set-Cookie domains
 * rewritten (when asked), Via when asked.
 */
export function clientResponseHeaders(raw: Record<string, string | string[] | undefined>, route: ProxyRoute, exchange: Exchange, upstreamOrigin: string, siteOrigin: string): UpstreamAnswer {
  const named = connectionOptions(raw.connection);
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (name === 'set-cookie') {
      cookies = [value].flat().map((cookie) => (route.cookieDomain === undefined ? cookie : cookie.replace(/;\s*domain=[^;]*/i, `; Domain=${route.cookieDomain}`)));
      continue;
    }
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const location = headers.location;
  if (route.rewriteLocation && location !== undefined && (location === upstreamOrigin || location.startsWith(`${upstreamOrigin}/`))) headers.location = siteOrigin + location.slice(upstreamOrigin.length);
  if (route.via) headers.via = headers.via ? `${headers.via}, ${viaVersion(exchange)} portico` : `${viaVersion(exchange)} portico`;
  return { headers, cookies };
}

function viaVersion(exchange: Exchange): string {
  return exchange.protocol === 'HTTP/2' ? '2' : '1.1';
}

/** RFC 7239 §6: an IPv6 address is bracketed and quoted; an IPv4 one as it is. */
function forwardedNode(address: string): string {
  return isIP(address) === 6 ? `"[${address}]"` : address;
}

function quoteIfNeeded(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}
