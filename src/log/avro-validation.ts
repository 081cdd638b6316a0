// Turns "this value does not fit this schema" into sentences that name the
// field: `attachments[1].bytes must be long (a safe integer), got a string`.
// Values are described by their kind, never printed: an event may carry a
// password hash or a private message, and these messages end up in logs.

import avro from 'avsc';

/**
 * avsc reads and writes a long as a JS number only within ±(2^53 − 2), one
 * less than Number.MAX_SAFE_INTEGER, so that no value is ever rounded.
 */
const LONG_LIMIT = 9_007_199_254_740_990;

/** The problems with `value` against `type`; empty when it can be written. */
export function findInvalidFields(type: avro.Type, value: unknown): string[] {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path, found, expected) => {
      problems.push(`${formatPath(path)} must be ${describeType(expected)}, got ${describeValue(found)}`);
    },
  });
  if (problems.length > 0) return problems;

  // A field the schema does not know would be dropped silently on write, so
  // data added to a domain event but forgotten in its schema would be lost.
  type.isValid(value, {
    noUndeclaredFields: true,
    errorHook: (path, found, expected) => {
      if (!(expected instanceof avro.types.RecordType)) return;
      const declared = new Set(expected.fields.map((field) => field.name));
      const extra = Object.keys(found as object).filter((key) => !declared.has(key));
      for (const key of extra) problems.push(`${formatPath([...path, key])} is not a field of the schema`);
    },
  });
  return problems;
}

function formatPath(path: readonly string[]): string {
  if (path.length === 0) return '(the event)';
  return path.reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out === '' ? part : `${out}.${part}`), '');
}

function describeType(type: avro.Type): string {
  if (type instanceof avro.types.UnwrappedUnionType) return type.types.map(describeType).join(' or ');
  switch (type.typeName) {
    case 'long':
      return `long (an integer within ±${LONG_LIMIT})`;
    case 'int':
      return 'int (a 32-bit integer)';
    case 'record':
      return `a ${type.name ?? 'record'} record`;
    case 'array':
      return 'an array';
    default:
      return type.typeName;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return 'a non-integer number';
    return Math.abs(value) > LONG_LIMIT ? 'an integer beyond that' : 'a number';
  }
  return `a ${typeof value}`;
}
