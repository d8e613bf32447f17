import type { z } from 'zod';
import type { SchemaKit } from '../../config/schema-kit.js';
import { DEFAULTS } from '../../config/defaults.js';
import type { CorsPlan } from '../../config/plan.js';
import type { Exchange } from '../../http/exchange.js';
import { passesOnOnce } from '../../http/handler.js';
import { dressOutcome, withOwnHeaders } from '../../http/rules/dressing.js';
import type { Response } from '../../http/response.js';
import { handlerKind } from '../../routes/kind.js';

const schema = ({ z, headerName }: SchemaKit) =>
  z.strictObject({
    origins: z.array(z.string({ error: 'must be an origin such as https://app.example.test, or *' })).min(1, { error: 'must list at least one origin' }),
    methods: z.array(z.string({ error: 'must be a method such as GET' })).optional().meta({ description: `default ${DEFAULTS.cors.methods.join(', ')}` }),
    headers: z.array(headerName).optional().meta({ description: 'request headers a preflight may ask for (default: whatever it asks)' }),
    credentials: z.boolean({ error: 'must be true or false' }).optional(),
    maxAge: z.number({ error: 'must be a number of seconds' }).int().min(0).optional().meta({ description: 'seconds a browser may cache a preflight answer' }),
  });

/**
 * Which half of CORS a handler of this kind does. Written in a route, both: a preflight is
 * answered, anything else passed on and its answer given the grant. A site's `cors` key puts
 * the halves apart (src/routes/site-rules-route.ts): the grant outermost, so every answer of the
 * site carries it, and the preflight after the redirects, so a redirect still wins.
 */
export type CorsPart = 'grant' | 'preflight';

/** The planned config, and which half a shorthand's handler does (undefined: both). */
export interface CorsKindPlan extends CorsPlan {
  readonly part?: CorsPart;
}

/**
 * `cors`: Cross-Origin Resource Sharing. A preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered 204 with what the origin may do; every other answer
 * gets `Vary: Origin` and, for an allowed origin, Access-Control-Allow-Origin (and
 * -Credentials). `*` only without credentials (the config refuses both).
 */
export const corsKind = handlerKind<z.infer<ReturnType<typeof schema>>, CorsKindPlan>({
  name: 'cors',
  description: 'Cross-Origin Resource Sharing for this site',
  schema,
  plan(cors, context) {
    const { origins, credentials = false } = cors;
    if (credentials && origins.includes('*')) context.report(['credentials'], 'is true with origins: ["*"], which browsers refuse; list the origins that may send credentials, or set credentials: false');
    origins.forEach((origin, i) => {
      if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) context.report(['origins', i], `${JSON.stringify(origin)} is not an origin; write scheme and host without a path, such as https://app.example.test, or *`);
    });
    return { origins, methods: (cors.methods ?? [...DEFAULTS.cors.methods]).map((method) => method.toUpperCase()), headers: cors.headers, credentials, maxAge: cors.maxAge };
  },
  compile(cors) {
    const allowOrigin = (origin: string): string | false => (cors.origins.includes(origin) ? origin : cors.origins.includes('*') ? '*' : false);
    const methods = cors.methods.join(', ');
    const grant = (response: Response, exchange: Exchange): Response => {
      const origin = exchange.header('origin');
      const allowed = origin !== undefined && allowOrigin(origin);
      const dressed = withOwnHeaders(response);
      const target = dressed.headers;
      if (!/\bOrigin\b/i.test(target.vary ?? '')) target.vary = target.vary ? `${target.vary}, Origin` : 'Origin';
      if (allowed) {
        target['access-control-allow-origin'] = allowed;
        if (cors.credentials) target['access-control-allow-credentials'] = 'true';
      }
      return dressed;
    };
    const preflight = (exchange: Exchange): Response | undefined => {
      if (exchange.method !== 'OPTIONS') return undefined;
      const origin = exchange.header('origin');
      if (origin === undefined || exchange.header('access-control-request-method') === undefined) return undefined;
      const allowed = allowOrigin(origin);
      const headers: Record<string, string> = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' };
      if (allowed) {
        headers['access-control-allow-origin'] = allowed;
        headers['access-control-allow-methods'] = methods;
        const asked = exchange.header('access-control-request-headers');
        const allowHeaders = cors.headers ? cors.headers.join(', ') : asked;
        if (allowHeaders) headers['access-control-allow-headers'] = allowHeaders;
        if (cors.credentials) headers['access-control-allow-credentials'] = 'true';
        if (cors.maxAge !== undefined) headers['access-control-max-age'] = String(cors.maxAge);
      }
      return { status: 204, headers, body: { kind: 'none' } };
    };
    const granting = passesOnOnce((exchange, next) => dressOutcome(next(exchange), grant, exchange));
    if (cors.part === 'grant') return { handler: granting, dress: granting };
    if (cors.part === 'preflight') return { handler: passesOnOnce((exchange, next) => preflight(exchange) ?? next(exchange)) };
    const both = passesOnOnce((exchange, next) => {
      const answer = preflight(exchange);
      return answer === undefined ? dressOutcome(next(exchange), grant, exchange) : grant(answer, exchange);
    });
    return { handler: both, dress: granting };
  },
});
