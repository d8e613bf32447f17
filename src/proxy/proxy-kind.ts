import { handlerKind } from '../routes/kind.js';
import { readCaBundle } from '../config/ca-bundle.js';
import type { ProxyRoute } from '../config/plan.js';
import { type ProxyConfig, proxyConfigSchema, proxyValues } from './proxy-config.js';

/**
 * `proxy`: the reverse proxy (docs/proxy.md). A site's `proxy:` list is shorthand for one route
 * of this kind per entry, matched by its path prefix; in a route, the route's matcher decides.
 */
export const proxyKind = handlerKind<ProxyConfig, ProxyRoute>({
  name: 'proxy',
  description: 'a reverse proxy: the request goes to one of the upstreams, and their answer back',
  schema: proxyConfigSchema,
  async plan(config, context) {
    const { caFile, ...values } = proxyValues(config, '', context.base, context.report);
    const ca = caFile === undefined ? undefined : await readCaBundle(caFile, (problem, code) => context.report(['ca'], problem, code));
    return { ...values, ca };
  },
  // undici is loaded by the workers whose sites proxy, not by the primary (which plans configs).
  compile: async (route, context) => (await import('./proxy-handler.js')).createProxyRoute(route, context.log, context.trusted),
});
