// A sealed value as an attacker or a bad disk leaves it in the log: the same
// key id and length, one bit of its GCM tag flipped, so it no longer opens
// with its key (SealBroken) — for the specs of what readers do then.

export function alteredSeal(sealed: string): string {
  const at = sealed.lastIndexOf(':') + 1;
  const box = Buffer.from(sealed.slice(at), 'base64');
  box[box.length - 1]! ^= 1;
  return sealed.slice(0, at) + box.toString('base64');
}
