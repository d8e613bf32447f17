import type { z } from 'zod';
import type { SchemaKit } from '../../config/schema-kit.js';
import type { RedirectRule } from '../../config/plan.js';
import { parseHeaderText, parsePathPattern } from '../../config/values.js';
import { decodedPath } from '../../http/exchange.js';
import { passesOnOnce } from '../../http/handler.js';
import { compilePattern } from '../../http/rules/path-pattern.js';
import { redirect } from '../../http/rules/redirect-response.js';
import { handlerKind } from '../../routes/kind.js';
import { redirectTarget } from './redirect-target.js';

const redirectStatus = (z: SchemaKit['z']) =>
  z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)], { error: 'must be 301, 302, 303, 307 or 308' });

const schema = ({ z, pathPattern }: SchemaKit) =>
  z.array(
    z.strictObject({
      from: pathPattern,
      to: z.string({ error: 'must be a target such as /new/{path} or https://example.test{uri}' }),
      status: redirectStatus(z).optional().meta({ description: 'default 301' }),
    }),
    { error: 'must be a list of { from, to, status } rules' },
  );

/**
 * `redirects`: the first rule whose `from` matches the decoded, normalised path answers with a
 * redirect to its `to` (placeholders: redirect-target.ts). A path the file mapping refuses is
 * never redirected: it is answered 400 or 404 further in.
 */
export const redirectsKind = handlerKind<z.infer<ReturnType<typeof schema>>, readonly RedirectRule[]>({
  name: 'redirects',
  description: 'redirects; the first match wins; {path} is the rest after a prefix, {uri} path and query, {host} the host',
  schema,
  plan(rules, context) {
    return rules.map((rule, i) => {
      const target = /^(\/(?!\/)|https?:\/\/)/.test(rule.to) ? parseHeaderText(rule.to) : { problem: '' };
      if ('problem' in target) context.report([i, 'to'], `${JSON.stringify(rule.to)} is not a redirect target; start it with / (a path on this site) or https:// (another site)`);
      const from = parsePathPattern(rule.from);
      if ('problem' in from) context.report([i, 'from'], from.problem);
      return { from: rule.from, to: rule.to, status: rule.status ?? 301 };
    });
  },
  compile(planned) {
    const rules = planned.map((rule) => ({ ...rule, match: compilePattern(rule.from), prefix: rule.from.endsWith('/') && !rule.from.includes('*') ? rule.from : undefined }));
    const handler = passesOnOnce((exchange, next) => {
      const path = decodedPath(exchange);
      if (path === undefined) return next(exchange);
      for (const rule of rules) {
        if (!rule.match(path)) continue;
        const rest = rule.prefix !== undefined ? path.slice(rule.prefix.length) : path;
        return redirect(rule.status, redirectTarget(rule.to, { path, rest, target: exchange.target, query: exchange.query, host: exchange.host }), exchange);
      }
      return next(exchange);
    });
    return { handler };
  },
});
