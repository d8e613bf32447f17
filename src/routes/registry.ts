import { z } from 'zod';
import { filesKind } from '../http/static/files-kind.js';
import { basicAuthKind } from '../kinds/basic-auth/basic-auth-kind.js';
import { corsKind } from '../kinds/cors/cors-kind.js';
import { errorPagesKind } from '../kinds/error-pages/error-pages-kind.js';
import { headersKind } from '../kinds/headers/headers-kind.js';
import { hstsKind } from '../kinds/hsts/hsts-kind.js';
import { httpsRedirectKind } from '../kinds/https-redirect/https-redirect-kind.js';
import { redirectsKind } from '../kinds/redirects/redirects-kind.js';
import { respondKind } from '../kinds/respond/respond-kind.js';
import { proxyKind } from '../proxy/proxy-kind.js';
import type { AnyHandlerKind } from './kind.js';

/**
 * Every kind of handler a route can run, by the name users write. Adding a kind is its own
 * folder and one line here (docs/design.md, "Adding a handler kind"); the config schema, the
 * loader and the workers all read this list.
 */
export const HANDLER_KINDS: readonly AnyHandlerKind[] = [
  filesKind,
  proxyKind,
  respondKind,
  httpsRedirectKind,
  redirectsKind,
  corsKind,
  basicAuthKind,
  headersKind,
  errorPagesKind,
  hstsKind,
];

const byName = new Map(HANDLER_KINDS.map((kind) => [kind.name, kind]));

export function findKind(name: string): AnyHandlerKind | undefined {
  return byName.get(name);
}

/**
 * One entry of a route's `handle` list, as the config file has it: a mapping with exactly one
 * key, a kind's name, whose value that kind's schema checks (`- respond: { status: 503 }`).
 */
export function handleEntrySchema(): z.ZodType<Record<string, unknown>> {
  const names = HANDLER_KINDS.map((kind) => kind.name);
  const shape = Object.fromEntries(HANDLER_KINDS.map((kind) => [kind.name, (kind.schema as z.ZodType).optional().meta({ description: kind.description })]));
  return z
    .strictObject(shape)
    .refine((entry) => Object.keys(entry).length === 1, { error: `must name exactly one kind of handler: ${names.join(', ')}` })
    .meta({ description: `one handler: ${names.join(', ')}`, minProperties: 1, maxProperties: 1 }) as unknown as z.ZodType<Record<string, unknown>>;
}
