import type { SchemaKit } from '../../config/schema-kit.js';
import { decodedPath } from '../../http/exchange.js';
import { passesOnOnce } from '../../http/handler.js';
import { redirect } from '../../http/rules/redirect-response.js';
import { handlerKind } from '../../routes/kind.js';

const ACME_CHALLENGE = '/.well-known/acme-challenge/';

/**
 * `httpsRedirect`: plain HTTP is answered 308 to the same URL over HTTPS, on the port clients
 * use (the bound one when the plan says 0), except ACME http-01 paths, which a CA asks over HTTP.
 * Without an HTTPS listener, or with `false`, it passes every request on.
 */
export const httpsRedirectKind = handlerKind<boolean>({
  name: 'httpsRedirect',
  description: 'plain HTTP answers 308 to the same URL over HTTPS (ACME http-01 paths excepted)',
  schema: ({ z }: SchemaKit) => z.boolean({ error: 'must be true or false' }),
  compile(on, context) {
    const { httpsPort } = context;
    const handler = passesOnOnce((exchange, next) => {
      if (!on || exchange.secure || (decodedPath(exchange) ?? '').startsWith(ACME_CHALLENGE)) return next(exchange);
      const port = httpsPort();
      if (port === undefined) return next(exchange);
      const { host } = exchange;
      const authority = port === 443 ? host : `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
      return redirect(308, `https://${authority}${exchange.target}`, exchange);
    });
    return { handler };
  },
});
