/**
 * Config errors users can act on: every issue with its path, an unknown key with the nearest valid key at that
 * place ("publsh": did you mean "publish"?), in z.prettifyError's layout. Messages name keys and expectations,
 * never a value from the config.
 */
import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';

type AnySchema = z.core.$ZodType;
type Def = {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  options?: AnySchema[];
  getter?: () => AnySchema;
};

const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The object schemas a value at `path` may be checked by (through defaults, optionals, pipes, arrays, records, unions). */
function objectsAt(schema: AnySchema, path: readonly PropertyKey[]): Array<Record<string, AnySchema>> {
  const d = defOf(schema);
  switch (d.type) {
    case 'default':
    case 'optional':
    case 'nullable':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return d.innerType ? objectsAt(d.innerType, path) : [];
    case 'pipe':
      return d.in ? objectsAt(d.in, path) : [];
    case 'lazy':
      return d.getter ? objectsAt(d.getter(), path) : [];
    case 'union':
      return (d.options ?? []).flatMap((o) => objectsAt(o, path));
    case 'array':
      return path.length && d.element ? objectsAt(d.element, path.slice(1)) : [];
    case 'record':
      return path.length && d.valueType ? objectsAt(d.valueType, path.slice(1)) : [];
    case 'object': {
      if (path.length === 0) return [d.shape ?? {}];
      const next = d.shape?.[String(path[0])];
      return next ? objectsAt(next, path.slice(1)) : [];
    }
    default:
      return [];
  }
}

/** The valid keys at `path` of `schema` (sorted), e.g. for suggestions. */
export function keysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((o) => Object.keys(o)))].sort();
}

/** "did you mean ...?" for an unknown key: the nearest valid key when it is near enough, else the valid keys. */
export function suggestKey(key: string, valid: readonly string[]): string {
  if (valid.length === 0) return 'no keys are allowed here';
  const near = closest(key, [...valid]);
  if (distance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(key.length / 3)))
    return `did you mean "${near}"?`;
  return `valid keys here: ${valid.map((k) => `"${k}"`).join(', ')}`;
}

/** The issues with unknown keys explained (one issue per key) and the path prefixed. */
export function explainIssues(
  schema: AnySchema,
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): z.core.$ZodIssue[] {
  return issues.flatMap((i): z.core.$ZodIssue[] => {
    const path = [...prefix, ...i.path];
    if (i.code !== 'unrecognized_keys') return [{ ...i, path }];
    const valid = keysAt(schema, i.path);
    return i.keys.map((k) => ({ ...i, keys: [k], path, message: `unknown key "${k}": ${suggestKey(k, valid)}` }));
  });
}

/** One error for a config that does not parse: what it is, then every issue (z.prettifyError layout). */
export function configError(origin: string, schema: AnySchema, error: z.core.$ZodError): Error {
  const explained = new z.ZodError(explainIssues(schema, error.issues));
  return new Error(`${origin} is not a valid run config (nothing was run):\n${z.prettifyError(explained)}`);
}
