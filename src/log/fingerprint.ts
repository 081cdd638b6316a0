// CRC-64-AVRO, the 64-bit Rabin fingerprint the Avro spec defines for schema
// fingerprints and single-object encoding. avsc only offers the hashes of
// node:crypto (md5, sha256 …), so the spec's reference algorithm lives here.
// It runs once per schema at start-up, so BigInt's slowness does not matter.

const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK);
  return fp;
});

/** The CRC-64-AVRO fingerprint of `bytes`, as an unsigned 64-bit integer. */
export function crc64Avro(bytes: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of bytes) fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)]!;
  return fp;
}

/**
 * The fingerprint of a schema given in Parsing Canonical Form, as the 8
 * little-endian bytes single-object encoding puts after its 0xC3 0x01 marker.
 */
export function schemaFingerprint(canonicalForm: string): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(crc64Avro(Buffer.from(canonicalForm, 'utf8')));
  return out;
}
