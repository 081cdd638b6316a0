// An open loop's clock: sends `perS` a second by elapsed time, not by timer
// count, so a tick that came late (a busy load generator, a GC) sends every
// send that fell due meanwhile and the rate offered stays the rate asked.

/**
 * Calls `send(n)` for n = 0, 1, 2, … as each falls due, checking every
 * `tickMs`; returns a function that stops it.
 */
export function startFixedRate(perS: number, send: (n: number) => void, tickMs: number): () => void {
  const started = performance.now();
  let sent = 0;
  const ticker = setInterval(() => {
    const due = Math.floor(((performance.now() - started) * perS) / 1000);
    while (sent < due) send(sent++);
  }, tickMs);
  return () => clearInterval(ticker);
}
