import mimeDb from 'mime-db';
import { contentType, lookup } from 'mime-types';

export const DEFAULT_TYPE = 'application/octet-stream';

/**
 * The Content-Type for a file name, from the maintained mime-db database (via mime-types), with
 * `charset=utf-8` for text types; unknown extensions get application/octet-stream, so a browser
 * downloads rather than guesses (nosniff is sent with every file).
 */
export function contentTypeFor(fileName: string): string {
  const type = lookup(fileName);
  return type === false ? DEFAULT_TYPE : contentType(type) || type;
}

/**
 * Whether compressing this type pays: mime-db's `compressible` flag, or any text type. Not
 * application/octet-stream, which mime-db flags compressible: here it means "unknown bytes"
 * (archives, media, binaries), which rarely shrink.
 */
export function isCompressibleType(type: string): boolean {
  const base = type.split(';')[0]!.trim().toLowerCase();
  if (base === DEFAULT_TYPE) return false;
  return mimeDb[base]?.compressible ?? base.startsWith('text/');
}
