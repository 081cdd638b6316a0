// Reads of the key store, gathered. Every reader of the events topic opens the
// messages it handles, and an instance that did not seal a message has to
// read its key: at a steady rate each partition's batch holds one message, so
// a gateway-only instance read one key per statement — a database round trip
// per message, on its CPU and the database's. Reads that arrive while one is
// on its way wait for it to come back and then go together in the next one,
// so there is at most one read in flight and one gathering behind it: at low
// rates a key costs what it did, at high rates a statement carries every key
// asked for during the previous round trip.

import type { KeySecret } from './key-store.ts';

type FetchKeys = (ids: readonly string[]) => Promise<Map<string, KeySecret>>;

export interface KeyReads {
  /** The keys of `ids` the store knows (destroyed ones as null), read with whatever else is asked meanwhile. */
  read(ids: readonly string[]): Promise<Map<string, KeySecret>>;
}

export function gatherKeyReads(fetchKeys: FetchKeys): KeyReads {
  let inFlight: Promise<Map<string, KeySecret>> | undefined;
  let gathered: { ids: Set<string>; start: () => void; result: Promise<Map<string, KeySecret>> } | undefined;

  function start(ids: Set<string>): Promise<Map<string, KeySecret>> {
    const result = fetchKeys([...ids]);
    inFlight = result;
    const settled = () => {
      inFlight = undefined;
      const waiting = gathered;
      gathered = undefined;
      waiting?.start();
    };
    result.then(settled, settled);
    return result;
  }

  function gathering() {
    if (gathered !== undefined) return gathered;
    const ids = new Set<string>();
    let begin!: () => void;
    const result = new Promise<Map<string, KeySecret>>((resolve, reject) => {
      begin = () => void start(ids).then(resolve, reject);
    });
    gathered = { ids, start: begin, result };
    return gathered;
  }

  return {
    async read(ids) {
      if (inFlight === undefined) return start(new Set(ids));
      // Never joined to the read in flight: it began before this call, and a
      // key stored since would be missing from it. The next one begins after.
      const next = gathering();
      for (const id of ids) next.ids.add(id);
      const answer = await next.result;
      const found = new Map<string, KeySecret>();
      for (const id of ids) {
        const secret = answer.get(id);
        if (secret !== undefined) found.set(id, secret);
      }
      return found;
    },
  };
}
