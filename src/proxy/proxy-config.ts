import type { z } from 'zod';
import type { SchemaKit } from '../config/schema-kit.js';
import type { ProxyRoute } from '../config/plan.js';
import { DEFAULTS, MINIMUM_MS } from '../config/defaults.js';
import { parseDurationOption } from '../config/values.js';
import { resolve } from 'node:path';
import type { PlanningContext } from '../routes/kind.js';

/**
 * The proxy's config as users write it: as a route's handler (`- proxy: { to: [...] }`) and, with
 * a `path`, as a site's `proxy:` shorthand list. One definition for both.
 */

export function proxyConfigSchema({ z, duration, path }: SchemaKit) {
  const upstreamUrl = z.string({ error: 'must be an upstream URL such as http://127.0.0.1:3000' }).regex(/^https?:\/\/[^/\s?#]+\/?$/, { error: 'must be an upstream origin: http:// or https://, a host and a port, no path (such as http://127.0.0.1:3000)' });
  return z
    .strictObject({
      to: z.array(upstreamUrl, { error: 'must be a list of upstream URLs, such as [http://127.0.0.1:3000]' }).min(1, { error: 'must list at least one upstream' }).meta({ description: 'the upstreams: http:// or https:// origins' }),
      balance: z.enum(['round_robin', 'least_conn', 'first', 'ip_hash'], { error: 'must be round_robin, least_conn, first or ip_hash' }).optional().meta({ description: `how a request picks an upstream (default ${DEFAULTS.proxy.balance})` }),
      health: z
        .strictObject({
          path: z.string({ error: 'must be a path such as /health' }).regex(/^\//, { error: 'must be a path starting with /, such as /health' }).meta({ description: 'GET this on every upstream; 2xx or 3xx is up' }),
          interval: duration.optional().meta({ description: `how often (default ${DEFAULTS.proxy.healthInterval})` }),
        })
        .optional()
        .meta({ description: 'active health checks (passive ones always run: a refused or reset upstream is down for downFor)' }),
      timeouts: z
        .strictObject({
          connect: duration.optional().meta({ description: `to connect to an upstream (default ${DEFAULTS.proxy.connect}); then 502` }),
          response: duration.optional().meta({ description: `for its response to begin, and between its body chunks (default ${DEFAULTS.proxy.response}); then 504` }),
          idle: duration.optional().meta({ description: `a WebSocket with no traffic either way is closed after this (default ${DEFAULTS.proxy.idle})` }),
        })
        .optional(),
      downFor: duration.optional().meta({ description: `an upstream that refused or reset is not tried again for this long (default ${DEFAULTS.proxy.downFor})` }),
      host: z.enum(['keep', 'upstream'], { error: 'must be keep or upstream' }).optional().meta({ description: 'the Host the upstream sees: the client’s (keep, default) or the upstream’s own' }),
      via: z.boolean({ error: 'must be true or false' }).optional().meta({ description: `add Via: 1.1 portico (default ${DEFAULTS.proxy.via})` }),
      rewriteLocation: z.boolean({ error: 'must be true or false' }).optional().meta({ description: `a Location pointing at the upstream is turned into one at this site (default ${DEFAULTS.proxy.rewriteLocation})` }),
      cookieDomain: z.string({ error: 'must be a domain such as example.test' }).optional().meta({ description: 'rewrite the Domain attribute of the upstream’s Set-Cookie to this' }),
      ca: path.optional().meta({ description: 'roots to trust for https:// upstreams (default: the system’s)' }),
    })
    .meta({ description: 'a reverse proxy: the upstreams that answer, and how' });
}

export function proxyRouteSchema(kit: SchemaKit) {
  const { z } = kit;
  const routePath = z.string({ error: 'must be a URL path prefix such as /api/' }).regex(/^\//, { error: 'must be a URL path prefix starting with /, such as /api/ (/ for everything)' }).meta({ description: 'requests whose path starts with this go to the upstreams (the first matching route wins)' });
  return proxyConfigSchema(kit).extend({ path: routePath }).meta({ description: 'a reverse-proxy route: a path prefix and the upstreams that answer it' });
}

export type ProxyConfig = z.infer<ReturnType<typeof proxyConfigSchema>>;

/** A route's proxy as planned, its `ca` still a file to read (the shorthand reads it with the other files). */
export type ProxyValues = Omit<ProxyRoute, 'ca'> & { readonly caFile: string | undefined };

/**
 * The proxy's values with their defaults, durations parsed; `report` gets a problem at a key
 * under the config. `path` is the shorthand route's prefix ('' for a route's handler).
 */
export function proxyValues(config: ProxyConfig, path: string, base: string, report: PlanningContext['report']): ProxyValues {
  // A default is parsed as if written, so each is written once (defaults.ts); the 0 after a problem is never served.
  const time = (key: readonly (string | number)[], text: string, minimum: number): number => {
    const parsed = parseDurationOption(text, minimum);
    if ('value' in parsed) return parsed.value;
    report(key, parsed.problem);
    return 0;
  };
  return {
    path,
    to: config.to.map((origin) => origin.replace(/\/$/, '')),
    balance: config.balance ?? DEFAULTS.proxy.balance,
    health: config.health && { path: config.health.path, intervalMs: time(['health', 'interval'], config.health.interval ?? DEFAULTS.proxy.healthInterval, MINIMUM_MS.healthInterval) },
    connectTimeoutMs: time(['timeouts', 'connect'], config.timeouts?.connect ?? DEFAULTS.proxy.connect, MINIMUM_MS.proxyTimeout),
    responseTimeoutMs: time(['timeouts', 'response'], config.timeouts?.response ?? DEFAULTS.proxy.response, MINIMUM_MS.proxyTimeout),
    idleTimeoutMs: time(['timeouts', 'idle'], config.timeouts?.idle ?? DEFAULTS.proxy.idle, MINIMUM_MS.proxyTimeout),
    downForMs: time(['downFor'], config.downFor ?? DEFAULTS.proxy.downFor, MINIMUM_MS.downFor),
    host: config.host ?? DEFAULTS.proxy.host,
    via: config.via ?? DEFAULTS.proxy.via,
    rewriteLocation: config.rewriteLocation ?? DEFAULTS.proxy.rewriteLocation,
    cookieDomain: config.cookieDomain,
    caFile: config.ca === undefined ? undefined : resolve(base, config.ca),
  };
}
