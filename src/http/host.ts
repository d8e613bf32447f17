/**
 * The host a request names, from `Host` (HTTP/1.1), `:authority` (HTTP/2) or an absolute-form
 * target: `host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2). Pure.
 *
 * The name comes back lower-cased, without its port or a trailing dot, ready to compare with a
 * site's names; an IPv6 literal keeps its brackets. Undefined means the value is not a valid
 * authority (a space, a slash, two ports, a bad port…): the request gets 400 (RFC 9112 §3.2).
 * An empty value is valid (a URI with an empty authority) and gives the name ''.
 */
export interface RequestHost {
  readonly name: string;
  readonly port: number | undefined;
}

const REG_NAME = /^(?:[a-z0-9\-._~!$&'()*+,;=]|%[0-9a-f]{2})*$/i;
const IPV6_LITERAL = /^\[[0-9a-f:.]+\]$/i;

export function parseHost(value: string): RequestHost | undefined {
  let host = value;
  let port: number | undefined;
  const colon = value.lastIndexOf(':');
  if (colon !== -1 && !value.endsWith(']') && (value[0] !== '[' || value.lastIndexOf(']') < colon)) {
    const digits = value.slice(colon + 1);
    if (!/^\d{0,5}$/.test(digits)) return undefined;
    port = digits === '' ? undefined : Number(digits);
    if (port !== undefined && port > 65535) return undefined;
    host = value.slice(0, colon);
  }
  if (host.startsWith('[')) return IPV6_LITERAL.test(host) ? { name: host.toLowerCase(), port } : undefined;
  if (!REG_NAME.test(host)) return undefined;
  const lower = host.toLowerCase();
  const name = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  // An empty label (`a..`, `a..b`, `.a`) names no host: found by fuzzing (fuzz/corpus/host).
  if (lower.startsWith('.') || lower.includes('..')) return undefined;
  return { name, port };
}

/**
 * An absolute-form request-target (`http://host/path?q`, RFC 9112 §3.2.2): its authority stands
 * for Host and its path and query are the target. Undefined when it is not one.
 */
export function splitAbsoluteForm(target: string): { authority: string; target: string } | undefined {
  const match = /^https?:\/\/([^/?#]*)([^#]*)$/i.exec(target);
  if (!match) return undefined;
  const rest = match[2] ?? '';
  return { authority: match[1] ?? '', target: rest.startsWith('/') ? rest : `/${rest}` };
}
