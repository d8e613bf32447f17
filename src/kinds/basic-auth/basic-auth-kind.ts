import { resolve } from 'node:path';
import type { z } from 'zod';
import type { SchemaKit } from '../../config/schema-kit.js';
import type { AuthRule } from '../../config/plan.js';
import { parsePathPattern } from '../../config/values.js';
import { decodedPath, type Exchange } from '../../http/exchange.js';
import { type Next, type Outcome, passesOnOnce } from '../../http/handler.js';
import { compileRule, type RuleMatcher, type RulePaths, rulePaths } from '../../http/rules/path-pattern.js';
import { SIGNED_IN_USER } from '../../http/request-state.js';
import { bytesResponse, type Response } from '../../http/response.js';
import { handlerKind } from '../../routes/kind.js';
import type { BasicAuth } from './basic-auth.js';
import { readHtpasswd } from './htpasswd.js';

const schema = ({ z, caseSensitive, path: filePath, pathPattern }: SchemaKit) =>
  z.array(
    z.strictObject({
      path: pathPattern,
      caseSensitive,
      realm: z.string({ error: 'must be a realm name (text)' }).regex(/^[^"\\\r\n]*$/, { error: 'must not contain quotes, backslashes or line breaks' }),
      htpasswd: filePath.meta({ description: 'an htpasswd file with bcrypt hashes (htpasswd -B)' }),
    }),
    { error: 'must be a list of { path, realm, htpasswd } rules' },
  );

interface Guard {
  readonly match: RuleMatcher;
  readonly check: BasicAuth;
}

/**
 * `auth`: HTTP Basic authentication for paths; the first rule whose path matches applies. It
 * matches the request's decoded, normalised path (case and `;parameters` ignored on proxied
 * paths), and then again the file a static response was actually served from (`servedPath`: a
 * folder's default document, a tryFiles candidate), refusing, and releasing, an answer whose file
 * a rule the request's path did not meet protects. Over plain HTTP it refuses with a page saying
 * to use HTTPS (403, not 401, which would invite the password in clear). The htpasswd files are
 * read when the config is (and again on reload).
 */
export const basicAuthKind = handlerKind<z.infer<ReturnType<typeof schema>>, readonly AuthRule[]>({
  name: 'auth',
  description: 'HTTP Basic authentication (HTTPS only) for paths; the first matching rule applies',
  schema,
  async plan(rules, context) {
    const planned: AuthRule[] = [];
    for (const [i, rule] of rules.entries()) {
      const path = parsePathPattern(rule.path);
      if ('problem' in path) context.report([i, 'path'], path.problem);
      const file = resolve(context.base, rule.htpasswd);
      const users = await readHtpasswd(file, (problem, code) => context.report([i, 'htpasswd'], problem, code));
      planned.push({ path: rule.path, caseSensitive: rule.caseSensitive, realm: rule.realm, file, users: users ?? {} });
    }
    return planned;
  },
  async compile(rules, context) {
    // bcryptjs is loaded by the workers whose sites check passwords, not by the primary.
    const { BasicAuth } = await import('./basic-auth.js');
    const guards: readonly Guard[] = rules.map((rule) => ({ match: compileRule(rule.path, rule.caseSensitive), check: new BasicAuth(rule, context.signInFailures) }));
    const { isProxied } = context;
    const find = (paths: RulePaths): Guard | undefined => guards.find((guard) => guard.match(paths));

    /** The answer, unless a rule the request's path did not meet protects the file it came from. */
    const guardServed = (exchange: Exchange, response: Response, passed: Guard | undefined): Outcome => {
      const served = response.servedPath !== undefined && response.servedPath !== decodedPath(exchange) ? rulePaths(response.servedPath, false) : undefined;
      const late = served === undefined ? undefined : find(served);
      if (late === undefined || late === passed) return response;
      if (!exchange.secure) {
        response.release?.();
        return httpsRequired(exchange);
      }
      return late.check.check(exchange).then((result) => {
        if ('response' in result) {
          response.release?.();
          return result.response;
        }
        exchange.state.set(SIGNED_IN_USER, result.user);
        return response;
      });
    };
    const answer = (exchange: Exchange, next: Next, passed: Guard | undefined): Outcome => {
      const outcome = next(exchange);
      return outcome instanceof Promise ? outcome.then((response) => guardServed(exchange, response, passed)) : guardServed(exchange, outcome, passed);
    };
    const handler = passesOnOnce((exchange, next) => {
      const path = decodedPath(exchange);
      if (path === undefined) return answer(exchange, next, undefined);
      const guard = find(rulePaths(path, isProxied(path)));
      if (guard === undefined) return answer(exchange, next, undefined);
      if (!exchange.secure) return httpsRequired(exchange);
      return guard.check.check(exchange).then((result) => {
        if ('response' in result) return result.response;
        exchange.state.set(SIGNED_IN_USER, result.user);
        return answer(exchange, next, guard);
      });
    });
    return { handler };
  },
});

function httpsRequired(exchange: Exchange): Response {
  const body = `This page needs a password, which is only sent over HTTPS: open https://${exchange.host}${exchange.target} (or turn on httpsRedirect for this site).\n`;
  return { ...bytesResponse(403, { 'content-type': 'text/plain; charset=utf-8' }, exchange.method === 'HEAD' ? undefined : body), ownPage: true };
}
