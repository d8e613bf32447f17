/**
 * One request as every handler sees it, whichever transport carried it (HTTP/1.1 on a plain or
 * TLS socket, or an HTTP/2 stream). Transports build it; handlers never see a socket.
 */
export interface Exchange {
  readonly method: string;
  /** The request-target exactly as sent: path and query. */
  readonly target: string;
  /** The raw path, without the query. */
  readonly path: string;
  /** The query with its leading `?`, or ''. */
  readonly query: string;
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly remoteAddress: string | undefined;
  /** One header's value; repeated fields are joined as RFC 9110 §5.3 allows. */
  header(name: string): string | undefined;
}

/** Splits a request-target into its raw path and its query (with the `?`). */
export function splitTarget(target: string): { path: string; query: string } {
  const queryAt = target.indexOf('?');
  return queryAt === -1 ? { path: target, query: '' } : { path: target.slice(0, queryAt), query: target.slice(queryAt) };
}

/** A header getter over Node's parsed headers (HTTP/1.1 and HTTP/2 both give this shape). */
export function headerGetter(headers: Readonly<Record<string, string | string[] | undefined>>): (name: string) => string | undefined {
  return (name) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
}
