import { z } from 'zod';

/**
 * The value shapes config schemas share: the central config schema and the handler kinds'
 * schemas (which live with their kinds) both build on these, so a duration or a path reads and
 * fails the same way wherever it is written.
 */

export const port = z.union([z.number().int().min(0).max(65535), z.literal('off')], { error: 'must be a port: a number from 1 to 65535, 0 for any free port, or off' });
export const duration = z.string({ error: 'must be a duration such as 500ms, 20s, 5m, 12h or 7d' }).meta({ description: 'a duration: 500ms, 20s, 5m, 12h, 7d' });
export const size = z.union([z.number().int().min(0), z.string()], { error: 'must be a size: a number of bytes or 512KiB, 1MiB, 2GiB' }).meta({ description: 'bytes, or 512KiB, 1MiB, 2GiB' });
export const path = z.string({ error: 'must be a path (text)' }).min(1, { error: 'must not be empty' });
export const headerName = z.string({ error: 'must be a header name such as Cache-Control' }).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be a header name (letters, digits and -), such as Cache-Control' });
export const headerValues = z.record(headerName, z.string({ error: 'must be a header value (text)' }), { error: 'must be a mapping of header names to values' });
export const pathPattern = z.string({ error: 'must be a path pattern: /prefix/, /exact, a glob with * and **, or *.ext' }).meta({ description: 'a prefix ending in /, an exact path, a glob (* one segment, ** any depth, **/ zero or more folders), or a file name pattern such as *.js (any depth)' });
export const caseSensitive = z
  .boolean({ error: 'must be true or false' })
  .optional()
  .meta({ description: 'how the path is compared: unset, exactly on files and ignoring case on proxied paths; true exactly; false ignoring case' });
