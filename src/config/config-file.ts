import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { type ErrorCode, describeError, isPorticoError } from '../errors.js';
import { FILE_LIMITS, readNamedFile } from './named-file.js';
import { DEFAULT_W3C_FIELDS } from '../log/w3c-fields.js';
import { suggest } from '../text/suggest.js';
import { assemblePlan, type SiteInput } from './assemble-plan.js';
import { proxyValues } from '../proxy/proxy-config.js';
import { isBarePattern } from '../http/rules/path-pattern.js';
import { type ConfigFile, configSchema, type SiteConfig } from './config-schema.js';
import { offersGroup } from '../tls/key-exchange-groups.js';
import { DEFAULT_LIMITS, DEFAULTS, defaultMs, defaultStateDir, MINIMUM_MS } from './defaults.js';
import type { Binding, Limits, MatchPlan, Plan, RoutePlan } from './plan.js';
import { PlanError, type Problem, renderPath } from './problem.js';
import { parseSiteRules } from './site-rules-config.js';
import { type Parsed, parseAddressRange, parseBindAddress, parseDurationOption, parseHeaderValue, parseHostName, parseSize } from './values.js';

type Path = readonly (string | number)[];

/**
 * Reads a config file (YAML, or JSON, which is YAML too) into a Plan, or throws a PlanError
 * listing every problem found, each at its `FILE:LINE:COL` and config path: syntax first (a file
 * that does not parse has no structure to check), then structure against the schema, then
 * values, then what needs the disk or the whole file (src/config/assemble-plan.ts).
 */
export async function planFromConfigFile(file: string, cwd = process.cwd()): Promise<Plan> {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = (await readNamedFile(path, FILE_LIMITS.config)).toString('utf8');
  } catch (error) {
    if (isPorticoError(error)) throw new PlanError([{ path: '', problem: `the config file ${error.message}; give a YAML or JSON file`, code: error.code }]);
    throw new PlanError([{ path: '', problem: `cannot read the config file ${path}: ${describeError(error)}`, code: 'ERR_CONFIG_READ' }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (offset: number): string => {
    const { line, col } = lines.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    throw new PlanError(doc.errors.map((error) => ({ where: at(error.pos[0]), path: '', problem: yamlMessage(error.message), code: 'ERR_CONFIG_SYNTAX' })));
  }
  const expansion = aliasExpansion(doc);
  if (expansion !== undefined) {
    throw new PlanError([{ where: at(expansion), path: '', problem: `aliases from here on add more than ${MAX_ALIAS_VALUES} values to the file (an alias bomb, "billion laughs"?); write the values out, or use fewer aliases`, code: 'ERR_CONFIG_SYNTAX' }]);
  }
  const problems: Problem[] = [];
  const report = (configPath: Path, problem: string, code: ErrorCode, key = false): void => {
    problems.push({ where: at(offsetOf(doc, configPath, key)), path: renderPath(configPath), problem, code });
  };
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: MAX_ALIAS_VALUES });
  } catch (error) {
    // The yaml package's own alias guard, behind the one above; anything else it throws is a bug.
    if (!(error instanceof ReferenceError)) throw error;
    throw new PlanError([{ where: at(0), path: '', problem: `${error.message}; write the values out, or use fewer aliases`, code: 'ERR_CONFIG_SYNTAX' }]);
  }
  const parsed = configSchema.safeParse(tree ?? {}, { reportInput: true });
  if (!parsed.success) {
    reportSchemaIssues(parsed.error.issues, report);
    await checkTheRest(tree, parsed.error.issues, path, report);
    throw new PlanError(problems);
  }
  const plan = await toPlan(parsed.data, path, report);
  if (!plan) throw new PlanError(problems);
  return plan;
}

/**
 * After the schema found problems, the checks of what it did accept: the sites it found nothing
 * wrong with go through the value and disk checks (folders, certificate files, htpasswd, log
 * folders) and the checks between sites, so one run lists an unknown key in one site and a
 * missing folder in another. A top-level key the schema refused is left out, and with it every
 * top-level check (they would judge its default instead of what was written).
 */
async function checkTheRest(tree: unknown, issues: readonly z.core.$ZodIssue[], file: string, report: (path: Path, problem: string, code: ErrorCode) => void): Promise<void> {
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) return;
  const top: Record<string, unknown> = { ...tree };
  if (!Array.isArray(top.sites)) return;
  const badSites = new Set<unknown>();
  let topRefused = false;
  for (const issue of issues) {
    const [first, second] = issue.path;
    if (first === 'sites' && typeof second === 'number') badSites.add(second);
    else if (first === 'sites' || (first === undefined && issue.code !== 'unrecognized_keys')) return;
    else {
      topRefused = true;
      if (first !== undefined) delete top[first as string];
      if (issue.code === 'unrecognized_keys') for (const key of issue.keys) delete top[key];
    }
  }
  const indexes = top.sites.flatMap((_, i) => (badSites.has(i) ? [] : [i]));
  if (indexes.length === 0) return;
  const accepted = configSchema.safeParse({ ...top, sites: indexes.map((i) => (top.sites as unknown[])[i]) });
  if (!accepted.success) return;
  await toPlan(accepted.data, file, (path, problem, code) => {
    if (!topRefused || path[0] === 'sites') report(path, problem, code);
  }, indexes);
}

/** `siteIndexes`: where each of `config.sites` is in the file, when some were left out (checkTheRest). */
async function toPlan(config: ConfigFile, file: string, report: (path: Path, problem: string, code: ErrorCode) => void, siteIndexes?: readonly number[]): Promise<Plan | undefined> {
  const base = dirname(file);
  let failed = false;
  const check = <T>(path: Path, parsed: Parsed<T>, code: ErrorCode = 'ERR_CONFIG_INVALID'): T | undefined => {
    if ('value' in parsed) return parsed.value;
    failed = true;
    report(path, parsed.problem, code);
    return undefined;
  };
  const duration = (key: keyof typeof MINIMUM_MS & keyof NonNullable<ConfigFile['limits']>, fallback: number): number => {
    const text = config.limits?.[key];
    return typeof text === 'string' ? (check(['limits', key], parseDurationOption(text, MINIMUM_MS[key])) ?? fallback) : fallback;
  };
  const size = (key: 'maxBodySize' | 'maxHeaderSize', fallback: number): number => {
    const value = config.limits?.[key];
    return value === undefined ? fallback : (check(['limits', key], parseSize(value)) ?? fallback);
  };

  const httpPort = config.http ?? DEFAULTS.http;
  const httpsPort = config.https ?? DEFAULTS.https;
  if (httpPort === 'off' && httpsPort === 'off') check(['https'], { problem: 'and http are both off, so nothing would be served; give at least one of them a port' });
  if (typeof httpPort === 'number' && httpPort !== 0 && httpPort === httpsPort) check(['https'], { problem: `is ${httpPort}, the same as http; give them different ports` });
  const address = config.bind === undefined ? undefined : check(['bind'], parseBindAddress(config.bind));
  const keyType = config.internalCa?.keyType ?? DEFAULTS.keyType;
  const certLifetimeMs = check(['internalCa', 'certLifetime'], parseDurationOption(config.internalCa?.certLifetime ?? DEFAULTS.certLifetime, MINIMUM_MS.certLifetime)) ?? 0;
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    headerTimeoutMs: duration('headerTimeout', DEFAULT_LIMITS.headerTimeoutMs),
    keepAliveTimeoutMs: duration('keepAliveTimeout', DEFAULT_LIMITS.keepAliveTimeoutMs),
    sendTimeoutMs: duration('sendTimeout', DEFAULT_LIMITS.sendTimeoutMs),
    bodyTimeoutMs: duration('bodyTimeout', DEFAULT_LIMITS.bodyTimeoutMs),
    handshakeHoldMs: duration('handshakeHold', DEFAULT_LIMITS.handshakeHoldMs),
    http2IdleTimeoutMs: duration('http2IdleTimeout', DEFAULT_LIMITS.http2IdleTimeoutMs),
    maxBodyBytes: size('maxBodySize', DEFAULT_LIMITS.maxBodyBytes),
    maxHeaderBytes: size('maxHeaderSize', DEFAULT_LIMITS.maxHeaderBytes),
    maxRequestsPerConnection: config.limits?.maxRequestsPerConnection ?? DEFAULT_LIMITS.maxRequestsPerConnection,
    maxConnections: config.limits?.maxConnections ?? DEFAULT_LIMITS.maxConnections,
    maxConnectionsPerAddress: config.limits?.maxConnectionsPerAddress ?? DEFAULT_LIMITS.maxConnectionsPerAddress,
    maxHttp2Streams: config.limits?.http2MaxStreams ?? DEFAULT_LIMITS.maxHttp2Streams,
  };
  const shutdownGraceMs = duration('shutdownGrace', defaultMs(DEFAULTS.limits.shutdownGrace));
  const trustedProxies = (config.trustedProxies ?? []).map((entry, i) => check(['trustedProxies', i], parseAddressRange(entry)) ?? entry);
  const sites: SiteInput[] = config.sites.map((site, i) => {
    const at = (...rest: (string | number)[]): (string | number)[] => ['sites', siteIndexes?.[i] ?? i, ...rest];
    const hosts = [...new Set(site.hosts.map((host, j) => check(at('hosts', j), parseHostName(host)) ?? host))];
    const browse = site.browse ?? false;
    return {
      name: site.name,
      hosts,
      isDefault: site.default ?? false,
      root: site.root === undefined ? undefined : resolve(base, site.root),
      proxy: (site.proxy ?? []).map((route, j) => proxyValues(route, route.path, base, (key, problem) => check(at('proxy', j, ...key), { problem }))),
      browse,
      cacheControl: check(at('cacheControl'), parseHeaderValue(site.cacheControl ?? DEFAULTS.cacheControl)) ?? '',
      tls: siteTls(site.tls, base),
      onDemand:
        site.tls !== undefined && site.tls !== 'internal' && 'onDemand' in site.tls
          ? { ask: site.tls.onDemand.ask, ratePerMinute: site.tls.onDemand.ratePerMinute ?? DEFAULTS.onDemand.ratePerMinute, concurrency: site.tls.onDemand.concurrency ?? DEFAULTS.onDemand.concurrency, max: site.tls.onDemand.max ?? DEFAULTS.onDemand.max }
          : undefined,
      log: site.log && { dir: resolve(base, site.log.dir), fields: site.log.fields ?? DEFAULT_W3C_FIELDS },
      vdirs: (site.vdirs ?? []).map((vdir) => ({ path: vdir.path, root: resolve(base, vdir.root), browse: vdir.browse ?? browse })),
      routes: (site.routes ?? []).map((route, j) => routeInput(route, (key, parsed) => check(at('routes', j, ...key), parsed))),
      rules: parseSiteRules(site, at, check),
    };
  });
  const bindings: Binding[] = [];
  if (typeof httpPort === 'number') bindings.push({ name: 'http', port: httpPort, address, tls: false, setting: `http: in ${file}` });
  if (typeof httpsPort === 'number') bindings.push({ name: 'https', port: httpsPort, address, tls: true, setting: `https: in ${file}` });
  const input = {
    workers: config.workers ?? availableParallelism(),
    stateDir: resolve(base, config.state ?? defaultStateDir()),
    bindings,
    limits,
    shutdownGraceMs,
    keyType,
    certLifetimeMs,
    logFormat: config.logFormat ?? DEFAULTS.logFormat,
    configFile: file,
    trustedProxies,
    sites,
    ...(siteIndexes ? { siteIndexes } : {}),
    ...(config.tlsGroups ? { tlsGroups: config.tlsGroups.map((group, i) => check(['tlsGroups', i], offersGroup(group) ? { value: group } : { problem: `${JSON.stringify(group)} is not a key exchange group this runtime's OpenSSL (${process.versions.openssl}) offers; X25519MLKEM768 needs OpenSSL 3.5 (Node 24); X25519, P-256 and P-384 are everywhere` }) ?? group) } : {}),
    storage: config.storage?.redis
      ? { kind: 'redis' as const, url: config.storage.redis.url, prefix: config.storage.redis.prefix ?? DEFAULTS.redis.prefix, leaseMs: check(['storage', 'redis', 'lease'], parseDurationOption(config.storage.redis.lease ?? DEFAULTS.redis.lease, MINIMUM_MS.lease)) ?? 0 }
      : { kind: 'files' as const },
  };
  // Disk and whole-file checks run even after a value problem, so every problem is listed at once.
  const plan = await assemblePlan(input, (path, problem, code) => report(parsePath(path), problem, code));
  return failed ? undefined : plan;
}

/** A route as the schema checked it, in the plan's shape: one spelling per condition; handlers still as written. */
function routeInput(route: NonNullable<SiteConfig['routes']>[number], check: <T>(key: (string | number)[], parsed: Parsed<T>) => T | undefined): RoutePlan {
  const list = (value: string | string[] | undefined): string[] | undefined => (value === undefined ? undefined : [value].flat());
  const values = (record: Record<string, string | string[]> | undefined, lower: boolean): Record<string, string[]> | undefined => (record === undefined ? undefined : Object.fromEntries(Object.entries(record).map(([name, value]) => [lower ? name.toLowerCase() : name, [value].flat()])));
  const match = route.match;
  const client = list(match?.client)?.map((entry, i) => check(['match', 'client', i], parseAddressRange(entry)) ?? entry);
  const path = list(match?.path)?.map((pattern, i) => check(['match', 'path', i], pattern.startsWith('/') || isBarePattern(pattern) ? { value: pattern } : { problem: `${JSON.stringify(pattern)} is not a path pattern; start it with /, or write a file pattern such as *.js` }) ?? pattern);
  const plan: MatchPlan | undefined =
    match === undefined
      ? undefined
      : {
          ...(path ? { path } : {}),
          ...(match.caseSensitive !== undefined ? { caseSensitive: match.caseSensitive } : {}),
          ...(match.method ? { method: list(match.method)!.map((method) => method.toUpperCase()) } : {}),
          ...(match.header ? { header: values(match.header, true)! } : {}),
          ...(match.query ? { query: values(match.query, false)! } : {}),
          ...(client ? { client } : {}),
        };
  return { name: route.name, match: plan, handle: route.handle.map((entry) => {
    const [kind, config] = Object.entries(entry)[0]!;
    return { kind, config };
  }) };
}

/** A site's certificate source; an on-demand site's own names get theirs from its ACME CA, else the internal one. */
function siteTls(tls: SiteConfig['tls'], base: string): SiteInput['tls'] {
  if (tls === undefined || tls === 'internal') return 'internal';
  if ('cert' in tls) return { cert: resolve(base, tls.cert), key: resolve(base, tls.key), ...(tls.passphraseFile ? { passphraseFile: resolve(base, tls.passphraseFile) } : {}) };
  if (tls.acme === undefined) return 'internal';
  return { acme: { directory: tls.acme.directory ?? DEFAULTS.acme.directory, email: tls.acme.email, caFile: tls.acme.ca === undefined ? undefined : resolve(base, tls.acme.ca), challenges: tls.acme.challenges ?? [...DEFAULTS.acme.challenges] } };
}

/** Turns the schema's findings into problems: unknown keys (with a guess), missing keys, wrong values. */
function reportSchemaIssues(issues: readonly z.core.$ZodIssue[], report: (path: Path, problem: string, code: ErrorCode, key?: boolean) => void): void {
  const guessed = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = keysAt(issue.path);
    for (const key of issue.keys) {
      const guess = suggest(key, known);
      if (guess) guessed.add(renderPath([...issue.path, guess] as Path));
      const advice = guess ? `did you mean ${guess}?` : `the keys here are ${known.join(', ')}`;
      report([...issue.path, key] as Path, `is not a key here; ${advice}`, 'ERR_CONFIG_INVALID', true);
    }
  }
  for (const issue of issues) {
    const path = issue.path as Path;
    if (issue.code === 'unrecognized_keys') continue;
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      // `rooot` was reported with "did you mean root?"; "root is missing" would say it twice.
      if (!guessed.has(renderPath(path))) report(path, `is missing; add it (${describeKey(path)})`, 'ERR_CONFIG_INVALID');
      continue;
    }
    report(path, `got ${shortValue(issue.input)}; ${issueMessage(issue)}`, 'ERR_CONFIG_INVALID');
  }
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const custom = issue.message;
  switch (issue.code) {
    case 'too_small':
      return custom.startsWith('Too small') ? `must be at least ${String(issue.minimum)}` : custom;
    case 'too_big':
      return custom.startsWith('Too big') ? `must be at most ${String(issue.maximum)}` : custom;
    case 'invalid_type':
      return custom.startsWith('Invalid input') ? `must be ${issue.expected === 'int' ? 'a whole number' : `a ${issue.expected}`}` : custom;
    default:
      return custom;
  }
}

/** The keys the schema allows at a path, for guessing what a typo meant. */
function keysAt(path: readonly PropertyKey[]): string[] {
  let schema: unknown = configSchema;
  for (const step of path) {
    schema = unwrap(schema, step);
    const def = (schema as { _zod?: { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } } } | undefined)?._zod?.def;
    if (def?.type === 'object' && typeof step === 'string') schema = def.shape?.[step];
    else if (def?.type === 'array') schema = def.element;
    else return [];
  }
  const def = (unwrap(schema) as { _zod?: { def?: { shape?: Record<string, unknown> } } })._zod?.def;
  return Object.keys(def?.shape ?? {});
}

/** Through optional, default and union wrappers, to the object inside (of a union's, the one that has `key`, if one does). */
function unwrap(schema: unknown, key?: PropertyKey): unknown {
  let current = schema as { _zod?: { def?: { type?: string; innerType?: unknown; options?: unknown[] } } } | undefined;
  for (let i = 0; i < 8 && current?._zod?.def; i += 1) {
    const def = current._zod.def;
    if (def.type === 'optional' || def.type === 'default') current = def.innerType as typeof current;
    else if (def.type === 'union') {
      const objects = (def.options ?? []).filter((option) => (option as { _zod?: { def?: { type?: string } } })._zod?.def?.type === 'object') as { _zod: { def: { shape?: Record<string, unknown> } } }[];
      current = (objects.find((option) => typeof key === 'string' && key in (option._zod.def.shape ?? {})) ?? objects[0]) as typeof current;
    }
    else break;
  }
  return current;
}

function describeKey(path: Path): string {
  const last = path[path.length - 1];
  const hints: Record<string, string> = { name: 'a unique name of a-z, 0-9 and -', hosts: 'the names this site answers, e.g. [example.test]', root: 'the folder to serve', sites: 'a list of sites', dir: 'the log folder', path: 'a URL prefix such as /downloads', cert: 'a PEM certificate file', key: 'its PEM private key' };
  return hints[String(last)] ?? 'see docs/config.md';
}

function shortValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Where a path's value starts in the file; for a key that should not be there, the key itself. A missing key points at its parent. */
function offsetOf(doc: Document, path: Path, key: boolean): number {
  for (let length = path.length; length >= 0; length -= 1) {
    const prefix = path.slice(0, length);
    if (key && length === path.length) {
      const parent = doc.getIn(prefix.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === prefix[prefix.length - 1]);
        const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
        if (range) return range[0];
      }
      continue;
    }
    const node = length === 0 ? doc.contents : doc.getIn(prefix, true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return range[0];
  }
  return 0;
}

/** How many values aliases may add to a file, all together: far more than sharing a few settings takes. */
const MAX_ALIAS_VALUES = 10_000;

/**
 * Where aliases (`*name`) start to add more than MAX_ALIAS_VALUES values to the file, or
 * undefined if they do not. Each alias stands for a copy of what its anchor names, aliases
 * inside it included, so ten nested lists of ten aliases are 10^10 values ("billion laughs"),
 * which the schema check and every loop over sites or hosts would walk one by one.
 */
function aliasExpansion(doc: Document): number | undefined {
  const sizes = new Map<unknown, number>();
  const sizeOf = (node: unknown): number => {
    const known = sizes.get(node);
    if (known !== undefined) return known;
    // An anchor whose alias sits inside it would never end: count it as too large.
    sizes.set(node, Number.POSITIVE_INFINITY);
    let size = 1;
    if (isAlias(node)) size = sizeOf(node.resolve(doc));
    else if (isPair(node)) size = sizeOf(node.key) + sizeOf(node.value);
    else if (isMap(node) || isSeq(node)) for (const item of node.items) size += sizeOf(item);
    sizes.set(node, size);
    return size;
  };
  let added = 0;
  let found: number | undefined;
  const walk = (node: unknown): void => {
    if (found !== undefined) return;
    if (isAlias(node)) {
      added += sizeOf(node);
      if (added > MAX_ALIAS_VALUES) found = (node as YamlNode).range?.[0] ?? 0;
    } else if (isPair(node)) {
      walk(node.key);
      walk(node.value);
    } else if (isMap(node) || isSeq(node)) {
      for (const item of node.items) walk(item);
    }
  };
  walk(doc.contents);
  return found;
}


function parsePath(text: string): Path {
  const path: (string | number)[] = [];
  for (const match of text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) path.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  return path;
}

/** The first line of a YAML error, without the position the report already gives. */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return `${first.replace(/ at line \d+, column \d+:?$/, '')}; check the indentation and quoting here`;
}
