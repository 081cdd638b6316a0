// A latency histogram cheap enough to update once per delivery: 10 µs buckets
// up to 100 ms, 1 ms buckets up to 60 s, one overflow count beyond.

const FINE_US = 10;
const FINE_BUCKETS = 10_000; // 0 … 100 ms
const COARSE_BUCKETS = 60_000; // 100 ms … 60 s, 1 ms each

export class Histogram {
  readonly fine = new Uint32Array(FINE_BUCKETS);
  readonly coarse = new Uint32Array(COARSE_BUCKETS);
  overflow = 0;
  count = 0;
  max = 0;

  record(ms: number): void {
    this.count++;
    if (ms > this.max) this.max = ms;
    const fine = (ms * 1000) / FINE_US;
    if (fine < FINE_BUCKETS) {
      this.fine[fine < 0 ? 0 : fine | 0]!++;
      return;
    }
    const coarse = (ms - 100) | 0;
    if (coarse < COARSE_BUCKETS) this.coarse[coarse]!++;
    else this.overflow++;
  }

  /** The q-quantile in ms (upper edge of its bucket), or null when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < FINE_BUCKETS; i++) {
      seen += this.fine[i]!;
      if (seen >= rank) return ((i + 1) * FINE_US) / 1000;
    }
    for (let i = 0; i < COARSE_BUCKETS; i++) {
      seen += this.coarse[i]!;
      if (seen >= rank) return 100 + i + 1;
    }
    return this.max;
  }

  summary(): { count: number; p50: number | null; p99: number | null; p999: number | null; max: number | null } {
    return {
      count: this.count,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.count === 0 ? null : Math.round(this.max * 1000) / 1000,
    };
  }
}
