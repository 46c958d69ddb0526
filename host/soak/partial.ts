/**
 * A part of a soak: what one worker (or one shard of workers) ran, in a form that merges.
 * Every run — one worker, many, or shards on many machines — ends as partials merged by
 * {@link mergePartials} and turned into the report by {@link finalize}, so the figures
 * of a device never depend on how the devices were split: per-device figures are listed
 * by device, sums are of integers, latency percentiles come from merged data
 * (host/soak/latency.ts), series points are summed before means are taken, and lists
 * (fault log, violations, excused losses) are sorted by time and device before they are
 * cut to their limits.
 *
 * `wasmqtt soak --shard i/N --report DIR` writes DIR/partial.json; `wasmqtt soak merge
 * DIR…` reads them back, and {@link checkShards} refuses parts of different runs (seed,
 * options, version) or a missing shard, naming it.
 *
 * @example
 * const result = finalize(mergePartials([partOfWorker0, partOfWorker1]));
 */
import type { FaultKind } from "./faults.ts";
import type { FaultRecord } from "./injector.ts";
import { INVARIANTS, type InvariantName, type Violation } from "./invariants.ts";
import { type LatencyData, latencyFigures, mergeLatency } from "./latency.ts";
import type { DeliveryTotals } from "./ledger.ts";
import type { MemoryTrend } from "./memory.ts";
import type { ObserverStats } from "./observer.ts";
import type { PowerFigures } from "./power.ts";
import type { DeviceSummary, SoakResult } from "./soak.ts";
import type { SeriesPoint, Wrap } from "./watch.ts";
import type { BrokerReport } from "./world.ts";

/** The `format` of a partial report. */
export const PARTIAL_FORMAT = "wasmqtt-soak-partial/2";
/** Fault log entries, violations and excused losses kept (the counts cover the rest). */
const LOG_LIMIT = 5000;
const VIOLATIONS_KEPT = 50;
const DETAILS_KEPT = 50;
const DAY_MS = 86_400_000;

/** What makes two parts parts of the same run. */
export interface RunIdentity {
  /** wasmqtt's version and a digest of the modules the devices and the observer ran. */
  version: string;
  seed: number;
  /** Every option that changes what runs (JSON, compared as text). */
  options: string;
}

/** One point of a part's series: sums and extremes, so points of parts add up. */
export interface PartialPoint {
  atMs: number;
  moduleMemoryBytes: number;
  devices: number;
  outboxSumBytes: number;
  outboxMaxBytes: number;
  reconnects: number;
  latencyCount: number;
  /** Whole microseconds. */
  latencySumUs: number;
  latencyMaxMs: number;
  /** Host heap and external memory of the part's process (at points with a memory sample). */
  heapBytes?: number;
  externalBytes?: number;
}

/** A worker's own figures: its host memory and wall time. */
export interface WorkerFigures {
  /** 0-based, within its shard. */
  worker: number;
  workers: number;
  shard: number;
  devices: number;
  wallSeconds: number;
  setupSeconds: number;
  hostMemory: { trend: MemoryTrend; lastHeapPerDevice: number; lastExternalPerDevice: number; forcedGc: boolean; rssBytes: number };
}

/** A violation and the worker that saw it. */
export interface PartViolation extends Violation {
  worker: number;
  shard: number;
}

/** A part of a soak (see the file comment). */
export interface SoakPartial {
  format: typeof PARTIAL_FORMAT;
  identity: RunIdentity;
  shard: { index: number; count: number };
  /** Shard indexes this part covers (one, or all after a merge of shards). */
  shards: number[];
  settings: SoakResult["settings"];
  endMs: number;
  /** The virtual time the part reached (endMs, or earlier when it stopped). */
  virtualMs: number;
  /** Stopped before the end without a violation of its own. */
  interrupted: boolean;
  workers: WorkerFigures[];
  devices: DeviceSummary[];
  delivery: DeliveryTotals;
  latency: LatencyData;
  /** Counts of the faults on devices and their brokers. */
  faults: Record<FaultKind, number>;
  faultLog: FaultRecord[];
  /** What the power faults did on the part's devices. */
  power: PowerFigures;
  /** Clock-wide faults (jumps): the same in every part. */
  clockFaults: FaultRecord[];
  broker: BrokerReport;
  observer: ObserverStats;
  wraps: Wrap[];
  invariantCounts: Record<InvariantName, number>;
  violations: PartViolation[];
  series: PartialPoint[];
}

/** Parts that are not shards of one run, or a missing shard. */
export class MergeError extends Error {}

/**
 * Checks that `parts` (read from `sources`) are the shards of one run, each once, none
 * missing; returns them in shard order. Throws {@link MergeError} naming the odd one out.
 */
export function checkShards(parts: readonly SoakPartial[], sources: readonly string[]): SoakPartial[] {
  if (parts.length === 0) throw new MergeError("nothing to merge: give the directories of the shards' partial reports");
  const first = parts[0];
  const bySource = parts.map((part, i) => ({ part, source: sources[i] ?? `part ${i + 1}` }));
  for (const { part, source } of bySource) {
    if (part.format !== PARTIAL_FORMAT) throw new MergeError(`${source} is not a partial soak report (format ${JSON.stringify(part.format)}, expected ${PARTIAL_FORMAT})`);
    if (part.identity.seed !== first.identity.seed) throw new MergeError(`${source} is of seed ${part.identity.seed}, but ${bySource[0].source} of seed ${first.identity.seed}`);
    if (part.identity.version !== first.identity.version) throw new MergeError(`${source} was run by ${part.identity.version}, but ${bySource[0].source} by ${first.identity.version}`);
    if (part.identity.options !== first.identity.options) throw new MergeError(`${source} was run with other options than ${bySource[0].source}: ${part.identity.options} vs ${first.identity.options}`);
    if (part.shard.count !== first.shard.count) throw new MergeError(`${source} is a shard of ${part.shard.count}, but ${bySource[0].source} of ${first.shard.count}`);
  }
  const seen = new Map<number, string>();
  for (const { part, source } of bySource) {
    for (const shard of part.shards) {
      const other = seen.get(shard);
      if (other !== undefined) throw new MergeError(`shard ${shard}/${first.shard.count} is in both ${other} and ${source}`);
      seen.set(shard, source);
    }
  }
  const missing = Array.from({ length: first.shard.count }, (_, i) => i).filter((shard) => !seen.has(shard));
  if (missing.length > 0) throw new MergeError(`shard${missing.length === 1 ? "" : "s"} ${missing.map((shard) => `${shard}/${first.shard.count}`).join(", ")} missing (have ${[...seen.keys()].sort((a, b) => a - b).map((shard) => `${shard}/${first.shard.count}`).join(", ")})`);
  return [...parts].sort((a, b) => Math.min(...a.shards) - Math.min(...b.shards));
}

/** Parts of one run as one part (workers of a shard, or shards of a run; one part comes back with its lists sorted and cut). */
export function mergePartials(parts: readonly SoakPartial[]): SoakPartial {
  const [first] = parts;
  const sum = sumFields;
  const deliveries = parts.map((part) => part.delivery);
  const delivery: DeliveryTotals = {
    ...sum(deliveries),
    lostWithBrokerStateDetail: deliveries
      .flatMap((totals) => totals.lostWithBrokerStateDetail)
      .sort((a, b) => deviceOrder(a.device, b.device) || a.seq - b.seq)
      .slice(0, DETAILS_KEPT),
    lostToPowerLossDetail: deliveries
      .flatMap((totals) => totals.lostToPowerLossDetail)
      .sort((a, b) => deviceOrder(a.device, b.device) || a.seq - b.seq)
      .slice(0, DETAILS_KEPT),
  };
  const observer = sum(parts.map((part) => part.observer));
  observer.losses = addCounts(parts.map((part) => part.observer.losses));
  const longest = <T>(lists: T[][]): T[] => lists.reduce((best, list) => (list.length > best.length ? list : best), []);
  return {
    format: PARTIAL_FORMAT,
    identity: first.identity,
    shard: first.shard,
    shards: [...new Set(parts.flatMap((part) => part.shards))].sort((a, b) => a - b),
    settings: first.settings,
    endMs: first.endMs,
    virtualMs: Math.max(...parts.map((part) => part.virtualMs)),
    interrupted: parts.some((part) => part.interrupted),
    workers: parts.flatMap((part) => part.workers),
    devices: parts.flatMap((part) => part.devices).sort((a, b) => a.index - b.index),
    delivery,
    latency: mergeLatency(parts.map((part) => part.latency)),
    faults: addCounts(parts.map((part) => part.faults)) as Record<FaultKind, number>,
    faultLog: sortedLog(parts.flatMap((part) => part.faultLog)).slice(0, LOG_LIMIT),
    power: sum(parts.map((part) => part.power)),
    clockFaults: longest(parts.map((part) => part.clockFaults)),
    broker: first.broker.name === "aedes" ? sum(parts.map((part) => part.broker)) : first.broker,
    observer,
    wraps: longest(parts.map((part) => part.wraps)),
    invariantCounts: addCounts(parts.map((part) => part.invariantCounts)) as Record<InvariantName, number>,
    violations: parts
      .flatMap((part) => part.violations)
      .sort((a, b) => a.atMs - b.atMs || deviceOrder(a.subject, b.subject) || a.message.localeCompare(b.message))
      .slice(0, VIOLATIONS_KEPT),
    series: mergeSeries(parts.map((part) => part.series)),
  };
}

/** The report of a whole run from its merged part; `wall` is the wall time of the run (default: the slowest worker's). */
export function finalize(part: SoakPartial, wall?: { wallSeconds: number; setupSeconds: number }): SoakResult {
  const wallSeconds = wall?.wallSeconds ?? Math.max(...part.workers.map((worker) => worker.wallSeconds));
  const setupSeconds = wall?.setupSeconds ?? Math.max(...part.workers.map((worker) => worker.setupSeconds));
  const failed = Object.values(part.invariantCounts).some((count) => count > 0);
  const interrupted = part.interrupted && !failed;
  const maxOutbox = part.devices.reduce((best, s) => (s.outboxHighWater / s.outboxCapacity > best.use ? { use: s.outboxHighWater / s.outboxCapacity, id: s.id } : best), { use: 0, id: "" });
  const devices = part.settings.devices;
  const memory = part.workers;
  const totalDevices = memory.reduce((total, worker) => total + worker.devices, 0) || 1;
  const worstTrend = memory.map((worker) => worker.hostMemory.trend).sort((a, b) => Number(b.rising) - Number(a.rising) || b.riseBytes - a.riseBytes)[0];
  const faults = { ...part.faults };
  for (const record of part.clockFaults) faults[record.kind]++;
  return {
    passed: !failed && !interrupted,
    interrupted,
    settings: part.settings,
    execution: {
      workers: memory.length,
      shards: part.shard.count,
      perWorker: memory.map(({ worker, workers, shard, devices: count, wallSeconds: seconds }) => ({ worker, workers, shard, devices: count, wallSeconds: seconds })),
    },
    virtualMs: part.virtualMs,
    wallSeconds,
    setupSeconds,
    deviceDaysPerSecond: wallSeconds > 0 ? (devices * part.virtualMs) / DAY_MS / wallSeconds : 0,
    delivery: part.delivery,
    latency: latencyFigures(part.latency),
    reconnects: part.devices.reduce((total, device) => total + device.reconnects, 0),
    faults,
    faultLog: sortedLog([...part.faultLog, ...part.clockFaults]).slice(0, LOG_LIMIT),
    power: part.power,
    broker: part.broker,
    observer: part.observer,
    u32: { startMs: part.settings.u32StartMs, wraps: part.wraps },
    module: {
      memoryBytes: part.devices.reduce((max, s) => Math.max(max, s.memoryBytes), 0),
      staticBytes: part.devices.reduce((max, s) => Math.max(max, s.staticBytes), 0),
      maxOutboxUse: maxOutbox.use,
      maxOutboxDevice: maxOutbox.id,
    },
    hostMemory: {
      trend: worstTrend,
      lastHeapPerDevice: memory.reduce((total, worker) => total + worker.hostMemory.lastHeapPerDevice * worker.devices, 0) / totalDevices,
      lastExternalPerDevice: memory.reduce((total, worker) => total + worker.hostMemory.lastExternalPerDevice * worker.devices, 0) / totalDevices,
      forcedGc: memory.every((worker) => worker.hostMemory.forcedGc),
      rssBytes: memory.reduce((total, worker) => total + worker.hostMemory.rssBytes, 0),
    },
    invariants: (Object.keys(INVARIANTS) as InvariantName[]).map((invariant) => ({
      invariant,
      description: INVARIANTS[invariant],
      held: part.invariantCounts[invariant] === 0,
      violations: part.invariantCounts[invariant],
    })),
    violations: part.violations,
    devices: part.devices,
    series: part.series.map(seriesPoint),
  };
}

/** The report's point from a part's sums. */
function seriesPoint(point: PartialPoint): SeriesPoint {
  const result: SeriesPoint = {
    atMs: point.atMs,
    moduleMemoryBytes: point.moduleMemoryBytes,
    outboxMeanBytes: point.devices === 0 ? 0 : point.outboxSumBytes / point.devices,
    outboxMaxBytes: point.outboxMaxBytes,
    reconnects: point.reconnects,
    latencyMeanMs: point.latencyCount === 0 ? 0 : point.latencySumUs / point.latencyCount / 1000,
    latencyMaxMs: point.latencyMaxMs,
    latencyCount: point.latencyCount,
  };
  if (point.heapBytes !== undefined) {
    result.heapPerDevice = point.heapBytes / point.devices;
    result.externalPerDevice = (point.externalBytes ?? 0) / point.devices;
  }
  return result;
}

/** Series of parts as one: points at the same virtual time add up. */
function mergeSeries(series: readonly PartialPoint[][]): PartialPoint[] {
  const byTime = new Map<number, PartialPoint>();
  for (const points of series) {
    for (const point of points) {
      const total = byTime.get(point.atMs);
      if (total === undefined) {
        byTime.set(point.atMs, { ...point });
        continue;
      }
      total.moduleMemoryBytes = Math.max(total.moduleMemoryBytes, point.moduleMemoryBytes);
      total.outboxMaxBytes = Math.max(total.outboxMaxBytes, point.outboxMaxBytes);
      total.latencyMaxMs = Math.max(total.latencyMaxMs, point.latencyMaxMs);
      total.outboxSumBytes += point.outboxSumBytes;
      total.reconnects += point.reconnects;
      total.latencyCount += point.latencyCount;
      total.latencySumUs += point.latencySumUs;
      // host memory: over the parts that sampled it here, per device of those parts
      if (point.heapBytes !== undefined && total.heapBytes !== undefined) {
        total.heapBytes += point.heapBytes;
        total.externalBytes = (total.externalBytes ?? 0) + (point.externalBytes ?? 0);
      } else if (point.heapBytes !== undefined || total.heapBytes !== undefined) {
        total.heapBytes = undefined;
        total.externalBytes = undefined;
      }
      total.devices += point.devices;
    }
  }
  return [...byTime.values()].sort((a, b) => a.atMs - b.atMs);
}

/** Fault records by time, then device (a device's own records keep their order). */
function sortedLog(records: FaultRecord[]): FaultRecord[] {
  return records.map((record, order) => ({ record, order })).sort((a, b) => a.record.atMs - b.record.atMs || deviceOrder(a.record.device, b.record.device) || a.order - b.order).map(({ record }) => record);
}

/** Device ids (`<board>-<n>`) by their number; other subjects before them, by name. */
function deviceOrder(a: string | undefined, b: string | undefined): number {
  const number = (id: string | undefined): number => {
    const match = /-(\d+)$/.exec(id ?? "");
    return match === null ? 0 : Number(match[1]);
  };
  return number(a) - number(b) || (a ?? "").localeCompare(b ?? "");
}

/** The first item with each of its number fields summed over all items (other fields as the first has them). */
export function sumFields<T extends object>(items: readonly T[]): T {
  const total = { ...items[0] } as Record<string, unknown>;
  for (const item of items.slice(1)) {
    for (const [key, value] of Object.entries(item)) if (typeof value === "number") total[key] = (total[key] as number) + value;
  }
  return total as T;
}

/** Counts by name, summed. */
export function addCounts(counts: readonly Record<string, number>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const count of counts) for (const [key, value] of Object.entries(count)) total[key] = (total[key] ?? 0) + value;
  return total;
}
