// Argument values the operator commands share: times, offsets and counts,
// each refused with a message that names the option.

/** A time given as epoch ms or as an ISO-8601 date/time. */
export function parseTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`--${name}: not a time: ${value}`);
  return ms;
}

/** A log offset (a non-negative integer). */
export function parseOffset(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name}: not an offset: ${value}`);
  return Number(value);
}

/** A whole number of at least `min`. */
export function parseCount(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`--${name}: not a number ≥ ${min}: ${value}`);
  return Number(value);
}
