import type { z } from 'zod';
import type { SchemaKit } from '../../config/schema-kit.js';
import { errorPage } from '../../http/error-page.js';
import type { Exchange } from '../../http/exchange.js';
import { type Handler, type Outcome, passesOnOnce } from '../../http/handler.js';
import type { Response } from '../../http/response.js';
import { handlerKind } from '../../routes/kind.js';

const schema = ({ z }: SchemaKit) =>
  z.record(z.string().regex(/^[45]\d\d$/, { error: 'must be an error status from 400 to 599' }), z.string({ error: 'must be a path under the root, such as /404.html' }), { error: 'must map statuses to pages, such as { 404: /404.html }' });

/**
 * `errors`: the site's own pages for error statuses, sent with the original status and
 * `no-store`. Only Portico's errors are replaced: an application's (a streamed, proxied
 * response) is its to word, and so is an answer that says what to do in its body (`ownPage`).
 * The page is fetched from the site's files directly (its root and virtual directories, no
 * tryFiles), never through the rules again, so an error page cannot loop; a page that is missing
 * (or fails) leaves the built-in one. The transports' own refusals (400, 413, 414) get pages too.
 */
export const errorPagesKind = handlerKind<z.infer<ReturnType<typeof schema>>, Readonly<Record<string, string>>>({
  name: 'errors',
  description: 'custom error pages: status → a file under the root, sent with the original status',
  schema,
  plan(pages, context) {
    for (const [status, page] of Object.entries(pages)) {
      if (!page.startsWith('/')) context.report([status], `${JSON.stringify(page)} is not a path under the root; start it with /, such as /404.html`);
    }
    return pages;
  },
  async compile(planned, context) {
    const pages = new Map(Object.entries(planned).map(([status, page]) => [Number(status), page]));
    const files = await context.files();
    const replace = (exchange: Exchange, response: Response): Outcome => {
      const page = response.status >= 400 && response.body.kind !== 'stream' && response.ownPage !== true ? pages.get(response.status) : undefined;
      return page === undefined ? response : withErrorPage(files, exchange, response, page);
    };
    const handler = passesOnOnce((exchange, next) => {
      const outcome = next(exchange);
      return outcome instanceof Promise ? outcome.then((response) => replace(exchange, response)) : replace(exchange, outcome);
    });
    return { handler, dress: handler };
  },
});

/** The page for an error status, with that status; the original when the page cannot be had. */
function withErrorPage(files: Handler, exchange: Exchange, original: Response, page: string): Outcome {
  const isHead = exchange.method === 'HEAD';
  const fetch: Exchange = {
    ...exchange,
    method: isHead ? 'HEAD' : 'GET',
    target: page,
    path: page,
    query: '',
    // The page is the answer to another request: no conditionals or ranges of that request apply to it.
    header: (name) => (name === 'accept-encoding' ? exchange.header(name) : undefined),
  };
  const use = (response: Response): Response => {
    if (response.status !== 200) {
      response.release?.();
      return original;
    }
    original.release?.();
    const { etag: _etag, 'last-modified': _lastModified, 'accept-ranges': _ranges, ...headers } = response.headers;
    return { ...response, status: original.status, headers: { ...headers, 'cache-control': 'no-store', ...pick(original.headers, ['allow', 'www-authenticate', 'retry-after']) } };
  };
  let outcome: Outcome;
  try {
    outcome = files(fetch, () => errorPage(404, isHead));
  } catch {
    return original;
  }
  return outcome instanceof Promise ? outcome.then(use, () => original) : use(outcome);
}

function pick(headers: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) if (headers[name] !== undefined) picked[name] = headers[name];
  return picked;
}
