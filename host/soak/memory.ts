/**
 * The host's memory per simulated device, sampled over virtual time, and the trend test
 * behind the host-memory invariant. A sample is live data, not garbage: the heap in use
 * right after a full (mark-compact) collection — the process's own ones, seen through
 * `v8.GCProfiler`, and a few forced ones (`global.gc` under `--expose-gc`, otherwise the
 * same function obtained through `v8.setFlagsFromString`) so that short runs have samples
 * too. Forced collections are rationed: each one costs ~150 ms of wall time afterwards
 * (V8 shrinks the young generation), which halved a one-day soak's speed when every
 * sample forced one.
 *
 * The verdict fits a least-squares line to heapUsed per device over the second half of
 * the run (the first half holds start-up: JIT code, caches, connections being made) and
 * fails only on a clear, large rise: R² ≥ {@link TREND_MIN_R2} **and** a rise over the
 * second half of more than {@link TREND_MIN_BYTES_PER_DEVICE} per device **and** more
 * than {@link TREND_MIN_FRACTION} of the heap. With fewer than {@link TREND_MIN_SAMPLES}
 * samples in the second half it is not judged (and holds).
 *
 * @example
 * const memory = new HostMemory(devices);
 * memory.sample(clock.now());           // every sample
 * const trend = memory.trend();         // at the end
 * if (trend.rising) invariants.violate("host-memory", "host", clock.now(), trend.summary);
 */
import { GCProfiler, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** R² the fit must reach before a rise counts as a trend. */
export const TREND_MIN_R2 = 0.5;
/** A rise over the second half must exceed this many bytes per device … */
export const TREND_MIN_BYTES_PER_DEVICE = 64 * 1024;
/** … and this fraction of the heap. */
export const TREND_MIN_FRACTION = 0.05;
/** Samples the second half needs before it is judged. */
export const TREND_MIN_SAMPLES = 8;

/** One sample. */
export interface MemorySample {
  atMs: number;
  /** From a forced collection (else from the process's own last full collection in the window). */
  forced: boolean;
  /** V8 heap in use, per device. */
  heapPerDevice: number;
  /** Memory outside the V8 heap (ArrayBuffers, the modules' memories), per device. */
  externalPerDevice: number;
  /** The whole process's resident set. */
  rssBytes: number;
}

/** What V8's GC profiler reports of one collection (the fields used here). */
interface GcStatistic {
  gcType: string;
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

/** The verdict over the second half. */
export interface MemoryTrend {
  samples: number;
  /** Bytes per device per virtual day. */
  slopePerDay: number;
  /** The fitted rise over the second half, bytes per device. */
  riseBytes: number;
  r2: number;
  meanHeapPerDevice: number;
  judged: boolean;
  rising: boolean;
  summary: string;
}

/** Heap samples and their trend. */
export class HostMemory {
  readonly samples: MemorySample[] = [];
  private readonly gc: (() => void) | undefined;
  private profiler: GCProfiler | undefined;

  constructor(private readonly devices: number) {
    this.gc = exposeGc();
    this.profiler = new GCProfiler();
    this.profiler.start();
  }

  /** True when samples are taken after a forced collection. */
  get collects(): boolean {
    return this.gc !== undefined;
  }

  /**
   * Samples at `atMs`: the heap after the last full collection since the previous call,
   * if there was one, or — with `force`, or when there was none and `force` is "if-none" —
   * after a forced one. Returns the sample, or undefined when none was taken.
   */
  sample(atMs: number, force: boolean | "if-none" = false): MemorySample | undefined {
    const natural = this.lastFullCollection();
    const forced = force === true || (force === "if-none" && natural === undefined);
    // process.memoryUsage() reads /proc (about a millisecond): only for a sample that is taken
    if (!forced && natural === undefined) return undefined;
    const usage = process.memoryUsage();
    const external = usage.external / this.devices; // ArrayBuffers (arrayBuffers) are part of external
    let sample: MemorySample | undefined;
    if (forced) {
      this.profiler?.stop();
      this.gc?.();
      this.profiler?.start();
      sample = { atMs, forced: true, heapPerDevice: process.memoryUsage().heapUsed / this.devices, externalPerDevice: external, rssBytes: usage.rss };
    } else if (natural !== undefined) {
      sample = { atMs, forced: false, heapPerDevice: natural / this.devices, externalPerDevice: external, rssBytes: usage.rss };
    }
    if (sample !== undefined) this.samples.push(sample);
    return sample;
  }

  /** Stops watching collections. */
  stop(): void {
    this.profiler?.stop();
    this.profiler = undefined;
  }

  /** The heap in use after the last full collection since the previous call, restarting the profiler. */
  private lastFullCollection(): number | undefined {
    if (this.profiler === undefined) return undefined;
    const report = this.profiler.stop() as { statistics?: GcStatistic[] } | undefined;
    this.profiler.start();
    const full = (report?.statistics ?? []).filter((entry) => entry.gcType === "MarkSweepCompact");
    return full.at(-1)?.afterGC.heapStatistics.usedHeapSize;
  }

  /** Fits the second half of the samples (see the file comment for the thresholds). */
  trend(): MemoryTrend {
    const end = this.samples.at(-1)?.atMs ?? 0;
    const half = this.samples.filter((sample) => sample.atMs >= end / 2);
    const n = half.length;
    const mean = n === 0 ? 0 : half.reduce((sum, s) => sum + s.heapPerDevice, 0) / n;
    if (n < TREND_MIN_SAMPLES) {
      return { samples: n, slopePerDay: 0, riseBytes: 0, r2: 0, meanHeapPerDevice: mean, judged: false, rising: false, summary: `not judged: ${n} samples in the second half (needs ${TREND_MIN_SAMPLES})` };
    }
    const xs = half.map((s) => s.atMs / 86_400_000);
    const ys = half.map((s) => s.heapPerDevice);
    const { slope, r2 } = fitLine(xs, ys);
    const span = xs[n - 1] - xs[0];
    const rise = slope * span;
    const rising = r2 >= TREND_MIN_R2 && rise > TREND_MIN_BYTES_PER_DEVICE && rise > TREND_MIN_FRACTION * mean;
    const summary =
      `heap per device ${rising ? "rose" : "changed"} by ${kib(rise)} over the second half (${kib(slope)}/day, R² ${r2.toFixed(2)}, mean ${kib(mean)}); ` +
      `fails above ${kib(TREND_MIN_BYTES_PER_DEVICE)} and ${Math.round(TREND_MIN_FRACTION * 100)} % of the heap with R² ≥ ${TREND_MIN_R2}`;
    return { samples: n, slopePerDay: slope, riseBytes: rise, r2, meanHeapPerDevice: mean, judged: true, rising, summary };
  }
}

/** Least squares y = a + b·x; r2 is 0 when y does not vary. */
export function fitLine(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const r2 = sxx === 0 || syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept: my - slope * mx, r2 };
}

/** `global.gc`, or the same function made available at run time; undefined if neither works. */
function exposeGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
