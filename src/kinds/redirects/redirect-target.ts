/**
 * Builds a redirect's Location from its configured target and the request. Placeholders:
 * `{path}` the rest of the path after the rule's prefix (the whole path for other patterns),
 * `{uri}` path and query as sent, `{host}` the request's host. Pure.
 *
 * What comes from the request is encoded segment by segment, so it can never add CR/LF, a `?`,
 * or a scheme; and a result that would start with `//` or `/\` (protocol-relative: another
 * host) is collapsed to one slash. The query is kept unless the target has its own.
 */
export function redirectTarget(to: string, request: { path: string; rest: string; target: string; query: string; host: string }): string {
  const encoded = request.rest.split('/').map(encodeURIComponent).join('/');
  let location = to.replaceAll('{path}', encoded).replaceAll('{uri}', request.target).replaceAll('{host}', request.host);
  if (/^\/[/\\]/.test(location)) location = `/${location.replace(/^[/\\]+/, '')}`;
  if (!location.includes('?') && request.query) location += request.query;
  return location;
}
