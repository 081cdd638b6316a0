// Upcasters: named changes to what a record says, applied on read after Avro
// has resolved it to the latest schema — for what a schema cannot say, such
// as "this field's old values must never be read again". One function per
// change, with its reason (STYLE.md: versioning is explicit). The events codec
// (avro-codec.ts) runs them on every event, the command envelope on every
// command, `parley replay` on both. Events and commands share the table: event
// types are past tense (`user_registered`), command types imperative
// (`register_user`), so they never collide.

/** Drops `password_hash` from a record's data (whatever else is there stays as it is). */
function withoutPasswordHash(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || !('password_hash' in data)) return data;
  const { password_hash: _secret, ...rest } = data as Record<string, unknown>;
  return rest;
}

const upcasters: Readonly<Record<string, (data: unknown) => unknown>> = {
  // Until user_registered v2, the event carried the user's password hash (and
  // register_user, its command, too). The hash lives in the credentials store
  // now (auth/credentials.ts); what older records still hold is never read.
  user_registered: withoutPasswordHash,
  register_user: withoutPasswordHash,
};

/** A record's data as the current code reads it: `type`'s upcaster applied, if it has one. */
export function upcast(type: string, data: unknown): unknown {
  const upcaster = upcasters[type];
  return upcaster === undefined ? data : upcaster(data);
}
