import type { z } from 'zod';
import type { SchemaKit } from '../../config/schema-kit.js';
import type { HeaderRule } from '../../config/plan.js';
import { parsePathPattern, parseResponseHeader } from '../../config/values.js';
import { decodedPath, type Exchange } from '../../http/exchange.js';
import { dressOutcome, withOwnHeaders } from '../../http/rules/dressing.js';
import { compileRule, rulePaths } from '../../http/rules/path-pattern.js';
import { passesOnOnce } from '../../http/handler.js';
import type { Response } from '../../http/response.js';
import { handlerKind } from '../../routes/kind.js';

const schema = ({ z, caseSensitive, headerName, headerValues, pathPattern }: SchemaKit) =>
  z.array(
    z.strictObject({
      path: pathPattern,
      caseSensitive,
      always: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'also on error responses (400 and up), as nginx’s add_header … always (default false)' }),
      set: headerValues.optional().meta({ description: 'headers to set (replacing)' }),
      add: headerValues.optional().meta({ description: 'headers to add (appended to an existing value)' }),
      remove: z.array(headerName).optional().meta({ description: 'headers to remove, Portico’s own included' }),
    }),
    { error: 'must be a list of { path, set, add, remove } rules' },
  );

/**
 * `headers`: response header rules (a site's `headers` key, or a route's `- headers: [...]`).
 * Every rule whose path matches applies, in order, to what comes back: the request's decoded,
 * normalised path or the file a static response came from (`servedPath`, so a rule on
 * `/index.html` covers `/`); on proxied paths case and `;parameters` are ignored. A rule is for
 * what was found: an error (400 and up) only with `always`. Redirects and refusals that rules
 * in front of the files make are dressed too, and so are the transports' own (`dress`).
 */
export const headersKind = handlerKind<z.infer<ReturnType<typeof schema>>, readonly HeaderRule[]>({
  name: 'headers',
  description: 'response header rules; every matching rule applies, in order',
  schema,
  plan(rules, context) {
    return rules.map((rule, i) => {
      const path = parsePathPattern(rule.path);
      if ('problem' in path) context.report([i, 'path'], path.problem);
      const values = (kind: 'set' | 'add'): Record<string, string> =>
        Object.fromEntries(
          Object.entries(rule[kind] ?? {}).map(([name, value]) => {
            const parsed = parseResponseHeader(name, value);
            if ('problem' in parsed) context.report([i, kind, name], parsed.problem);
            return [name.toLowerCase(), value];
          }),
        );
      return { path: rule.path, always: rule.always ?? false, caseSensitive: rule.caseSensitive, set: values('set'), add: values('add'), remove: (rule.remove ?? []).map((name) => name.toLowerCase()) };
    });
  },
  compile(planned, context) {
    const rules = planned.map((rule) => ({ rule, match: compileRule(rule.path, rule.caseSensitive), set: Object.entries(rule.set), add: Object.entries(rule.add) }));
    const { isProxied } = context;
    const dress = (response: Response, exchange: Exchange): Response => {
      const failed = response.status >= 400;
      // A path the mapping refuses (`%2F`, `/./`: answered 400) is matched as sent, so a rule for
      // every path (`/**`, `always: true`) dresses that refusal too.
      const path = decodedPath(exchange) ?? exchange.path;
      let asked: ReturnType<typeof rulePaths> | undefined;
      let served: ReturnType<typeof rulePaths> | undefined | null = null;
      let out: Record<string, string> | undefined;
      let dressed = response;
      for (const { rule, match, set, add } of rules) {
        if (failed && !rule.always) continue;
        asked ??= rulePaths(path, isProxied(path));
        if (!match(asked)) {
          if (served === null) served = response.servedPath !== undefined && response.servedPath !== decodedPath(exchange) ? rulePaths(response.servedPath, false) : undefined;
          if (served === undefined || !match(served)) continue;
        }
        if (out === undefined) {
          dressed = withOwnHeaders(response);
          out = dressed.headers as Record<string, string>;
        }
        for (const name of rule.remove) delete out[name];
        for (const [name, value] of set) out[name] = value;
        for (const [name, value] of add) out[name] = out[name] ? `${out[name]}, ${value}` : value;
      }
      return dressed;
    };
    const handler = passesOnOnce((exchange, next) => dressOutcome(next(exchange), dress, exchange));
    return { handler, dress: handler };
  },
});
