/**
 * Delivery latency of the soak, reading to observer: a log₂ histogram (bucket i holds
 * latencies in [2^(i-1), 2^i) ms), the count, sum and max, and the observed values
 * themselves while there are at most {@link KEPT_VALUES} of them. Percentiles come from
 * the kept values (exact); beyond that from the histogram — the upper bound of the
 * bucket holding the quantile, capped by the max, so no percentile exceeds the max.
 * {@link LatencyData} merges (devices, workers, shards) into the same figures a single
 * recorder of every value would give: values are kept to the microsecond and summed as
 * whole microseconds, so the sum does not depend on the order of the additions (exact
 * up to 2^53 µs, 285 years of summed latency).
 *
 * @example
 * const recorder = new LatencyRecorder();
 * recorder.add(48_000);
 * latencyFigures(recorder.data()); // { count: 1, p50Ms: 48000, p99Ms: 48000, maxMs: 48000, exact: true, … }
 */

/** Observed values kept for exact percentiles (beyond this, the histogram answers). */
export const KEPT_VALUES = 100_000;
/** Buckets of the log₂ histogram. */
const BUCKETS = 40;

/** Delivery latency figures. */
export interface LatencyFigures {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** True when the percentiles come from the observed values, false when from the histogram (an upper bound). */
  exact: boolean;
}

/** What a recorder holds, in a form that merges (and travels as JSON). */
export interface LatencyData {
  count: number;
  /** Whole microseconds, so sums are exact whatever the order. */
  sumUs: number;
  maxMs: number;
  histogram: number[];
  /** Every observed value while count ≤ `keep`; undefined beyond. */
  values: number[] | undefined;
  keep: number;
}

/** Records latencies. */
export class LatencyRecorder {
  private count = 0;
  private sum = 0;
  private max = 0;
  private readonly histogram = new Float64Array(BUCKETS);
  private values: Float64Array | undefined = new Float64Array(64);

  /** `keep`: values kept for exact percentiles (default {@link KEPT_VALUES}). */
  constructor(private readonly keep = KEPT_VALUES) {}

  /** Adds one latency (ms ≥ 0, kept to the microsecond). */
  add(latencyMs: number): void {
    const us = Math.round(latencyMs * 1000);
    const ms = us / 1000;
    if (this.values !== undefined) {
      if (this.count >= this.keep) this.values = undefined;
      else {
        if (this.count === this.values.length) {
          const grown = new Float64Array(Math.min(this.keep, this.values.length * 2));
          grown.set(this.values);
          this.values = grown;
        }
        this.values[this.count] = ms;
      }
    }
    this.count++;
    this.sum += us;
    this.max = Math.max(this.max, ms);
    this.histogram[bucketOf(ms)]++;
  }

  /** A copy of what was recorded. */
  data(): LatencyData {
    return {
      count: this.count,
      sumUs: this.sum,
      maxMs: this.max,
      histogram: Array.from(this.histogram),
      values: this.values === undefined ? undefined : Array.from(this.values.subarray(0, this.count)),
      keep: this.keep,
    };
  }
}

/** The bucket of a latency. */
function bucketOf(ms: number): number {
  return Math.min(BUCKETS - 1, ms < 1 ? 0 : Math.floor(Math.log2(ms)) + 1);
}

/** Empty data (the identity of {@link mergeLatency}). */
export function emptyLatency(keep = KEPT_VALUES): LatencyData {
  return { count: 0, sumUs: 0, maxMs: 0, histogram: new Array<number>(BUCKETS).fill(0), values: [], keep };
}

/** Data of several recorders as one: values stay kept only while the total is within `keep`. */
export function mergeLatency(parts: readonly LatencyData[]): LatencyData {
  const keep = parts.reduce((min, part) => Math.min(min, part.keep), KEPT_VALUES);
  const merged = emptyLatency(keep);
  const values: number[] = [];
  let kept = true;
  for (const part of parts) {
    merged.count += part.count;
    merged.sumUs += part.sumUs;
    merged.maxMs = Math.max(merged.maxMs, part.maxMs);
    for (let i = 0; i < BUCKETS; i++) merged.histogram[i] += part.histogram[i] ?? 0;
    if (part.values === undefined) kept = false;
    else if (kept) for (const value of part.values) values.push(value);
  }
  merged.values = kept && merged.count <= keep ? values : undefined;
  return merged;
}

/** The figures: exact percentiles from the kept values, else histogram bounds capped by the max. */
export function latencyFigures(data: LatencyData): LatencyFigures {
  const { count, sumUs, maxMs } = data;
  const base = { count, meanMs: count === 0 ? 0 : sumUs / count / 1000, maxMs };
  if (count === 0) return { ...base, p50Ms: 0, p99Ms: 0, exact: true };
  if (data.values !== undefined) {
    const sorted = Float64Array.from(data.values).sort();
    // the nearest-rank percentile: the smallest value with at least q of them at or below it
    const rank = (q: number): number => sorted[Math.max(0, Math.ceil(q * count) - 1)];
    return { ...base, p50Ms: rank(0.5), p99Ms: rank(0.99), exact: true };
  }
  const bound = (q: number): number => {
    const target = q * count;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += data.histogram[i];
      if (seen >= target) return Math.min(maxMs, i === 0 ? 1 : 2 ** i);
    }
    return maxMs;
  };
  return { ...base, p50Ms: bound(0.5), p99Ms: bound(0.99), exact: false };
}
