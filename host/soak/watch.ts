/**
 * What the soak does on its own timers, over every world on one clock: every virtual minute (every 100 ms with `--real`)
 * the cheap checks (each device's silence and progress, and whether the firmware's 32-bit
 * counter wrapped), and
 * about {@link SERIES_POINTS} times a run the samples — each module's stats block against
 * its memory and region invariants, outbox occupancy, reconnects, delivery latency and
 * host memory — that make the report's series.
 *
 * @example
 * const watch = new Watch({ clock, worlds, memory, u32StartMs, endMs, jumpTotal: (atMs) => clockFaults.jumpTotal(atMs) });
 * watch.schedule();                // then run the clock
 * watch.finish();                  // a last check and sample at the end
 */
import type { VirtualClock } from "../sim/clock.ts";
import { formatVirtualTime } from "../sim/view.ts";
import type { HostMemory } from "./memory.ts";
import type { PartialPoint } from "./partial.ts";
import type { Member, SoakWorld } from "./world.ts";

/** How often the cheap checks run by default. */
export const CHECK_EVERY_MS = 60_000;
/** Samples of the series per run. */
export const SERIES_POINTS = 240;
/** Forced collections (host/soak/memory.ts) in the second half of the run. */
const FORCED_GCS = 10;

/** One point of the series plotted over virtual time (from a run's {@link PartialPoint}s). */
export interface SeriesPoint {
  atMs: number;
  /** The largest module memory among the devices, bytes. */
  moduleMemoryBytes: number;
  /** Host heap per device, bytes (at points with a memory sample). */
  heapPerDevice?: number;
  externalPerDevice?: number;
  outboxMeanBytes: number;
  outboxMaxBytes: number;
  /** Reconnects so far, all devices. */
  reconnects: number;
  /** Delivery latency of the readings first received since the previous point. */
  latencyMeanMs: number;
  latencyMaxMs: number;
  latencyCount: number;
}

/** A crossing of the 32-bit wrap. */
export interface Wrap {
  atMs: number;
  at: string;
}

/** What {@link Watch} needs. */
export interface WatchOptions {
  clock: VirtualClock;
  /** The worlds on this clock. */
  worlds: readonly SoakWorld[];
  /** The sum of the clock's jumps up to a virtual time. */
  jumpTotal(atMs: number): number;
  memory: HostMemory;
  /** The firmware's counter at virtual time 0. */
  u32StartMs: number;
  /** The end of the run (faults and drain). */
  endMs: number;
  /** How often the cheap checks run (default {@link CHECK_EVERY_MS}); samples are never more frequent. */
  checkEveryMs?: number;
}

/** The soak's periodic checks and samples. */
export class Watch {
  readonly series: PartialPoint[] = [];
  readonly wraps: Wrap[] = [];
  private samples = 0;
  private lastWrap: number;
  private readonly checkEveryMs: number;
  private readonly sampleEveryMs: number;

  constructor(private readonly options: WatchOptions) {
    this.lastWrap = Math.floor(options.u32StartMs / 2 ** 32);
    this.checkEveryMs = options.checkEveryMs ?? CHECK_EVERY_MS;
    this.sampleEveryMs = Math.max(this.checkEveryMs, Math.floor(options.endMs / SERIES_POINTS));
    this.members = options.worlds.flatMap((world) => world.members);
  }

  private readonly members: readonly Member[];

  /** Sets the timers of the checks and the samples up to the end. */
  schedule(): void {
    this.repeat(this.checkEveryMs, () => this.check());
    this.repeat(this.sampleEveryMs, () => this.sample(false));
  }

  /** A last check and sample (with a forced collection) now. */
  finish(): void {
    this.check();
    this.sample(true);
  }

  /** Silence and progress of every device; the wrap of the firmware's counter. */
  private check(): void {
    const { clock, u32StartMs } = this.options;
    const now = clock.now();
    for (const member of this.members) member.monitor.check(now);
    const jumps = this.options.jumpTotal(now);
    const wrap = Math.floor((u32StartMs + now + jumps) / 2 ** 32);
    if (wrap > this.lastWrap) {
      const atMs = wrap * 2 ** 32 - u32StartMs - jumps;
      this.wraps.push({ atMs, at: formatVirtualTime(atMs) });
    }
    this.lastWrap = wrap;
  }

  /** Module stats against the monitors, outbox, reconnects, latency, host memory. */
  private sample(final: boolean): void {
    const { clock, worlds, memory } = this.options;
    const now = clock.now();
    const point: PartialPoint = {
      atMs: now, moduleMemoryBytes: 0, devices: this.members.length, outboxSumBytes: 0, outboxMaxBytes: 0, reconnects: 0,
      latencyCount: 0, latencySumUs: 0, latencyMaxMs: 0,
    };
    for (const world of worlds) {
      const sequences: number[] = [];
      for (const { device, monitor, power } of world.members) {
        const stats = device.stats();
        const memoryBytes = device.memoryBytes();
        monitor.sampleModule(now, stats, memoryBytes);
        point.moduleMemoryBytes = Math.max(point.moduleMemoryBytes, memoryBytes);
        point.outboxSumBytes += stats.outbox.used;
        point.outboxMaxBytes = Math.max(point.outboxMaxBytes, stats.outbox.used);
        point.reconnects += stats.reconnects + power.reconnectsForgotten;
        sequences.push(device.appStats().sequence);
      }
      world.ledger.sampleSequences(now, sequences);
      const latency = world.ledger.takeWindow();
      point.latencyCount += latency.count;
      point.latencySumUs += latency.sumUs;
      point.latencyMaxMs = Math.max(point.latencyMaxMs, latency.maxMs);
    }
    // forced collections only in the second half, where the trend is fitted
    const half = SERIES_POINTS / 2;
    const forced = final || (this.samples >= half && (this.samples - half) % (half / FORCED_GCS) === 0);
    const taken = memory.sample(now, forced);
    if (taken !== undefined) {
      point.heapBytes = taken.heapPerDevice * this.members.length;
      point.externalBytes = taken.externalPerDevice * this.members.length;
    }
    this.samples++;
    this.series.push(point);
  }

  /** Calls `run` every `everyMs` of virtual time up to the end. */
  private repeat(everyMs: number, run: () => void): void {
    const { clock, endMs } = this.options;
    const next = (at: number): void => {
      if (at > endMs) return;
      clock.setTimer(at, () => {
        run();
        next(at + everyMs);
      });
    };
    next(everyMs);
  }
}
