/**
 * One soak run: simulated devices running the telemetry firmware (each its own module
 * instance) against real aedes, in virtual time, with faults, invariants checked all the
 * time, and an observer checking delivery end to end. {@link soak} sets everything up,
 * runs `days` of virtual time, then a drain period with no new faults, then the final
 * delivery check, and returns what the report shows. In virtual time each device has a
 * broker and an observer of its own (host/soak/run.ts), so the devices split over
 * `workers` child processes (host/soak/workers.ts) or `shard`s on many machines
 * (host/soak/partial.ts) with the same figures for every device.
 *
 * It replaces the process's timer, time and entropy globals while it runs (see
 * host/soak/environment.ts), so run it in a process of its own: `wasmqtt soak`.
 *
 * With `real` (`wasmqtt soak --real`) the same devices, monitors, observer, ledger and
 * invariants run in real time (the virtual clock paced at speed 1, no globals replaced)
 * against a real Mosquitto with a fault proxy in front of it per device
 * (host/soak/mosquitto.ts), restarted during the run; shorter bounds suit minutes of
 * real time ({@link REAL_TIMING}).
 *
 * @example
 * const result = await soak({ ...SOAK_DEFAULTS, days: 3, boards: [loadBoard("nodemcu-v3")], faults: parseFaultSpec("default") },
 *   { progress: process.stderr });
 * process.exitCode = result.passed ? 0 : 1;
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Board } from "../boards.ts";
import { wasmPath } from "../module.ts";
import { packageRoot } from "../platform.ts";
import { FAULT_WARMUP_MS, type FaultKind, type FaultSpec } from "./faults.ts";
import type { FaultRecord } from "./injector.ts";
import type { InvariantName, Violation } from "./invariants.ts";
import type { LatencyFigures } from "./latency.ts";
import type { DeliveryTotals } from "./ledger.ts";
import type { MemoryTrend } from "./memory.ts";
import type { MonitorCounts, MonitorSettings } from "./monitor.ts";
import type { ObserverStats } from "./observer.ts";
import type { PowerFigures } from "./power.ts";
import { type RunIdentity, type SoakPartial, finalize, mergePartials } from "./partial.ts";
import { Progress, type ProgressOutput } from "./progress.ts";
import { partDevices, runPart } from "./run.ts";
import type { SeriesPoint, Wrap } from "./watch.ts";
import { type Launch, runWorkers } from "./workers.ts";
import type { BrokerReport } from "./world.ts";

/** How a soak runs. */
export interface SoakOptions {
  /** Virtual days of faults (decimals allowed); a drain period follows. */
  days: number;
  devices: number;
  seed: number;
  faults: FaultSpec;
  /** Boards, assigned round robin (ids `<board>-<n>`). */
  boards: readonly Board[];
  /** Telemetry QoS levels, assigned round robin. */
  qos: readonly (0 | 1 | 2)[];
  intervalSec: number;
  keepaliveSec: number;
  /** The firmware's u32 counter at virtual time 0; default: it wraps a quarter into the run (at most an hour in). */
  u32StartMs?: number;
  /** Patch the two aedes bugs the soak found (host/soak/broker.ts). Default true. */
  patchAedes?: boolean;
  /** Real time against Mosquitto through a fault proxy per device (`--real`), not virtual time against aedes. */
  real?: boolean;
  /** With `real`: the user's broker at this mqtt:// URL instead of a Mosquitto of the soak's own (`--broker`); nothing restarts it. */
  brokerUrl?: string;
  /** The devices' and the observer's MQTT: 4 (3.1.1, the default) or 5 (`--protocol 5`, with `real` only: aedes speaks 3.1.1). */
  protocolVersion?: 4 | 5;
  /** Child processes the devices run in (host/soak/workers.ts); default 1, this process. */
  workers?: number;
  /** Run only shard `index` of `count` (devices with index mod count = index); default the whole run. */
  shard?: { index: number; count: number };
  /** The devices keep their session in simulated flash across power losses (`--persist`; host/soak/power.ts). Default false. */
  persist?: boolean;
  /** Write each device's MQTT bytes to DIR/<device id>.pcap (`--pcap DIR`); not part of the run's identity. */
  pcapDir?: string;
}

/** Defaults of everything but the boards and faults. */
export const SOAK_DEFAULTS = { days: 1, devices: 3, seed: 1, intervalSec: 10, keepaliveSec: 60, qos: [1, 2] as const };
/** What `--real` changes of the defaults: minutes, not days, so readings every second and a short keepalive. */
export const REAL_DEFAULTS = { minutes: 2, intervalSec: 1, keepaliveSec: 5, faults: "real" } as const;

/** The bounds and cadences of a mode. */
export interface ModeTiming {
  /** Reconnect backoff bounds the devices are configured with. */
  reconnect: { readonly minDelayMs: number; readonly maxDelayMs: number };
  /** Added to the drain and to the stuck bound, beyond reconnect max + connect timeout + keepalives + intervals. */
  slackMs: number;
  /** Readings accepted within 2 intervals + this of the end may still be in flight at the end. */
  tailSlackMs: number;
  /** How often the cheap checks run (host/soak/watch.ts). */
  checkEveryMs: number;
  /** No drawn fault starts before this. */
  warmupMs: number;
  /** The first and the shortest step of the run loop, virtual ms. */
  firstStepMs: number;
  minStepMs: number;
}

/** Virtual time: the module's own reconnect defaults, checks every virtual minute. */
export const VIRTUAL_TIMING: ModeTiming = {
  reconnect: { minDelayMs: 1000, maxDelayMs: 60_000 },
  slackMs: 60_000,
  tailSlackMs: 30_000,
  checkEveryMs: 60_000,
  warmupMs: FAULT_WARMUP_MS,
  firstStepMs: 60_000,
  minStepMs: 10_000,
};

/** Real time (`--real`): reconnects within seconds so the drain is short, checks ten times a second. */
export const REAL_TIMING: ModeTiming = {
  reconnect: { minDelayMs: 500, maxDelayMs: 4000 },
  slackMs: 5000,
  tailSlackMs: 5000,
  checkEveryMs: 100,
  warmupMs: 5000,
  firstStepMs: 250,
  minStepMs: 250,
};

/** The module's connect timeout (assembly/config.ts). */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Where the soak reports progress. */
export interface SoakIo {
  progress?: ProgressOutput;
  /** Stops the run early (Ctrl-C): the result is then `interrupted` and does not pass. */
  signal?: AbortSignal;
  /** Called with each violation as it happens, and the worker (0-based) of how many that saw it. */
  onViolation?(violation: Violation, worker: number, workers: number): void;
  /** How to start this soak's command line again: needed for `workers` > 1. */
  launch?: Launch;
}

/** One device's figures at the end. */
export interface DeviceSummary {
  /** Its index in the whole soak (0-based; the id ends in index + 1). */
  index: number;
  id: string;
  board: string;
  qos: number;
  accepted: number;
  refused: number;
  reconnects: number;
  outboxHighWater: number;
  outboxCapacity: number;
  staticBytes: number;
  memoryBytes: number;
  monitor: MonitorCounts;
  link: { connects: number; refused: number; drops: number };
}

/** Everything a run produced. */
export interface SoakResult {
  passed: boolean;
  /** Stopped by `SoakIo.signal` before the end: no final delivery check was made. */
  interrupted: boolean;
  settings: {
    /** Virtual time against aedes, or real time against Mosquitto (`--real`). */
    mode: "virtual" | "real";
    days: number;
    devices: number;
    seed: number;
    profile: string;
    scheduleFiles: string[];
    boards: string[];
    qos: number[];
    intervalSec: number;
    keepaliveSec: number;
    /** MQTT 3.1.1 (4) or 5.0 (5). */
    protocolVersion: 4 | 5;
    u32StartMs: number;
    reconnect: { minDelayMs: number; maxDelayMs: number };
    drainMs: number;
    patchAedes: boolean;
    thresholds: MonitorSettings;
    /** The fault kinds this broker allows (the user's broker cannot be restarted; only aedes can lose a message on purpose). */
    faultsPossible: FaultKind[];
    /** The kinds drawn besides the profile's (`power-loss`, `deep-sleep`). */
    faultsAdded: string[];
    /** The devices kept their session in simulated flash (`--persist`). */
    persist: boolean;
  };
  /** How the run was split: the same devices, faults and figures whatever it says. */
  execution: { workers: number; shards: number; perWorker: { worker: number; workers: number; shard: number; devices: number; wallSeconds: number }[] };
  /** Virtual ms simulated (faults + drain), and the wall time it took. */
  virtualMs: number;
  wallSeconds: number;
  setupSeconds: number;
  deviceDaysPerSecond: number;
  delivery: DeliveryTotals;
  latency: LatencyFigures;
  reconnects: number;
  faults: Record<FaultKind, number>;
  faultLog: FaultRecord[];
  /** What the power faults did: losses (during a save or not), saves, restores, deep sleeps. */
  power: PowerFigures;
  broker: BrokerReport;
  observer: ObserverStats;
  u32: { startMs: number; wraps: Wrap[] };
  module: { memoryBytes: number; staticBytes: number; maxOutboxUse: number; maxOutboxDevice: string };
  hostMemory: { trend: MemoryTrend; lastHeapPerDevice: number; lastExternalPerDevice: number; forcedGc: boolean; rssBytes: number };
  invariants: { invariant: InvariantName; description: string; held: boolean; violations: number }[];
  violations: Violation[];
  devices: DeviceSummary[];
  series: SeriesPoint[];
}

/**
 * Runs one soak (see the file comment): the part of every worker, merged. Rejects only on
 * a harness failure (no build, no Mosquitto, a Mosquitto that does not come back, a
 * worker that died, a bug); violations are in the result.
 */
export async function soak(options: SoakOptions, io: SoakIo = {}): Promise<SoakResult> {
  const { part, wallSeconds, setupSeconds } = await soakPart(options, io);
  return finalize(part, { wallSeconds, setupSeconds });
}

/**
 * Runs this process's part of a soak — the whole run, or with `shard` one shard — in
 * `workers` child processes (or here, for one), and merges the workers' parts. Resolves
 * with the part and the wall time of the run loop (the slowest worker's) and of the setup.
 */
export async function soakPart(options: SoakOptions, io: SoakIo = {}): Promise<{ part: SoakPartial; wallSeconds: number; setupSeconds: number }> {
  const start = performance.now();
  const shard = options.shard ?? { index: 0, count: 1 };
  const devices = partDevices(options.devices, { shard, worker: 0, workers: 1 }).length;
  const workers = Math.max(1, Math.min(options.workers ?? 1, devices));
  const identity = runIdentity(options);
  let progress: Progress | undefined;
  const onProgress = (doneMs: number, endMs: number): void => {
    if (io.progress === undefined) return;
    progress ??= new Progress(io.progress, { totalMs: endMs, devices, realTime: options.real === true, label: shard.count > 1 ? `soak shard ${shard.index}/${shard.count}` : undefined });
    progress.update(doneMs);
  };
  let parts: SoakPartial[];
  if (workers === 1) {
    parts = [await runPart(options, { shard, worker: 0, workers: 1 }, identity, {
      onProgress, signal: io.signal, onViolation: (violation) => io.onViolation?.(violation, 0, 1),
    })];
  } else {
    if (io.launch === undefined) throw new Error("soak: more than one worker needs the command line to start them with (SoakIo.launch)");
    parts = await runWorkers({ ...options, shard }, workers, io.launch, { onProgress, signal: io.signal, onViolation: io.onViolation });
  }
  const part = mergePartials(parts);
  progress?.done(part.virtualMs);
  const wallSeconds = Math.max(...part.workers.map((worker) => worker.wallSeconds));
  return { part, wallSeconds, setupSeconds: Math.max(0, (performance.now() - start) / 1000 - wallSeconds) };
}

/** What makes the parts of one run comparable: the version, the modules, the seed and the options. */
export function runIdentity(options: SoakOptions): RunIdentity {
  const root = packageRoot();
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  const digest = createHash("sha256");
  const profiles = [...new Set(options.boards.map((board) => board.profile))].sort();
  for (const profile of profiles) digest.update(readFileSync(wasmPath(profile, "telemetry")));
  digest.update(readFileSync(wasmPath("desktop", "client")));
  const { days, devices, faults, boards, qos, intervalSec, keepaliveSec, u32StartMs, patchAedes, real, brokerUrl, persist, protocolVersion } = options;
  return {
    version: `wasmqtt ${version}, modules ${digest.digest("hex").slice(0, 12)}`,
    seed: options.seed,
    options: JSON.stringify({
      mode: real === true ? "real" : "virtual", days, devices, faults: { profile: faults.profile, added: faults.added, steps: faults.steps },
      boards, qos, intervalSec, keepaliveSec, u32StartMs: u32StartMs ?? null, patchAedes: patchAedes ?? true, brokerUrl: brokerUrl ?? null, persist: persist === true,
      protocolVersion: protocolVersion ?? 4,
    }),
  };
}

/** Monitor thresholds from the options and the mode (documented in the report and the CLI help). */
export function monitorSettings(options: Pick<SoakOptions, "keepaliveSec" | "intervalSec">, timing: ModeTiming): MonitorSettings {
  const keepaliveMs = options.keepaliveSec * 1000;
  return {
    keepaliveMs,
    keepaliveSlackMs: 1000,
    reconnect: { ...timing.reconnect },
    backoffSlackMs: 100,
    stuckBoundMs: timing.reconnect.maxDelayMs + CONNECT_TIMEOUT_MS + 2 * keepaliveMs + 2 * options.intervalSec * 1000 + timing.slackMs,
  };
}
