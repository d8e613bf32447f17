import type { BlockList } from 'node:net';
import type { z } from 'zod';
import type { SitePlan } from '../config/plan.js';
import type { SchemaKit } from '../config/schema-kit.js';
import type { ErrorCode } from '../errors.js';
import type { Exchange } from '../http/exchange.js';
import type { Handler, Next } from '../http/handler.js';
import type { FailureLimit } from '../limits/failure-limit.js';
import type { StaticCaches } from '../http/static/static-handler.js';
import type { Logger } from '../log/logger.js';

/**
 * A kind of handler a route can run (caddy's modules): its name is the key users write in a
 * route's `handle` list (`- respond: { status: 503 }`), its schema checks what they wrote, `plan`
 * turns that into plain JSON in the primary (files read, durations parsed), and `compile` makes
 * the handler from it in each worker, once per configuration.
 *
 * Adding a kind is a folder of its own and one line in HANDLER_KINDS (registry.ts): the config
 * file's schema, `portico.schema.json`, the loader and the workers all take it from there
 * (docs/design.md, "Adding a handler kind").
 */
export interface HandlerKind<Config = unknown, Planned = Config> {
  readonly name: string;
  /** What the kind does, in a line: the JSON Schema's description. */
  readonly description: string;
  /** Its config as users write it, built from the kit by the config loader (so a kind's module never loads zod). */
  readonly schema: (kit: SchemaKit) => z.ZodType<Config>;
  /**
   * In the primary, once per load: the checks that need the disk, and any parsing; the result is
   * sent to workers as JSON. Problems go to `context.report` (then nothing is served from this
   * config). Without it, the config as checked is the plan.
   */
  plan?(config: Config, context: PlanningContext): Planned | Promise<Planned>;
  /** In each worker, once per configuration: the handler. */
  compile(config: Planned, context: KindContext): CompiledKind | Promise<CompiledKind>;
}

/** A kind's handler, and what the transports and the site need to know of it. */
export interface CompiledKind {
  readonly handler: Handler;
  /**
   * Whether the handler reads this exchange's body as it arrives (the proxy, an application):
   * then `exchange.body` is set and the site's body limit does not apply. Asked before the
   * chain runs, for an exchange whose route the kind is on.
   */
  readonly readsBody?: (exchange: Exchange) => boolean;
  /**
   * What the kind does to an answer it did not make, if anything (error pages, header rules):
   * run on the transports' own refusals (400, 413, 414) as `dress(exchange, () => refusal)`.
   */
  readonly dress?: Handler;
  /** Frees what it holds beyond its requests (upstream pools, timers), once the site is replaced. */
  readonly close?: () => void;
}

/** Where a kind's config is in the file, for its problems, and where its relative paths start. */
export interface PlanningContext {
  /** The folder relative paths are resolved from (the config file's). */
  readonly base: string;
  /** Reports a problem at a key under the kind's config (`[]` for the config itself); the config is refused. */
  report(key: readonly (string | number)[], problem: string, code?: ErrorCode): void;
}

/** What compiling a kind may use: the site it is for and the worker's shared parts. */
export interface KindContext {
  readonly site: SitePlan;
  readonly log: Logger;
  readonly caches: StaticCaches;
  /** The HTTPS port clients use (the bound one when the plan says 0); undefined without HTTPS. */
  readonly httpsPort: () => number | undefined;
  /** The worker's failed sign-ins per address, shared by every site and kept across reloads. */
  readonly signInFailures: FailureLimit;
  /** The site's trusted proxies, for the real client address; undefined when it has none. */
  readonly trusted: BlockList | undefined;
  /** The site's files (its root and virtual directories, no tryFiles): for error pages. */
  readonly files: () => Promise<Handler>;
  /** Whether a proxy route of the site takes this (normalised) path: rules ignore case there. */
  readonly isProxied: (path: string) => boolean;
  /** The site's route of this name (a `tryFiles` `@name`), asked when a request comes, once every route is compiled. */
  readonly named: (name: string) => NamedRoute | undefined;
}

/** A route a handler can hand a request to by name: its handlers, and whether they read its body. */
export interface NamedRoute {
  readonly next: Next;
  readonly readsBody: (exchange: Exchange) => boolean;
}

/** A kind with its types forgotten, as the registry holds it. */
// biome-ignore lint: the registry holds kinds of every config type.
export type AnyHandlerKind = HandlerKind<any, any>;

/** Declares a kind with its types checked, for the registry. */
export function handlerKind<Config, Planned = Config>(kind: HandlerKind<Config, Planned>): HandlerKind<Config, Planned> {
  return kind;
}
