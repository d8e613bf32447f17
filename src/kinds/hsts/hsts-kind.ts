import type { z } from 'zod';
import type { SchemaKit } from '../../config/schema-kit.js';
import type { Exchange } from '../../http/exchange.js';
import { passesOnOnce } from '../../http/handler.js';
import { dressOutcome, withOwnHeaders } from '../../http/rules/dressing.js';
import type { Response } from '../../http/response.js';
import { handlerKind } from '../../routes/kind.js';

const schema = ({ z }: SchemaKit) =>
  z.strictObject({
    maxAge: z.number({ error: 'must be a number of seconds' }).int().min(0),
    includeSubDomains: z.boolean({ error: 'must be true or false' }).optional(),
    preload: z.boolean({ error: 'must be true or false' }).optional(),
  });

/**
 * `hsts`: Strict-Transport-Security on every answer over HTTPS (never over plain HTTP, RFC 6797
 * §7.2), redirects, refusals and the transports' own included. Planned into the header's value.
 */
export const hstsKind = handlerKind<z.infer<ReturnType<typeof schema>>, string>({
  name: 'hsts',
  description: 'Strict-Transport-Security on HTTPS responses',
  schema,
  plan: (hsts) => `max-age=${hsts.maxAge}${hsts.includeSubDomains ? '; includeSubDomains' : ''}${hsts.preload ? '; preload' : ''}`,
  compile(value) {
    const dress = (response: Response, exchange: Exchange): Response => {
      if (!exchange.secure) return response;
      const dressed = withOwnHeaders(response);
      dressed.headers['strict-transport-security'] = value;
      return dressed;
    };
    const handler = passesOnOnce((exchange, next) => dressOutcome(next(exchange), dress, exchange));
    return { handler, dress: handler };
  },
});
