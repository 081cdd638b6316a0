// Which fields of an event hold personal data: the latest schema of each type
// marks them with the Avro attribute `"parley.personal": true` (an attribute
// readers ignore, outside the canonical form, so marking one changes no
// fingerprint). Writers seal exactly those values, readers open exactly those
// (src/privacy/), and `parley replay` hides them unless asked.
//
// A path names a field from the top of the event's data; `*` stands for every
// item of an array (message_sent's attachments[*].url).

import type { AvroSchemaJson } from './schema-catalog.ts';

export type FieldPath = readonly string[];

/** The value a personal field may hold: text, or null where the field is nullable. */
export type PersonalValue = string | null;

const PERSONAL = 'parley.personal';

interface FieldJson {
  name: string;
  type: unknown;
  [attribute: string]: unknown;
}

/** The personal fields of a record schema, in field order. */
export function personalFieldPaths(schema: AvroSchemaJson): FieldPath[] {
  const paths: FieldPath[] = [];
  collect(schema, [], paths);
  return paths;
}

function collect(type: unknown, prefix: string[], paths: FieldPath[]): void {
  if (!isObject(type)) return;
  if (type['type'] === 'array') {
    collect(type['items'], [...prefix, '*'], paths);
    return;
  }
  if (type['type'] !== 'record' || !Array.isArray(type['fields'])) return;
  for (const field of type['fields'] as FieldJson[]) {
    const path = [...prefix, field.name];
    if (field[PERSONAL] === true) paths.push(path);
    else collect(field.type, path, paths);
  }
}

/**
 * A copy of `data` with every personal value replaced by `replace(value)`;
 * the rest is shared, not copied. Values that are not strings (a null
 * avatar_url, an absent optional field) are passed as null.
 */
export function mapPersonalFields<T>(data: T, paths: readonly FieldPath[], replace: (value: PersonalValue) => PersonalValue): T {
  let result: unknown = data;
  for (const path of paths) result = mapAt(result, path, replace);
  return result as T;
}

/** Calls `visit` with each personal value of `data` that is a string. */
export function forEachPersonalValue(data: unknown, paths: readonly FieldPath[], visit: (value: string) => void): void {
  for (const path of paths) {
    mapAt(data, path, (value) => {
      if (typeof value === 'string') visit(value);
      return value;
    });
  }
}

function mapAt(node: unknown, path: FieldPath, replace: (value: PersonalValue) => PersonalValue): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return replace(typeof node === 'string' ? node : null);
  if (head === '*') {
    if (!Array.isArray(node)) return node;
    return node.map((item: unknown) => mapAt(item, rest, replace));
  }
  if (!isObject(node) || !(head in node)) return node;
  const before = node[head];
  if (rest.length === 0 && typeof before !== 'string') return node; // null stays null
  const after = mapAt(before, rest, replace);
  return after === before ? node : { ...node, [head]: after };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
