/**
 * The shapes of IPC messages, and the check of a message against one: plain JSON only (strings,
 * numbers, booleans, lists, mappings), a strict mapping refusing a key too many, and the first
 * thing wrong reported with its path. Small on purpose: a worker checks every message it gets
 * without loading a schema library (zod costs a worker about a tenth of a second to load, before
 * it can listen), and the primary checks its workers' messages with the same shapes.
 */
export interface Shape<T> {
  /** The first thing wrong with a value, or undefined when it has this shape. */
  readonly check: (value: unknown) => Issue | undefined;
  /** Set on `optional(…)`: the key may be missing. */
  readonly optional?: true;
  /** Set on `literal(…)`: the one value it takes (for `tagged`). */
  readonly literal?: string;
  /** Set on `object(…)`: its keys' shapes (for `tagged`). */
  readonly keys?: Readonly<Record<string, Shape<unknown>>>;
  /** Never set: carries the type. */
  readonly type?: T;
}

export interface Issue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export type Infer<S> = S extends Shape<infer T> ? T : never;

type ShapeKeys = Record<string, Shape<unknown>>;
type OptionalKeys<P extends ShapeKeys> = { [K in keyof P]: P[K] extends { readonly optional: true } ? K : never }[keyof P];
type ObjectOf<P extends ShapeKeys> = { [K in Exclude<keyof P, OptionalKeys<P>>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> };

const issue = (message: string, path: readonly (string | number)[] = []): Issue => ({ path, message });
const within = (key: string | number, inner: Issue | undefined): Issue | undefined => inner && { path: [key, ...inner.path], message: inner.message };
const kindOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
const expected = (what: string, value: unknown): Issue => issue(`Invalid input: expected ${what}, received ${kindOf(value)}`);

export const text: Shape<string> = { check: (value) => (typeof value === 'string' ? undefined : expected('string', value)) };
export const flag: Shape<boolean> = { check: (value) => (typeof value === 'boolean' ? undefined : expected('boolean', value)) };
export const anything: Shape<unknown> = { check: () => undefined };

/** A number; `whole` for an integer, with optional bounds. */
export function number(bounds: { readonly whole?: boolean; readonly min?: number; readonly max?: number } = {}): Shape<number> {
  return {
    check: (value) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return expected('number', value);
      if (bounds.whole && !Number.isInteger(value)) return issue('Invalid input: expected int, received number');
      if (bounds.min !== undefined && value < bounds.min) return issue(`Too small: expected number to be >=${bounds.min}`);
      if (bounds.max !== undefined && value > bounds.max) return issue(`Too big: expected number to be <=${bounds.max}`);
      return undefined;
    },
  };
}

export function literal<const V extends string>(one: V): Shape<V> {
  return { literal: one, check: (value) => (value === one ? undefined : issue(`Invalid input: expected "${one}"`)) };
}

export function oneOf<const V extends readonly string[]>(values: V): Shape<V[number]> {
  return { check: (value) => (typeof value === 'string' && values.includes(value) ? undefined : issue(`Invalid option: expected one of ${values.map((one) => `"${one}"`).join('|')}`)) };
}

export function optional<T>(shape: Shape<T>): Shape<T | undefined> & { readonly optional: true } {
  return { optional: true, check: (value) => (value === undefined ? undefined : shape.check(value)) };
}

export function list<T>(item: Shape<T>): Shape<T[]> {
  return {
    check: (value) => {
      if (!Array.isArray(value)) return expected('array', value);
      for (const [i, one] of value.entries()) {
        const wrong = within(i, item.check(one));
        if (wrong) return wrong;
      }
      return undefined;
    },
  };
}

/** A mapping whose every value has one shape (its keys are any text). */
export function record<T>(valueShape: Shape<T>): Shape<Record<string, T>> {
  return {
    check: (value) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return expected('record', value);
      for (const [key, one] of Object.entries(value)) {
        const wrong = within(key, valueShape.check(one));
        if (wrong) return wrong;
      }
      return undefined;
    },
  };
}

/** A mapping with these keys; `strict` refuses any other key, `loose` lets others through unchecked. */
export function object<P extends ShapeKeys>(keys: P, mode: 'strict' | 'loose' = 'strict'): Shape<ObjectOf<P>> {
  return {
    keys,
    check: (value) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return expected('object', value);
      const record = value as Record<string, unknown>;
      for (const [key, shape] of Object.entries(keys)) {
        const wrong = within(key, shape.check(record[key]));
        if (wrong) return wrong;
      }
      if (mode === 'strict') {
        const extra = Object.keys(record).filter((key) => !(key in keys));
        if (extra.length > 0) return issue(`Unrecognized key${extra.length > 1 ? 's' : ''}: ${extra.map((key) => `"${key}"`).join(', ')}`);
      }
      return undefined;
    },
  };
}

/** One of several object shapes, told apart by the literal at `key` (a message's `type`). */
export function tagged<K extends string, S extends Shape<Record<K, string>>>(key: K, shapes: readonly S[]): Shape<Infer<S>> {
  const byTag = new Map<string, S>();
  for (const shape of shapes) {
    const tag = shape.keys?.[key]?.literal;
    if (tag === undefined) throw new Error(`a tagged shape needs a literal ${key}`);
    byTag.set(tag, shape);
  }
  return {
    check: (value) => {
      const tag = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
      const shape = typeof tag === 'string' ? byTag.get(tag) : undefined;
      return shape === undefined ? issue(`Invalid input: no ${key} of ${[...byTag.keys()].join(', ')}`, [key]) : shape.check(value);
    },
  };
}

/** A shape with one more condition (`message` when it fails). */
export function refine<T>(shape: Shape<T>, holds: (value: T) => boolean, message: string): Shape<T> {
  return { ...shape, check: (value) => shape.check(value) ?? (holds(value as T) ? undefined : issue(message)) };
}

/** The value, typed, or the first thing wrong with it. */
export function checkShape<T>(shape: Shape<T>, value: unknown): { readonly value: T } | { readonly issue: Issue } {
  const wrong = shape.check(value);
  return wrong === undefined ? { value: value as T } : { issue: wrong };
}
