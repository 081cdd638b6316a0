// The progress line the operator commands draw on stderr.

/**
 * A progress line on stderr: done/total, rate and ETA, redrawn at most every
 * 200 ms. Called with NaN, it ends the line. The rate counts from `from` (work
 * already done before this run, e.g. a resumed rebuild, is not part of it).
 */
export function progressBar(label: string, enabled: boolean, from = 0): (done: number, total: number) => void {
  if (!enabled) return () => undefined;
  const started = Date.now();
  let drawn = 0;
  return (done, total) => {
    const now = Date.now();
    if (Number.isNaN(done)) {
      process.stderr.write('\n');
      return;
    }
    if (now - drawn < 200 && done < total) return;
    drawn = now;
    const seconds = Math.max(0.001, (now - started) / 1000);
    const rate = Math.max(0, done - from) / seconds;
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
    process.stderr.write(
      `\r${label}: ${done.toLocaleString('en')}/${total.toLocaleString('en')} (${percent}%) ` +
        `${Math.round(rate).toLocaleString('en')}/s ETA ${eta.toFixed(0)}s   `,
    );
  };
}
