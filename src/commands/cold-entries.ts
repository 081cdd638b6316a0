// The processor's bookkeeping of one partition's snapshots: what changed since
// the last one, and the cold entries of big aggregates (domain/aggregates.ts:
// a room's messages and client_msg_ids).
//
// A small aggregate is snapshotted whole, cold maps included: restored, it is
// complete, and a lookup that misses in memory is a true miss. Once an
// aggregate's cold map outgrows `hotEntries`, the aggregate *spills*: every
// entry becomes a row of the snapshot store, memory keeps the newest
// `hotEntries` of each map (and those the domain keeps hot), and from then on
// an entry missing from memory is looked up in the store before a command or
// event that needs it. Only spilled aggregates pay those lookups: one query
// per aggregate per batch of commands (or page of events while restoring),
// and none for an id a map's filter knows was never stored (entry-filter.ts:
// every new message's client_msg_id).

import { coldPartsFor, type ColdMap } from '../domain/aggregates.ts';
import type { Command, DomainEvent } from '../domain/decider.ts';
import { EntryFilter, type StoredFilter } from './entry-filter.ts';
import type { SnapshotChanges, SnapshotStore } from './snapshots.ts';

/** An entry's id in the snapshot store: its map's name, then its id in the map. */
const storeId = (map: ColdMap, id: string) => `${map.name}:${id}`;

/** The map a store id belongs to, and the entry's id in it. */
function fromStoreId(maps: readonly ColdMap[], id: string): [ColdMap, string] {
  const separator = id.indexOf(':');
  return [maps.find((candidate) => candidate.name === id.slice(0, separator))!, id.slice(separator + 1)];
}
const filterKey = (aggregate: string, map: string) => `${aggregate}\n${map}`;

/** What a batch needs loaded: per aggregate, the ids each of its cold maps must hold. */
export interface ColdNeed {
  key: string;
  ids: (map: ColdMap) => string[];
}

export const needsOfCommand = (key: string, command: Command): ColdNeed => ({ key, ids: (map) => map.readBy(command) });
export const needsOfEvent = (key: string, event: DomainEvent): ColdNeed => ({ key, ids: (map) => map.changedBy(event) });

/** What a snapshot stores of a spilled aggregate: its state without cold entries, and its maps' filters. */
interface SpilledState {
  state: unknown;
  filters: Record<string, StoredFilter>;
}

export class PartitionSnapshotNotes {
  /** Aggregates whose cold entries are partly in the snapshot store only. */
  readonly spilled: Set<string>;
  /** Events applied since the last snapshot. */
  events = 0;
  #aggregates = new Set<string>();
  /** aggregate → store ids of its changed cold entries (spilled aggregates only). */
  #entries = new Map<string, Set<string>>();
  /** `aggregate\nmap` → the ids of the map's stored entries (spilled aggregates, `mostlyNew` maps). */
  #filters = new Map<string, EntryFilter>();

  readonly #store: SnapshotStore;
  readonly #hotEntries: number;

  constructor(store: SnapshotStore, hotEntries: number, spilled: Iterable<string> = []) {
    this.#store = store;
    this.#hotEntries = hotEntries;
    this.spilled = new Set(spilled);
  }

  noteChanged(key: string, events: readonly DomainEvent[]): void {
    if (events.length === 0) return;
    this.#aggregates.add(key);
    this.events += events.length;
    const parts = this.spilled.has(key) ? coldPartsFor(key) : undefined;
    if (parts === undefined) return;
    let changed = this.#entries.get(key);
    if (changed === undefined) this.#entries.set(key, (changed = new Set()));
    for (const event of events)
      for (const map of parts.maps) for (const id of map.changedBy(event)) changed.add(storeId(map, id));
  }

  /** A snapshot's aggregates as the processor holds them: the spilled ones' filters taken out. */
  restored(aggregates: Map<string, unknown>): Map<string, unknown> {
    for (const key of this.spilled) {
      const stored = aggregates.get(key) as SpilledState | undefined;
      if (stored === undefined) continue;
      aggregates.set(key, stored.state);
      for (const [name, filter] of Object.entries(stored.filters))
        this.#filters.set(filterKey(key, name), new EntryFilter(filter));
    }
    return aggregates;
  }

  /** Loads, into the aggregates' cold maps, the entries `needs` ask for that spilled aggregates lack in memory. */
  async load(aggregates: Map<string, unknown>, needs: readonly ColdNeed[]): Promise<void> {
    const missing = new Map<string, Set<string>>();
    for (const { key, ids } of needs) {
      if (!this.spilled.has(key)) continue;
      const aggregate = aggregates.get(key);
      for (const map of coldPartsFor(key)!.maps) {
        const entries = map.entries(aggregate);
        const filter = this.#filters.get(filterKey(key, map.name));
        for (const id of ids(map)) {
          if (entries.has(id) || filter?.mightHave(storeId(map, id)) === false) continue;
          let wanted = missing.get(key);
          if (wanted === undefined) missing.set(key, (wanted = new Set()));
          wanted.add(storeId(map, id));
        }
      }
    }
    for (const [key, ids] of missing) {
      const aggregate = aggregates.get(key);
      const maps = coldPartsFor(key)!.maps;
      for (const [id, entry] of await this.#store.loadEntries(key, [...ids])) {
        const [map, entryId] = fromStoreId(maps, id);
        map.entries(aggregate).set(entryId, map.loaded(aggregate, entry));
      }
    }
  }

  /**
   * What the next snapshot writes; `spilling` are the aggregates that spill
   * with it (all their entries are written). Call `written` once it is saved.
   */
  changes(aggregates: Map<string, unknown>): {
    changes: Omit<SnapshotChanges, 'nextOffset' | 'lastRecord' | 'memory'>;
    spilling: Set<string>;
  } {
    const states = new Map<string, unknown>();
    const entries = new Map<string, Map<string, unknown>>();
    const spills = new Map<string, Map<string, unknown>>();
    const spilling = new Set<string>();
    for (const key of this.#aggregates) {
      const aggregate = aggregates.get(key);
      const parts = coldPartsFor(key);
      if (parts === undefined) {
        states.set(key, aggregate);
        continue;
      }
      const spilled = this.spilled.has(key);
      if (!spilled && !parts.maps.some((map) => map.entries(aggregate).size > this.#hotEntries)) {
        states.set(key, aggregate);
        continue;
      }
      const rows = new Map<string, unknown>();
      if (spilled) {
        for (const id of this.#entries.get(key) ?? []) {
          const [map, entryId] = fromStoreId(parts.maps, id);
          const entry = map.entries(aggregate).get(entryId);
          if (entry === undefined) continue;
          rows.set(id, entry);
          if (map.mostlyNew) this.#filterOf(key, map.name).add(id);
        }
        if (rows.size > 0) entries.set(key, rows);
      } else {
        spilling.add(key);
        for (const map of parts.maps) {
          // A fresh filter: a spill after a failed one starts again.
          if (map.mostlyNew) this.#filters.set(filterKey(key, map.name), new EntryFilter());
          for (const [id, entry] of map.entries(aggregate)) {
            rows.set(storeId(map, id), entry);
            if (map.mostlyNew) this.#filterOf(key, map.name).add(storeId(map, id));
          }
        }
        spills.set(key, rows);
      }
      const filters = Object.fromEntries(
        parts.maps.filter((map) => map.mostlyNew).map((map) => [map.name, this.#filterOf(key, map.name).stored()]),
      );
      states.set(key, { state: parts.withoutEntries(aggregate), filters } satisfies SpilledState);
    }
    return { changes: { aggregates: states, entries, spills }, spilling };
  }

  /** The snapshot is saved: forget the notes, and evict the spilled aggregates' entries down to the hot ones. */
  written(aggregates: Map<string, unknown>, spilling: Set<string>): void {
    for (const key of spilling) this.spilled.add(key);
    this.#aggregates = new Set();
    this.#entries = new Map();
    this.events = 0;
    for (const key of this.spilled) {
      const aggregate = aggregates.get(key);
      if (aggregate === undefined) continue;
      for (const map of coldPartsFor(key)!.maps) evict(map.entries(aggregate), map.keptHot(aggregate), this.#hotEntries);
    }
  }

  #filterOf(key: string, map: string): EntryFilter {
    let filter = this.#filters.get(filterKey(key, map));
    if (filter === undefined) this.#filters.set(filterKey(key, map), (filter = new EntryFilter()));
    return filter;
  }

  /** The snapshot was not saved: keep the notes for the next one, which waits for as many events again. */
  notWritten(): void {
    this.events = 0;
  }
}

/** Drops the oldest entries (in the order they came into memory) until `keep` remain, sparing `hot`. */
function evict(entries: Map<string, unknown>, hot: ReadonlySet<string>, keep: number): void {
  let excess = entries.size - keep;
  if (excess <= 0) return;
  for (const id of entries.keys()) {
    if (excess <= 0) break;
    if (hot.has(id)) continue;
    entries.delete(id);
    excess--;
  }
}
