// JSON Schema 2020-12 validation against a document's component schemas (the
// OpenAPI document's, which the AsyncAPI document shares), for the tests that
// check what the server sends against what the documents say.

import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { JsonSchema } from '../openapi.ts';

/** Ajv with the components as one resource, so `#/components/schemas/X` refs resolve. */
export function schemaValidator(document: { components: { schemas: Record<string, JsonSchema> } }) {
  // `components` is no JSON Schema keyword: strict mode would refuse the wrapper.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const addFormats = ((ajvFormats as unknown as { default?: unknown }).default ?? ajvFormats) as (a: Ajv2020) => void;
  addFormats(ajv);
  const base = 'https://parley.invalid/document.json';
  ajv.addSchema({ $id: base, components: { schemas: document.components.schemas } });
  const cache = new Map<string, ValidateFunction>();
  let compiled = 0;
  const compile = (schema: JsonSchema): ValidateFunction =>
    ajv.compile({ $id: `${base}/check-${compiled++}`, ...rewriteRefs(schema, base) });
  const componentValidator = (name: string) => {
    let validate = cache.get(name);
    if (validate === undefined) {
      validate = compile({ $ref: `#/components/schemas/${name}` });
      cache.set(name, validate);
    }
    return validate;
  };
  return {
    /** Validates against `#/components/schemas/<name>`. */
    component(name: string): (value: unknown) => boolean {
      const validate = componentValidator(name);
      return (value) => validate(value);
    },
    /** Why `value` does not fit `#/components/schemas/<name>`, or null when it does. */
    problems(name: string, value: unknown): string | null {
      const validate = componentValidator(name);
      return validate(value) ? null : ajv.errorsText(validate.errors);
    },
    schema(schema: JsonSchema): (value: unknown) => boolean {
      const validate = compile(schema);
      return (value) => validate(value);
    },
  };
}

/** `#/components/…` → `<base>#/components/…` for a schema compiled outside the wrapper. */
function rewriteRefs(schema: JsonSchema, base: string): JsonSchema {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) =>
    key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${base}${value}` : value,
  ) as JsonSchema;
}
