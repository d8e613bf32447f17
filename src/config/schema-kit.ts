import { z } from 'zod';
import * as values from './schema-values.js';

/**
 * What a handler kind builds its config schema from: zod and the shared value shapes. A kind's
 * `schema` is a function of this kit, called by the config loader, so a kind's module does not
 * load zod: a worker compiles kinds without it, and only the primary (which checks config files)
 * pays for the schema library.
 */
export const SCHEMA_KIT = { z, ...values };

export type SchemaKit = typeof SCHEMA_KIT;

const built = new WeakMap<object, z.ZodType>();

/** A kind's schema, built once. */
export function kindSchema<T>(kind: { readonly schema: (kit: SchemaKit) => z.ZodType<T> }): z.ZodType<T> {
  let schema = built.get(kind);
  if (schema === undefined) built.set(kind, (schema = kind.schema(SCHEMA_KIT)));
  return schema as z.ZodType<T>;
}
