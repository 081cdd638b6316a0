// Which cold entries a spilled aggregate has in the snapshot store, as a
// Bloom filter: "no" for certain, "maybe" with ~1 % false positives. Every new
// message names a client_msg_id the room has never seen, and without the filter
// each would cost a query of the store to learn so (commands/cold-entries.ts).
//
// It grows with the entries (a scalable Bloom filter, Almeida et al. 2007): a
// full layer is kept and a new one for twice as many entries is added, each
// with one hash probe more than the last (7, 8, 9 … at 1.44 bits per probe
// and entry), so the layers' false positives halve as they come and add up to
// under 2 % (1.6 % measured at a million); a room of a million messages holds
// ~2.8 MB of filter instead of ~100 MB of client_msg_ids.
// Written here rather than taken from a package: it is 60 lines, and of the
// packages on npm, bloom-filters grows but brings eight dependencies (lodash,
// reflect-metadata, seedrandom …) and bloomfilter does not grow.

const FIRST_PROBES = 7;
/** Bits per entry and probe for the fewest false positives (1 / ln 2). */
const BITS_PER_PROBE = 1.44;
const FIRST_CAPACITY = 1024;

interface Layer {
  bits: Uint8Array;
  probes: number;
  capacity: number;
  count: number;
}

/** A filter as a snapshot stores it (V8 serialises Uint8Arrays as they are). */
export type StoredFilter = Layer[];

export class EntryFilter {
  readonly #layers: Layer[];

  constructor(stored: StoredFilter = []) {
    this.#layers = stored;
  }

  add(id: string): void {
    let layer = this.#layers.at(-1);
    if (layer === undefined || layer.count >= layer.capacity) {
      const capacity = layer === undefined ? FIRST_CAPACITY : layer.capacity * 2;
      const probes = layer === undefined ? FIRST_PROBES : layer.probes + 1;
      layer = { bits: new Uint8Array(Math.ceil((capacity * probes * BITS_PER_PROBE) / 8)), probes, capacity, count: 0 };
      this.#layers.push(layer);
    }
    const size = layer.bits.length * 8;
    const [h1, h2] = hashes(id);
    for (let i = 0; i < layer.probes; i++) {
      const bit = (h1 + i * h2) % size;
      layer.bits[bit >>> 3]! |= 1 << (bit & 7);
    }
    layer.count++;
  }

  /** False: the id was never added. True: it may have been. */
  mightHave(id: string): boolean {
    const [h1, h2] = hashes(id);
    return this.#layers.some(({ bits, probes }) => {
      const size = bits.length * 8;
      for (let i = 0; i < probes; i++) {
        const bit = (h1 + i * h2) % size;
        if ((bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
      }
      return true;
    });
  }

  stored(): StoredFilter {
    return this.#layers;
  }
}

/** Two independent 32-bit FNV-1a hashes of the UTF-16 code units (double hashing makes the probes). */
function hashes(id: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < id.length; i++) {
    const unit = id.charCodeAt(i);
    a = Math.imul(a ^ unit, 0x01000193) >>> 0;
    b = Math.imul(b ^ unit, 0x01000193) >>> 0;
    b ^= b >>> 15;
  }
  // An even step would probe only half the bits of a power-of-two-sized layer.
  return [a, (b | 1) >>> 0];
}
