import { resolve } from 'node:path';
import type { z } from 'zod';
import type { SchemaKit } from '../../config/schema-kit.js';
import { checkFolder } from '../../config/folder-check.js';
import { handlerKind, type NamedRoute } from '../../routes/kind.js';
import type { Exchange } from '../exchange.js';
import { fallbackRoute, servesFiles } from './try-files-fallback.js';

const schema = ({ z, path }: SchemaKit) =>
  z.strictObject({
    root: path.optional().meta({ description: 'the folder to serve (default: the site’s root, with its vdirs and tryFiles)' }),
    browse: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'list folders that have no index.html (default: the site’s browse)' }),
  });

type FilesConfig = z.infer<ReturnType<typeof schema>>;

/**
 * `files`: static files. Without a root, the site's own (its root, virtual directories and
 * tryFiles: the shorthand's last route); with one, that folder alone, with the site's
 * Cache-Control and symlink rule.
 */
export const filesKind = handlerKind<FilesConfig>({
  name: 'files',
  description: 'serve static files: the site’s root, or another folder',
  schema,
  async plan(config, context) {
    if (config.root === undefined) return config;
    const root = resolve(context.base, config.root);
    await checkFolder(root, 'root', (_at, problem, code) => context.report(['root'], problem, code));
    return { ...config, root };
  },
  async compile(config, context) {
    const { site } = context;
    // The file server (and mime-db's table) is loaded by workers, not by the primary.
    const [{ createSiteFilesHandler }, { createStaticHandler }] = await Promise.all([import('./site-files.js'), import('./static-handler.js')]);
    if (config.root === undefined) {
      const own = config.browse === undefined ? site : { ...site, browse: config.browse };
      return { handler: await createSiteFilesHandler(own, context.caches, context.log, context.named), readsBody: fallbackReadsBody(fallbackRoute(site.rules.tryFiles), context.named) };
    }
    return { handler: await createStaticHandler(config.root, { browse: config.browse ?? site.browse, cacheControl: site.cacheControl, followSymlinks: site.rules.symlinks === 'follow' }, context.caches, context.log) };
  },
});

/** A tryFiles that ends in `@name` hands other methods' bodies on to that route: they are read as it reads them. */
function fallbackReadsBody(name: string | undefined, named: (name: string) => NamedRoute | undefined): ((exchange: Exchange) => boolean) | undefined {
  if (name === undefined) return undefined;
  return (exchange) => !servesFiles(exchange.method) && (named(name)?.readsBody(exchange) ?? false);
}
