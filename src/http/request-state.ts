import { mapPath } from './map-path.js';

/**
 * A typed key into an exchange's state: each module that records something about a request
 * (who signed in, which upstream answered) declares its key once, and only code that imports the
 * key can read or write that entry. The type parameter is the entry's type.
 */
export interface StateKey<T> {
  readonly name: string;
  /** Never set: carries the entry's type. */
  readonly type?: T;
}

export function stateKey<T>(name: string): StateKey<T> {
  return Object.freeze({ name });
}

/**
 * What handlers learn about one request as it goes down the chain, in place of ad hoc fields on
 * the exchange: a small map from typed keys to values, made empty per exchange (one object; the
 * map itself only when something is recorded). A copy of an exchange made for another path (a
 * tryFiles candidate, an error page) shares it: it is the same request.
 */
export class RequestState {
  private values: Map<StateKey<unknown>, unknown> | undefined;
  private pathTarget: string | undefined;
  private pathValue: string | undefined;

  get<T>(key: StateKey<T>): T | undefined {
    return this.values?.get(key) as T | undefined;
  }

  set<T>(key: StateKey<T>, value: T): void {
    (this.values ??= new Map()).set(key, value);
  }

  /**
   * The request path rules and routes match: percent-decoded once, dot segments refused,
   * repeated slashes collapsed; undefined for a path the file mapping refuses too (answered
   * 400/404, and no rule can make that serve anything). Computed once per request-target.
   */
  pathOf(target: string): string | undefined {
    if (this.pathTarget !== target) {
      this.pathTarget = target;
      this.pathValue = normalise(target);
    }
    return this.pathValue;
  }
}

function normalise(target: string): string | undefined {
  const mapped = mapPath(target);
  if (!mapped.ok) return undefined;
  const joined = `/${mapped.segments.join('/')}`;
  return mapped.trailingSlash && joined !== '/' ? `${joined}/` : joined;
}

/** Who the request was authenticated as (HTTP Basic): the log's cs-username. */
export const SIGNED_IN_USER = stateKey<string>('signed-in user');

/** The upstream that answered a proxied request: the log's x-upstream and x-upstream-time. */
export const ANSWERING_UPSTREAM = stateKey<{ readonly address: string; readonly ms: number }>('answering upstream');
