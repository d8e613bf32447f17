import { z } from 'zod';
import { KEY_TYPES } from '../tls/key-types.js';
import { W3C_FIELDS } from '../log/w3c-fields.js';
import { DEFAULT_STATE_DIR_TEXT, DEFAULTS } from './defaults.js';
import { proxyRouteSchema } from '../proxy/proxy-config.js';
import { HANDLER_KINDS } from '../routes/registry.js';
import { kindSchema, SCHEMA_KIT } from './schema-kit.js';
import { SITE_RULE_KINDS } from '../routes/site-rules-route.js';
import { caseSensitive, duration, headerName, path, pathPattern, port, size } from './schema-values.js';

/**
 * The config file's one definition: its shape, its defaults where they are plain values, and the
 * words editors show. `portico.schema.json` is generated from it (`npm run schema`), and the
 * loader checks files against it before the checks that need the disk (src/config/config-file.ts).
 * Values that need parsing (durations, sizes, host names) are strings here; the loader parses
 * them with the same functions the command-line flags use (values.ts), so both report the same
 * way. The defaults the descriptions name are src/config/defaults.ts's, which the loader applies.
 *
 * The keys of the sites issue are a contract: http, https, bind, state, workers, sites, and in a
 * site name, hosts, root, default, browse, tls, log, vdirs. Add keys; never rename one.
 */


const vdir = z
  .strictObject({
    path: z.string({ error: 'must be a URL path such as /downloads' }).meta({ description: 'the URL prefix, starting with /' }),
    root: path.meta({ description: 'the folder served under that prefix' }),
    browse: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'list folders without an index.html (default: the site’s browse)' }),
  })
  .meta({ description: 'a virtual directory: a URL prefix served from another folder' });

const tlsFiles = z.strictObject({
  cert: path.meta({ description: 'PEM certificate chain, leaf first' }),
  passphraseFile: path.optional().meta({ description: 'a file holding the passphrase of an encrypted key (first line)' }),
  key: path.meta({ description: 'PEM private key of the leaf' }),
});

const acmeSettings = z.strictObject({
      directory: z.string({ error: 'must be the URL of an ACME directory' }).regex(/^https:\/\//, { error: 'must be an https:// URL of an ACME directory' }).optional().meta({ description: "the ACME directory (default Let's Encrypt; staging: https://acme-staging-v02.api.letsencrypt.org/directory)" }),
      email: z.string({ error: 'must be an e-mail address' }).regex(/^[^@\s]+@[^@\s]+$/, { error: 'must be an e-mail address such as ops@example.test' }).optional().meta({ description: 'the account contact the CA writes to about expiry and problems' }),
      ca: path.optional().meta({ description: "extra roots to trust for the directory's own HTTPS (a test CA)" }),
      challenges: z.array(z.enum(['http-01', 'tls-alpn-01'], { error: 'must be http-01 or tls-alpn-01' })).min(1).optional().meta({ description: `challenge types, tried in this order (default [${DEFAULTS.acme.challenges.join(', ')}])` }),
});

const acme = z.strictObject({ acme: acmeSettings }).meta({ description: 'a certificate from an ACME CA such as Let’s Encrypt' });

/** A whole number from `min` (to `max`), each failure said in `what` terms: not whole, or outside its range. */
const wholeNumber = (notWhole: string, outside: string, min: number, max?: number) => {
  const atLeast = z.number({ error: notWhole }).int({ error: notWhole }).min(min, { error: outside });
  return max === undefined ? atLeast : atLeast.max(max, { error: outside });
};
const count = (what: string) => wholeNumber(`must be a whole number of ${what}`, `must be 1 or more ${what}`, 1);
const onDemand = z
  .strictObject({
    onDemand: z.strictObject({
      ask: z.string({ error: 'must be the URL Portico asks before ordering, such as http://127.0.0.1:5555/allowed' }).regex(/^https?:\/\/\S+$/, { error: 'must be an http:// or https:// URL, such as http://127.0.0.1:5555/allowed' }).meta({ description: 'asked GET URL?domain=NAME before a certificate is ordered for NAME; only 200 allows it' }),
      ratePerMinute: count('certificates').optional().meta({ description: `at most this many orders a minute for this site (default ${DEFAULTS.onDemand.ratePerMinute})` }),
      concurrency: count('orders').optional().meta({ description: `at most this many orders at once (default ${DEFAULTS.onDemand.concurrency})` }),
      max: count('certificates').optional().meta({ description: `at most this many on-demand certificates in all (default ${DEFAULTS.onDemand.max})` }),
    }),
    acme: acmeSettings.optional().meta({ description: 'order them from this ACME CA (default: the internal CA)' }),
  })
  .meta({ description: 'on-demand TLS: a certificate is obtained during the first handshake for a name the site’s * or *.name hosts match, if the ask URL allows it' });

const accessLog = z
  .strictObject({
    dir: path.meta({ description: 'folder of the W3C Extended log files, one per UTC day: u_exYYMMDD.log' }),
    fields: z
      .array(z.enum(W3C_FIELDS, { error: `must be a W3C field: ${W3C_FIELDS.join(', ')}` }))
      .min(1, { error: 'must name at least one field' })
      .optional()
      .meta({ description: 'fields of each line, in order (default: the IIS defaults)' }),
  })
  .meta({ description: 'this site’s access log (W3C Extended, as IIS writes it)' });

const oneOrMore = (item: z.ZodString, what: string) => z.union([item, z.array(item).min(1)], { error: `must be ${what}, or a list of them` });
const routeMatch = z
  .strictObject({
    path: oneOrMore(pathPattern, 'a path pattern').optional().meta({ description: 'path patterns, as the rules have them; any may match' }),
    caseSensitive,
    method: oneOrMore(z.string({ error: 'must be a method such as GET' }).regex(/^[A-Za-z]+$/, { error: 'must be a method such as GET or POST' }), 'a method such as POST').optional().meta({ description: 'methods; any may match' }),
    header: z.record(headerName, oneOrMore(z.string({ error: 'must be a header value, or * for any' }), 'a value (* for any)'), { error: 'must map header names to values, such as { X-Api-Version: "2" }' }).optional().meta({ description: 'header → value (or a list, or * for present); every header must match' }),
    query: z.record(z.string(), oneOrMore(z.string({ error: 'must be a value, or * for any' }), 'a value (* for any)'), { error: 'must map parameters to values, such as { debug: "1" }' }).optional().meta({ description: 'query parameter → value (or a list, or * for present); every one must match' }),
    client: oneOrMore(z.string({ error: 'must be an IP address or a CIDR range such as 10.0.0.0/8' }), 'an IP address or a CIDR range').optional().meta({ description: 'the real client address (through trustedProxies) is in one of these' }),
  })
  .meta({ description: 'when the route applies: every condition given must hold' });

/**
 * One entry of a route's `handle` list, as the config file has it: a mapping with exactly one
 * key, a kind's name, whose value that kind's schema checks (`- respond: { status: 503 }`).
 */
export function handleEntrySchema(): z.ZodType<Record<string, unknown>> {
  const names = HANDLER_KINDS.map((kind) => kind.name);
  const shape = Object.fromEntries(HANDLER_KINDS.map((kind) => [kind.name, kindSchema(kind).optional().meta({ description: kind.description })]));
  return z
    .strictObject(shape)
    .refine((entry) => Object.keys(entry).length === 1, { error: `must name exactly one kind of handler: ${names.join(', ')}` })
    .meta({ description: `one handler: ${names.join(', ')}`, minProperties: 1, maxProperties: 1 }) as unknown as z.ZodType<Record<string, unknown>>;
}

const route = z
  .strictObject({
    name: z.string({ error: 'must be a name: letters, digits, - and _' }).regex(/^[A-Za-z0-9_-]+$/, { error: 'must be a name of letters, digits, - and _ (such as app)' }).optional().meta({ description: 'a name tryFiles can hand requests to (@name); a named route without match is reached only so' }),
    match: routeMatch.optional(),
    handle: z.array(handleEntrySchema(), { error: 'must be a list of handlers, such as [{ respond: { status: 503 } }]' }).min(1, { error: 'must list at least one handler' }).meta({ description: 'handlers, run in order: each may answer or pass the request on' }),
  })
  .meta({ description: 'a route: its conditions and its handlers' });

/** A site's rule key: its kind's schema, as a route's `- KIND:` entry has it (the key is shorthand for that entry). */
function siteRule<T>(kind: { readonly schema: (kit: typeof SCHEMA_KIT) => z.ZodType<T>; readonly description: string }) {
  return kindSchema(kind).optional().meta({ description: kind.description });
}

const siteRules = {
  tryFiles: z
    .array(z.string({ error: 'must be a path such as {path}, {path}.html, /index.html or =404' }), { error: 'must be a list such as ["{path}", "{path}.html", "/index.html"]' })
    .min(1, { error: 'must list at least one entry' })
    .optional()
    .meta({ description: 'the first that exists answers: {path} is the request path; the last may be =404' }),
  errors: siteRule(SITE_RULE_KINDS.errors),
  headers: siteRule(SITE_RULE_KINDS.headers),
  cors: siteRule(SITE_RULE_KINDS.cors),
  auth: siteRule(SITE_RULE_KINDS.auth),
  redirects: siteRule(SITE_RULE_KINDS.redirects),
  httpsRedirect: siteRule(SITE_RULE_KINDS.httpsRedirect),
  hsts: siteRule(SITE_RULE_KINDS.hsts),
  symlinks: z.enum(['inside', 'follow'], { error: 'must be inside or follow' }).optional().meta({ description: 'inside (default): refuse links that leave the root; follow: serve them (as nginx and Caddy do)' }),
};

/** A site's names are one certificate's: Let's Encrypt takes 100, and no CA anything like this. */
const MAX_SITE_HOSTS = 1000;

export const siteSchema = z
  .strictObject({
    name: z.string({ error: 'must be a name: lower-case letters, digits and -' }).regex(/^[a-z0-9-]+$/, { error: 'must be a name of lower-case letters, digits and - (for example docs or shop-eu)' }).max(63, { error: 'must be at most 63 characters' }),
    hosts: z.array(z.string({ error: 'must be a host name, *.name or an IP address' }), { error: 'must be a list of host names, such as [example.test, "*.example.test"]' }).min(1, { error: 'must list at least one host name' }).max(MAX_SITE_HOSTS, { error: `must list at most ${MAX_SITE_HOSTS} names (one certificate covers them all); for more, use *.name or tls.onDemand` }).meta({ description: 'names this site answers: Host, :authority and SNI; *.name matches one label; * any name (with tls.onDemand)' }),
    root: path.optional().meta({ description: 'the folder this site serves; must exist (optional when a proxy route has path /)' }),
    default: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'answer requests whose Host matches no site (at most one site)' }),
    browse: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'list folders that have no index.html (default false: 403)' }),
    cacheControl: z.string({ error: 'must be a Cache-Control value such as "no-cache" or "public, max-age=3600"' }).optional().meta({ description: `Cache-Control for files (default "${DEFAULTS.cacheControl}": revalidate each time)` }),
    tls: z
      .union([z.literal('internal'), tlsFiles, acme, onDemand], { error: 'must be internal, { cert: FILE, key: FILE }, { acme: { email: … } }, or { onDemand: { ask: URL } }' })
      .optional()
      .meta({ description: 'internal (default): a certificate from Portico’s own CA; or your own PEM files' }),
    log: accessLog.optional(),
    vdirs: z.array(vdir, { error: 'must be a list of { path, root } entries' }).optional(),
    proxy: z.array(proxyRouteSchema(SCHEMA_KIT), { error: 'must be a list of { path, to } routes' }).optional().meta({ description: 'reverse proxy: the first route whose path prefix matches answers; files serve the rest' }),
    routes: z.array(route, { error: 'must be a list of routes, each { match, handle }' }).optional().meta({ description: 'routes, in order, after the site’s rules and before its proxy and files: the first whose handlers answer wins' }),
    ...siteRules,
  })
  .meta({ description: 'one site: its names, its folder, its certificate and its log' });

const limits = z
  .strictObject({
    headerTimeout: duration.optional().meta({ description: `a client must send its request headers within this (default ${DEFAULTS.limits.headerTimeout})` }),
    keepAliveTimeout: duration.optional().meta({ description: `an idle keep-alive connection is closed after this (default ${DEFAULTS.limits.keepAliveTimeout}; a load balancer in front usually wants more than its own)` }),
    sendTimeout: duration.optional().meta({ description: `a client that stops reading a response is dropped after this (default ${DEFAULTS.limits.sendTimeout})` }),
    bodyTimeout: duration.optional().meta({ description: `a request body that sends nothing for this long is refused with 408 (default ${DEFAULTS.limits.bodyTimeout})` }),
    handshakeHold: duration.optional().meta({ description: `how long a handshake waits for a certificate (default ${DEFAULTS.limits.handshakeHold})` }),
    http2IdleTimeout: duration.optional().meta({ description: `an idle HTTP/2 connection is closed after this (default ${DEFAULTS.limits.http2IdleTimeout})` }),
    shutdownGrace: duration.optional().meta({ description: `how long a stopping worker waits for requests in flight (default ${DEFAULTS.limits.shutdownGrace})` }),
    maxBodySize: size.optional().meta({ description: `larger request bodies get 413 (default ${DEFAULTS.limits.maxBodySize})` }),
    maxHeaderSize: size.optional().meta({ description: `request header block limit (default ${DEFAULTS.limits.maxHeaderSize})` }),
    maxRequestsPerConnection: wholeNumber('must be a whole number', 'must be 1 or more', 1).optional().meta({ description: `then the connection is closed or sent GOAWAY (default ${DEFAULTS.limits.maxRequestsPerConnection})` }),
    maxConnections: wholeNumber('must be a whole number', 'must be 0 (derived from the descriptor limit) or more', 0).optional().meta({ description: `open connections per worker; 0 derives it from the descriptor limit (default ${DEFAULTS.limits.maxConnections})` }),
    maxConnectionsPerAddress: wholeNumber('must be a whole number', 'must be 1 or more', 1).optional().meta({ description: `open connections per client address, per listener of each worker (default ${DEFAULTS.limits.maxConnectionsPerAddress})` }),
    http2MaxStreams: wholeNumber('must be a whole number', 'must be from 1 to 1000', 1, 1000).optional().meta({ description: `concurrent streams per HTTP/2 connection (default ${DEFAULTS.limits.http2MaxStreams})` }),
  })
  .meta({ description: 'timeouts and limits, for every site' });

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'the JSON Schema of this file, for editors' }),
    http: port.optional().meta({ description: `plain HTTP port for every site; 0: any free port; off: none (default ${DEFAULTS.http})` }),
    https: port.optional().meta({ description: `HTTPS port, HTTP/2 and HTTP/1.1; 0: any free port; off: none (default ${DEFAULTS.https})` }),
    bind: z.string({ error: 'must be an IP address such as 127.0.0.1 or ::1' }).optional().meta({ description: 'listen on this IP address only (default: every interface)' }),
    state: path.optional().meta({ description: `where keys, certificates and the CA live (default ${DEFAULT_STATE_DIR_TEXT})` }),
    workers: z.number({ error: 'must be a number of worker processes, 1 to 256' }).int().min(1).max(256).optional().meta({ description: `worker processes (default: ${DEFAULTS.workers})` }),
    logFormat: z.enum(['text', 'json'], { error: 'must be text or json' }).optional().meta({ description: `the operator log on stderr: text lines or JSON lines (default ${DEFAULTS.logFormat})` }),
    internalCa: z
      .strictObject({
        keyType: z.enum(KEY_TYPES, { error: `must be one of ${KEY_TYPES.join(', ')}` }).optional().meta({ description: `key type of the leaves the internal CA issues (default ${DEFAULTS.keyType})` }),
        certLifetime: duration.optional().meta({ description: `lifetime of those leaves, renewed at two thirds (default ${DEFAULTS.certLifetime})` }),
      })
      .optional(),
    limits: limits.optional(),
    tlsGroups: z
      .array(z.string({ error: 'must be a key exchange group name such as X25519MLKEM768, X25519 or P-256' }), { error: 'must be a list of key exchange groups, most preferred first' })
      .min(1, { error: 'must name at least one group' })
      .optional()
      .meta({ description: 'TLS key exchange groups, most preferred first (default: X25519MLKEM768 where the runtime has it, X25519, P-256, P-384); see docs/tls.md' }),
    storage: z
      .strictObject({
        redis: z
          .strictObject({
            url: z.string({ error: 'must be a Redis URL such as redis://127.0.0.1:6379/0' }).regex(/^rediss?:\/\/\S+$/, { error: 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0' }).meta({ description: 'the Redis server every instance of the fleet uses (rediss:// for TLS)' }),
            prefix: z.string({ error: 'must be a key prefix: letters, digits, ., _ and -' }).regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be a key prefix of letters, digits, ., _ and - (up to 64)' }).optional().meta({ description: `every key Portico writes starts with PREFIX: (default ${DEFAULTS.redis.prefix})` }),
            lease: duration.optional().meta({ description: `how long a lock lasts unless its holder renews it; renewed every third (default ${DEFAULTS.redis.lease})` }),
          })
          .meta({ description: 'a Redis server shared by a fleet: certificates, ACME accounts, challenge answers and the locks that make each certificate ordered once' }),
      })
      .optional()
      .meta({ description: 'where key material lives (default: the state folder on disk)' }),
    trustedProxies: z
      .array(z.string({ error: 'must be an IP address or a CIDR range such as 10.0.0.0/8' }))
      .optional()
      .meta({ description: 'addresses whose X-Forwarded-For gives the client address (c-ip) in access logs' }),
    sites: z.array(siteSchema, { error: 'must be a list of sites' }).min(1, { error: 'must list at least one site' }),
  })
  .meta({ title: 'Portico configuration', description: 'portico serve --config FILE; see docs/config.md' });

export type ConfigFile = z.infer<typeof configSchema>;
export type SiteConfig = z.infer<typeof siteSchema>;

/** The JSON Schema editors use (`# yaml-language-server: $schema=…`), generated from the definition above. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
}
