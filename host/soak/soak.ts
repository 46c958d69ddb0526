/**
 * One soak run: simulated devices running the telemetry firmware (each its own module
 * instance) against real aedes, in virtual time, with faults, invariants checked all the
 * time, and an observer checking delivery end to end. {@link soak} sets everything up,
 * runs `days` of virtual time, then a drain period with no new faults, then the final
 * delivery check, and returns what the report shows.
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
import { performance } from "node:perf_hooks";
import type { Board } from "../boards.ts";
import { VirtualClock } from "../sim/clock.ts";
import { DeviceFault } from "../sim/device.ts";
import { Random } from "../sim/random.ts";
import { type VirtualEnvironment, installVirtualEnvironment } from "./environment.ts";
import { FAULT_WARMUP_MS, type FaultKind, type FaultSpec, planFaults } from "./faults.ts";
import type { FaultRecord } from "./injector.ts";
import { type InvariantName, Invariants, type Violation } from "./invariants.ts";
import type { DeliveryTotals } from "./ledger.ts";
import type { LatencyFigures } from "./latency.ts";
import { HostMemory, type MemoryTrend } from "./memory.ts";
import type { MonitorCounts, MonitorSettings } from "./monitor.ts";
import type { ObserverStats } from "./observer.ts";
import { Progress, type ProgressOutput } from "./progress.ts";
import { type SeriesPoint, Watch, type Wrap } from "./watch.ts";
import { type BrokerReport, type Member, SoakWorld } from "./world.ts";

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
const CONNECT_TIMEOUT_MS = 10_000;
/** What `Date.now()` reads at virtual time 0 (fixed, so runs replay). */
const EPOCH_MS = Date.UTC(2030, 0, 1);
const DAY_MS = 86_400_000;
/** Wall ms a runUntil step aims at, so progress and fail-fast stay responsive. */
const STEP_WALL_MS = 250;

/** Where the soak reports progress. */
export interface SoakIo {
  progress?: ProgressOutput;
  /** Stops the run early (Ctrl-C): the result is then `interrupted` and does not pass. */
  signal?: AbortSignal;
  /** Called with each violation as it happens. */
  onViolation?(violation: Violation): void;
}

/** One device's figures at the end. */
export interface DeviceSummary {
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
    u32StartMs: number;
    reconnect: { minDelayMs: number; maxDelayMs: number };
    drainMs: number;
    patchAedes: boolean;
    thresholds: MonitorSettings;
  };
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
 * Runs one soak (see the file comment). Rejects only on a harness failure (no build, no
 * Mosquitto, a Mosquitto that does not come back, a bug); violations are in the result.
 */
export async function soak(options: SoakOptions, io: SoakIo = {}): Promise<SoakResult> {
  const setupStart = performance.now();
  const real = options.real === true;
  const timing = real ? REAL_TIMING : VIRTUAL_TIMING;
  const durationMs = Math.round(options.days * DAY_MS);
  const u32StartMs = options.u32StartMs ?? 2 ** 32 - Math.min(3_600_000, Math.max(1000, Math.floor(durationMs / 4)));
  const random = new Random(options.seed);
  const settings = monitorSettings(options, timing);
  const drainMs = timing.reconnect.maxDelayMs + CONNECT_TIMEOUT_MS + 2 * options.keepaliveSec * 1000 + 3 * options.intervalSec * 1000 + timing.slackMs;
  // readings accepted this close to the end may still be on their way
  const tailMs = 2 * options.intervalSec * 1000 + timing.tailSlackMs;

  let environment: VirtualEnvironment | undefined;
  const clock = real ? new VirtualClock({ u32StartMs, speed: 1 }) : new VirtualClock({ u32StartMs, settle: () => environment?.settle() });
  // real sockets and Mosquitto need real timers: only virtual time replaces the globals
  if (!real) environment = installVirtualEnvironment(clock, { epochMs: EPOCH_MS, random: random.fork("Math.random") });
  let world: SoakWorld | undefined;
  try {
    const invariants = new Invariants();
    if (io.onViolation !== undefined) invariants.onViolation(io.onViolation);
    world = await SoakWorld.create({
      clock, random, invariants, settings,
      devices: options.devices, boards: options.boards, qos: options.qos,
      intervalSec: options.intervalSec, keepaliveSec: options.keepaliveSec,
      expectedReadings: Math.ceil((durationMs + drainMs) / (options.intervalSec * 1000)) + 16,
      broker: real ? { kind: "mosquitto" } : { kind: "aedes", patchAedes: options.patchAedes ?? true, virtualTimers: () => environment?.timersCreated() ?? 0 },
    });
    const plan = planFaults({
      spec: options.faults, deviceIds: world.deviceIds, durationMs, random: random.fork("faults"),
      warmupMs: timing.warmupMs, broker: real ? "mosquitto" : "aedes",
    });
    world.injector.schedule(plan);
    world.powerOn();
    const endMs = Math.max(durationMs, world.injector.faultsEndBy) + drainMs;
    const memory = new HostMemory(Math.max(1, options.devices));
    const watch = new Watch({ clock, world, memory, u32StartMs, endMs, checkEveryMs: timing.checkEveryMs });
    watch.schedule();
    const members = world.members;
    const ledger = world.ledger;
    clock.setTimer(endMs - tailMs, () => ledger.checkpoint(members.map((member) => member.device.appStats().sequence)));

    const setupSeconds = (performance.now() - setupStart) / 1000;
    const progress = io.progress === undefined ? undefined : new Progress(io.progress, { totalMs: endMs, devices: options.devices, realTime: real });
    const runStart = performance.now();
    await runTo(clock, endMs, { invariants, world, timing, progress, signal: io.signal });
    const wallSeconds = (performance.now() - runStart) / 1000;
    progress?.done(clock.now());

    // the end: a last check and sample, the delivery check, the host memory trend
    watch.finish();
    const appStats = world.members.map((member) => member.device.appStats());
    const stoppedEarly = clock.now() < endMs;
    const interrupted = stoppedEarly && !invariants.failed;
    const delivery = stoppedEarly ? world.ledger.totals(appStats) : world.ledger.finalCheck(appStats);
    memory.stop();
    const trend = memory.trend();
    if (trend.rising && !interrupted) invariants.violate("host-memory", "host", clock.now(), trend.summary);
    const summaries = world.members.map((member, i) => summarize(member, appStats[i]));
    const lastMemory = memory.samples.at(-1);
    const maxOutbox = summaries.reduce((best, s) => (s.outboxHighWater / s.outboxCapacity > best.use ? { use: s.outboxHighWater / s.outboxCapacity, id: s.id } : best), { use: 0, id: "" });
    return {
      passed: !invariants.failed && !interrupted,
      interrupted,
      settings: {
        mode: real ? "real" : "virtual",
        days: options.days,
        devices: options.devices,
        seed: options.seed,
        profile: options.faults.profile,
        scheduleFiles: options.faults.sources,
        boards: [...new Set(options.boards.map((board) => board.name))],
        qos: [...options.qos],
        intervalSec: options.intervalSec,
        keepaliveSec: options.keepaliveSec,
        u32StartMs,
        reconnect: { ...timing.reconnect },
        drainMs: endMs - durationMs,
        patchAedes: options.patchAedes ?? true,
        thresholds: settings,
      },
      virtualMs: clock.now(),
      wallSeconds,
      setupSeconds,
      deviceDaysPerSecond: wallSeconds > 0 ? (options.devices * clock.now()) / DAY_MS / wallSeconds : 0,
      delivery,
      latency: world.ledger.latencyFigures(),
      reconnects: summaries.reduce((sum, s) => sum + s.reconnects, 0),
      faults: { ...world.injector.counts },
      faultLog: world.injector.log,
      broker: world.brokerReport(),
      observer: world.observer.stats,
      u32: { startMs: u32StartMs, wraps: watch.wraps },
      module: {
        memoryBytes: summaries.reduce((max, s) => Math.max(max, s.memoryBytes), 0),
        staticBytes: summaries.reduce((max, s) => Math.max(max, s.staticBytes), 0),
        maxOutboxUse: maxOutbox.use,
        maxOutboxDevice: maxOutbox.id,
      },
      hostMemory: {
        trend,
        lastHeapPerDevice: lastMemory?.heapPerDevice ?? 0,
        lastExternalPerDevice: lastMemory?.externalPerDevice ?? 0,
        forcedGc: memory.collects,
        rssBytes: lastMemory?.rssBytes ?? 0,
      },
      invariants: invariants.verdicts(),
      violations: invariants.violations,
      devices: summaries,
      series: watch.series,
    };
  } finally {
    // the broker goes first (aedes closes on the virtual timers, Mosquitto is stopped), then the globals come back
    if (world !== undefined) {
      await world.close();
      await environment?.settle();
    }
    environment?.restore();
  }
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

/** What the run loop watches. */
interface RunContext {
  invariants: Invariants;
  world: SoakWorld;
  timing: ModeTiming;
  progress: Progress | undefined;
  signal: AbortSignal | undefined;
}

/**
 * Runs the clock to `endMs` in steps of about STEP_WALL_MS of wall time; stops early on a
 * violation, a trap or the signal. Throws a broker failure (Mosquitto did not come back).
 */
async function runTo(clock: VirtualClock, endMs: number, context: RunContext): Promise<void> {
  const { invariants, world, timing, progress, signal } = context;
  let stepMs = timing.firstStepMs;
  while (clock.now() < endMs && !invariants.failed && signal?.aborted !== true) {
    const target = Math.min(endMs, clock.now() + stepMs);
    const wallStart = performance.now();
    try {
      await clock.runUntil(target);
    } catch (error) {
      // a trap is the module's failure; any other error escaping a device is the harness's
      if (!(error instanceof DeviceFault) || !error.trap) throw error;
      invariants.violate("trap", error.deviceId, clock.now(), `the module trapped: ${(error.cause as Error).message} — it is frozen where it stopped`);
      return;
    }
    if (world.failure !== undefined) throw world.failure;
    const wall = performance.now() - wallStart;
    stepMs = Math.min(6 * 3_600_000, Math.max(timing.minStepMs, wall > 0 ? stepMs * Math.min(4, STEP_WALL_MS / wall) : stepMs * 4));
    progress?.update(clock.now());
  }
}

/** A device's figures at the end. */
function summarize(member: Member, app: { sequence: number; rejected: number }): DeviceSummary {
  const { device, monitor, qos } = member;
  const stats = device.stats();
  return {
    id: device.id,
    board: device.board.name,
    qos,
    accepted: app.sequence,
    refused: app.rejected,
    reconnects: stats.reconnects,
    outboxHighWater: stats.outbox.highWater,
    outboxCapacity: stats.outbox.capacity,
    staticBytes: stats.staticBytes,
    memoryBytes: device.memoryBytes(),
    monitor: monitor.counts,
    link: { connects: device.network.stats.connects, refused: device.network.stats.refused, drops: device.network.stats.drops },
  };
}

