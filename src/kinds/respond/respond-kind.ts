import type { z } from 'zod';
import type { SchemaKit } from '../../config/schema-kit.js';
import { bytesResponse, NO_BODY, type Response } from '../../http/response.js';
import { handlerKind } from '../../routes/kind.js';
import { parseResponseHeader } from '../../config/values.js';

const schema = ({ z, headerValues }: SchemaKit) =>
  z.strictObject({
    status: z.number({ error: 'must be a status from 200 to 599' }).int().min(200, { error: 'must be a status from 200 to 599' }).max(599, { error: 'must be a status from 200 to 599' }).optional().meta({ description: 'the status (default 200)' }),
    body: z.string({ error: 'must be the body, as text' }).optional().meta({ description: 'the body (default none); text/plain unless headers say otherwise' }),
    headers: headerValues.optional().meta({ description: 'headers to send' }),
  });

type RespondConfig = z.infer<ReturnType<typeof schema>>;

interface RespondPlan {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/** Statuses that never carry a body (RFC 9110 §15.3.5, §15.4.5). */
const NO_CONTENT = new Set([204, 304]);

/**
 * `respond`: a fixed answer (caddy's `respond`, nginx's `return`), for a maintenance page, a
 * health endpoint, or a path that should not exist: `- respond: { status: 503, body: "Back soon" }`.
 * The body is sent as written, with its length; HEAD gets the head alone.
 */
export const respondKind = handlerKind<RespondConfig, RespondPlan>({
  name: 'respond',
  description: 'answer with a fixed status, body and headers',
  schema,
  plan(config, context) {
    const status = config.status ?? 200;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(config.headers ?? {})) {
      const parsed = parseResponseHeader(name, value);
      if ('problem' in parsed) context.report(['headers', name], parsed.problem);
      headers[name.toLowerCase()] = value;
    }
    if (config.body !== undefined && NO_CONTENT.has(status)) context.report(['body'], `is given with status ${status}, which never carries a body; remove the body or choose another status`);
    return { status, headers, body: config.body };
  },
  compile({ status, headers, body }) {
    const withBody: Record<string, string> = body === undefined ? (NO_CONTENT.has(status) ? { ...headers } : { ...headers, 'content-length': '0' }) : { 'content-type': 'text/plain; charset=utf-8', ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const full: Response = bytesResponse(status, withBody, body);
    const head: Response = { status, headers: withBody, body: NO_BODY };
    return { handler: (exchange) => (exchange.method === 'HEAD' ? head : full) };
  },
});
