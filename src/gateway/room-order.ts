// A socket's frames about one room take effect in the order the client sent
// them. Handlers await (membership reads, the command bus) and a pool of
// database connections answers in any order, so without this a TYPING true
// sent before a TYPING false could be published after it (the others would
// see the typist typing for good), two SEND_MESSAGEs could take their seqs
// the other way round, and a JOIN_ROOM followed by LEAVE_ROOM could end joined.
// Frames about different rooms, and PINGs, still run side by side.

export type RoomOrder = (owner: object, roomId: string, task: () => Promise<void>) => Promise<void>;

export function createRoomOrder(): RoomOrder {
  /** Per socket (any object standing for it), per room: the last task queued. */
  const tails = new WeakMap<object, Map<string, Promise<void>>>();
  return (owner, roomId, task) => {
    let rooms = tails.get(owner);
    if (rooms === undefined) {
      rooms = new Map<string, Promise<void>>();
      tails.set(owner, rooms);
    }
    const previous = rooms.get(roomId) ?? Promise.resolve();
    // A failed task's error goes to its own caller; the next one still runs.
    const run = previous.then(task);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    rooms.set(roomId, tail);
    void tail.then(() => {
      if (rooms.get(roomId) === tail) rooms.delete(roomId);
    });
    return run;
  };
}
