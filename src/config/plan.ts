import type { W3cField } from '../log/w3c-fields.js';
import type { KeyType } from '../tls/key-types.js';

/**
 * What Portico runs, validated once in the primary and frozen: process settings, limits,
 * state, bindings, sites and the certificates they need. The primary keeps the TLS part;
 * workers receive only `WorkerPlan`, what serving needs.
 */
export interface Plan {
  readonly workers: number;
  readonly shutdownGraceMs: number;
  /** Where keys and certificates live. */
  readonly stateDir: string;
  readonly certificates: readonly CertificatePlan[];
  readonly serving: WorkerPlan;
  /** The config file this plan came from (absolute), read again on reload; undefined in flag mode. */
  readonly configFile: string | undefined;
  readonly logFormat: 'text' | 'json';
  /** Where key material lives: the state folder, or a Redis server a fleet shares. */
  readonly storage: StoragePlan;
  /** Sites that obtain certificates during handshakes (tls.onDemand). */
  readonly onDemand: readonly OnDemandPlan[];
}

/** On-demand TLS for one site: which names may get a certificate, from where, and how many. */
export interface OnDemandPlan {
  readonly site: string;
  readonly ask: string;
  readonly ratePerMinute: number;
  readonly concurrency: number;
  readonly max: number;
  readonly keyType: KeyType;
  readonly lifetimeMs: number;
  /** The ACME CA to order from; undefined: the internal CA. */
  readonly acme: Omit<AcmeCertificatePlan, 'source' | 'id' | 'hosts' | 'keyType' | 'lifetimeMs'> | undefined;
}

export type StoragePlan = { readonly kind: 'files' } | { readonly kind: 'redis'; readonly url: string; readonly prefix: string; readonly leaseMs: number };

/**
 * A certificate the primary provides for one site: obtained from the internal CA and kept
 * renewed, or read from the user's own files. `id` is what the site's plan refers to.
 */
export type CertificatePlan = InternalCertificatePlan | FileCertificatePlan | AcmeCertificatePlan;

/** A certificate from an ACME CA; until it is issued, the site is served with an internal one. */
export interface AcmeCertificatePlan {
  readonly source: 'acme';
  readonly id: string;
  readonly hosts: readonly string[];
  readonly keyType: KeyType;
  /** The internal certificate's lifetime, for the time before the ACME one arrives. */
  readonly lifetimeMs: number;
  readonly directory: string;
  readonly email: string | undefined;
  readonly caFile: string | undefined;
  readonly challenges: readonly ('http-01' | 'tls-alpn-01')[];
}

export interface InternalCertificatePlan {
  readonly source: 'internal';
  readonly id: string;
  readonly hosts: readonly string[];
  readonly keyType: KeyType;
  readonly lifetimeMs: number;
}

export interface FileCertificatePlan {
  readonly source: 'files';
  readonly id: string;
  readonly hosts: readonly string[];
  readonly certFile: string;
  readonly keyFile: string;
  /** The file holding the key's passphrase, for an encrypted key. */
  readonly passphraseFile?: string;
}

/** What a worker receives over IPC: plain JSON. */
export interface WorkerPlan {
  readonly bindings: readonly Binding[];
  readonly sites: readonly SitePlan[];
  readonly limits: Limits;
  readonly shutdownGraceMs: number;
  /** Some site gets its certificate by ACME: answer challenges, also ones another instance of the fleet stored. */
  readonly answersAcme?: boolean;
  /** Key exchange groups, most preferred first; undefined: the defaults (tls-policy.ts). */
  readonly tlsGroups?: readonly string[];
  /** Set by the primary: each worker listens on its own socket (SO_REUSEPORT) rather than sharing the primary's. */
  readonly reusePort?: boolean;
}

export type BindingName = 'http' | 'https';

/** One listening socket. Port 0 asks the system for any free port; the bound one is reported. */
export interface Binding {
  readonly name: BindingName;
  readonly port: number;
  /** Undefined listens on every interface, as nginx and Caddy do. */
  readonly address: string | undefined;
  readonly tls: boolean;
  /** What set its port, as the user wrote it: `--https`, or `https: in FILE`; errors about the port name it. */
  readonly setting: string;
}

export interface SitePlan {
  readonly name: string;
  /** Lower-case names, exact or `*.` one-label wildcards, as in certificates; `*` (any name) on an on-demand site. */
  readonly hosts: readonly string[];
  /** Answers requests whose Host matches no site. */
  readonly isDefault: boolean;
  /** Undefined for a site whose every path is proxied. */
  readonly root: string | undefined;
  /** List folders without a default document (otherwise 403). */
  readonly browse: boolean;
  readonly cacheControl: string;
  readonly vdirs: readonly VirtualDirectory[];
  /** The certificate serving this site's names over TLS (a CertificatePlan id). */
  readonly certificateId: string | undefined;
  readonly accessLog: AccessLogPlan | undefined;
  /** Names its `*` and `*.name` hosts match get certificates during their first handshake. */
  readonly onDemand: boolean;
  /** Addresses (IPs and CIDR ranges) whose X-Forwarded-For gives the client address in logs. */
  readonly trustedProxies: readonly string[];
  readonly rules: SiteRules;
  /** Reverse-proxy routes, the first matching prefix wins; files serve the rest. */
  readonly proxy: readonly ProxyRoute[];
  /**
   * The routes the config file's `routes` key lists, in order. The site's other keys are
   * shorthand for routes around them (src/routes/site-routes.ts): its rules first, then these,
   * then its proxy routes, then its files.
   */
  readonly routes: readonly RoutePlan[];
}

/**
 * One route (caddy's Route): when every condition of `match` holds, its handlers run in order,
 * each passing the request on to the next, the last to the routes after it.
 */
export interface RoutePlan {
  /** A route a `tryFiles` entry can hand a request to (`@name`); with no `match`, reached only so. */
  readonly name: string | undefined;
  /** Undefined: every request (or, for a named route, none but those handed to it). */
  readonly match: MatchPlan | undefined;
  readonly handle: readonly HandlePlan[];
}

/** A route's conditions: all must hold; within one, any value may. */
export interface MatchPlan {
  /** Path patterns, as the rules have them (prefix/, exact, globs, *.ext), on the decoded, normalised path. */
  readonly path?: readonly string[];
  /** How `path` is compared: see AuthRule.caseSensitive. */
  readonly caseSensitive?: boolean;
  /** A raw path prefix, as a proxy route's `path` matches (`/api` takes `/api2` too): the shorthand's. */
  readonly prefix?: string;
  /** Methods, upper-case. */
  readonly method?: readonly string[];
  /** Header name (lower-case) → accepted values; `*`: present with any value. */
  readonly header?: Readonly<Record<string, readonly string[]>>;
  /** Query parameter → accepted values; `*`: present with any value. */
  readonly query?: Readonly<Record<string, readonly string[]>>;
  /** IP addresses and CIDR ranges the real client address (through trustedProxies) must be in. */
  readonly client?: readonly string[];
}

/** One handler of a route: a registered kind's name and its planned config (plain JSON). */
export interface HandlePlan {
  readonly kind: string;
  readonly config: unknown;
}

export type Balance = 'round_robin' | 'least_conn' | 'first' | 'ip_hash';

/** One reverse-proxy route (docs/proxy.md). */
export interface ProxyRoute {
  readonly path: string;
  /** Upstream origins (`http://127.0.0.1:3000`), without a trailing slash. */
  readonly to: readonly string[];
  readonly balance: Balance;
  readonly health: { readonly path: string; readonly intervalMs: number } | undefined;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly downForMs: number;
  readonly host: 'keep' | 'upstream';
  readonly via: boolean;
  readonly rewriteLocation: boolean;
  readonly cookieDomain: string | undefined;
  /** PEM roots for https:// upstreams, read at load. */
  readonly ca: string | undefined;
}

/** What a site can say beyond its files (docs/config.md, "Site rules"). */
export interface SiteRules {
  /** Candidates in order: `{path}`, `{path}.html`, `/index.html`; the last may be `=404`. */
  readonly tryFiles: readonly string[] | undefined;
  /** Status → a path under the root. */
  readonly errorPages: Readonly<Record<string, string>>;
  readonly headers: readonly HeaderRule[];
  readonly cors: CorsPlan | undefined;
  readonly auth: readonly AuthRule[];
  readonly redirects: readonly RedirectRule[];
  readonly httpsRedirect: boolean;
  /** The Strict-Transport-Security value, or undefined. */
  readonly hsts: string | undefined;
  readonly symlinks: 'inside' | 'follow';
}

export interface HeaderRule {
  readonly path: string;
  /** Also on error responses (status 400 and up), as nginx's `add_header … always`; otherwise 1xx–3xx only. */
  readonly always: boolean;
  /** How the path is compared: see AuthRule.caseSensitive. */
  readonly caseSensitive: boolean | undefined;
  /** Names lower-case. */
  readonly set: Readonly<Record<string, string>>;
  readonly add: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
}

export interface CorsPlan {
  /** Origins, or `*`. */
  readonly origins: readonly string[];
  readonly methods: readonly string[];
  readonly headers: readonly string[] | undefined;
  readonly credentials: boolean;
  readonly maxAge: number | undefined;
}

export interface AuthRule {
  readonly path: string;
  /**
   * Undefined (the default): exact on the site's files, case ignored on paths a proxy route
   * handles (many applications route `/ADMIN` as `/admin`); true: exact everywhere; false: case
   * ignored everywhere.
   */
  readonly caseSensitive: boolean | undefined;
  readonly realm: string;
  /** The htpasswd file, for messages. */
  readonly file: string;
  /** User → bcrypt hash, read from the file when the plan was made (and again on reload). */
  readonly users: Readonly<Record<string, string>>;
}

export interface RedirectRule {
  readonly from: string;
  readonly to: string;
  readonly status: 301 | 302 | 303 | 307 | 308;
}


/** A URL prefix served from another folder (IIS's virtual directory, nginx's `alias`). */
export interface VirtualDirectory {
  /** `/downloads`: no trailing slash; matches itself and everything below it. */
  readonly path: string;
  readonly root: string;
  readonly browse: boolean;
}

export interface AccessLogPlan {
  readonly dir: string;
  readonly fields: readonly W3cField[];
}

export interface Limits {
  /** A client must send its request headers within this time (slowloris). */
  readonly headerTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  readonly keepAliveTimeoutMs: number;
  /** How long a handshake that arrives before its certificate is ready is held. */
  readonly handshakeHoldMs: number;
  readonly maxHeaderBytes: number;
  readonly maxRequestTargetBytes: number;
  /** Concurrent streams per HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxHttp2Streams: number;
  readonly http2IdleTimeoutMs: number;
  /** A response that makes no progress for this long (the client stopped reading) is cut. */
  readonly sendTimeoutMs: number;
  /** A request body read as it arrives (the proxy's) that sends nothing for this long is cut: 408 (nginx's client_body_timeout). */
  readonly bodyTimeoutMs: number;
  /** Larger request bodies are refused with 413 before they are read. */
  readonly maxBodyBytes: number;
  /** After this many requests a connection is closed (HTTP/1.1) or sent GOAWAY (HTTP/2). */
  readonly maxRequestsPerConnection: number;
  /** Open connections per worker; 0 derives it from the process's descriptor limit. */
  readonly maxConnections: number;
  /** Open connections per client address, per listener of each worker. */
  readonly maxConnectionsPerAddress: number;
  /** Streams a client may reset per HTTP/2 connection within ten seconds (rapid reset). */
  readonly maxHttp2ResetsPer10s: number;
}

/** Deep-freezes a plan so no process can change what every process serves. */
export function freezePlan<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) freezePlan(inner);
    Object.freeze(value);
  }
  return value;
}
