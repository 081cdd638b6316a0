// Validation at the HTTP boundary: routes parse `ctx.request.body`, `ctx.query`
// and `ctx.params` through zod schemas with these helpers and get typed values
// back, or the client gets 400 `validation_failed` with `{path, message}` per
// problem. Query-string building blocks (integers, page sizes, seqs) live here;
// ids and seqs in bodies are commands/inputs.ts's, so every route accepts the
// same spellings.
//
// Objects must be strict: build them with `strictObject` (= `z.strictObject`), and
// nested objects too — a plain `z.object` silently drops unknown fields, and a
// dropped `role: "admin"` is how mass assignment starts.

import { z } from 'zod';
import type { Config } from '../config.ts';
import { validationError } from './errors.ts';

/** `z.strictObject`: unknown keys are a 400 listing each one. */
export const strictObject = z.strictObject;

/** Parses the JSON body (undefined when there was none) or throws 400 `validation_failed`. */
export function parseBody<S extends z.ZodType>(ctx: { request: { body?: unknown } }, schema: S): z.output<S> {
  return parseWith(schema, ctx.request.body, 'request body');
}

/** Parses the query string; a repeated parameter arrives as an array, so a string schema refuses it. */
export function parseQuery<S extends z.ZodType>(ctx: { query: unknown }, schema: S): z.output<S> {
  return parseWith(schema, ctx.query, 'query');
}

/** Parses the router's path parameters. */
export function parseParams<S extends z.ZodType>(ctx: { params?: unknown }, schema: S): z.output<S> {
  return parseWith(schema, ctx.params ?? {}, 'path parameters');
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, what);
  return result.data;
}

/**
 * A non-negative integer written in decimal in a query string or path ("0", "42";
 * not "", "-1", "1.5", "1e3", "0x10", " 7", "007", or a repeated parameter).
 */
export function queryIntSchema(min: number, max: number) {
  const message = `must be an integer from ${min} to ${max}`;
  return z
    .string({ error: `${message}, given once` })
    .regex(/^(0|[1-9][0-9]{0,15})$/, { error: message })
    .transform(Number)
    .refine((value) => Number.isSafeInteger(value) && value >= min && value <= max, { error: message });
}

/** `limit` of a list endpoint: 1..PARLEY_PAGE_MAX, PARLEY_PAGE_DEFAULT when absent; anything else is 400, never clamped. */
export function pageLimitSchema(config: Pick<Config, 'PARLEY_PAGE_DEFAULT' | 'PARLEY_PAGE_MAX'>) {
  return queryIntSchema(1, config.PARLEY_PAGE_MAX).default(config.PARLEY_PAGE_DEFAULT);
}

/** A sequence number in a query string (`before_seq`, `after_seq`); in a JSON body it is commands/inputs.ts's `seq`. */
export const seqQuerySchema = queryIntSchema(0, Number.MAX_SAFE_INTEGER);
