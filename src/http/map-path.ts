/**
 * Turns a request target into path segments under the site root, or refuses it. Pure: no file
 * system access, so every hostile form is a table test. The path is percent-decoded exactly
 * once; encoded slashes, backslashes, NUL bytes, invalid UTF-8 (overlong forms included) and
 * dot segments are refused before any segment reaches the file system.
 */
export type MappedPath =
  | { readonly ok: true; readonly segments: readonly string[]; readonly trailingSlash: boolean; readonly pathname: string; readonly query: string }
  | { readonly ok: false; readonly status: 400 | 404; readonly reason: string };

export function mapPath(target: string): MappedPath {
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (!rawPath.startsWith('/')) return refuse(400, 'the request target is not an absolute path');
  if (/%2f|%5c|\\/i.test(rawPath)) return refuse(400, 'the path contains an encoded slash or a backslash');
  let pathname: string;
  try {
    pathname = decodeURIComponent(rawPath);
  } catch {
    return refuse(400, 'the path is not valid percent-encoded UTF-8');
  }
  if (pathname.includes('\0')) return refuse(400, 'the path contains a NUL byte');
  const segments = pathname.split('/').filter((segment) => segment.length > 0);
  if (segments.some((segment) => segment === '.' || segment === '..')) return refuse(400, 'the path contains a dot segment');
  if (segments.some((segment, i) => segment.startsWith('.') && !(i === 0 && segment === '.well-known'))) {
    return refuse(404, 'hidden files and folders are not served');
  }
  return { ok: true, segments, trailingSlash: pathname.endsWith('/'), pathname, query };
}

function refuse(status: 400 | 404, reason: string): MappedPath {
  return { ok: false, status, reason };
}
