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
