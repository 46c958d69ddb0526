/**
 * One part of a soak in this thread: the devices a {@link PartSelection} picks, on one
 * virtual clock, each in a world of its own — its own aedes, observer, ledger and fault
 * injector (host/soak/world.ts) — so that nothing a device does depends on which other
 * devices share the process: its randomness is forked from the seed by its index, its
 * faults and its broker's restarts are drawn for it alone, and only clock jumps (drawn
 * once for the run) act on every device, at the same virtual times in every part. With
 * `real` the part is the whole run: one Mosquitto and one observer for every device.
 *
 * It replaces the process's timer, time and entropy globals while it runs (virtual
 * time; host/soak/environment.ts): a process or worker of its own.
 *
 * @example
 * const part = await runPart(options, { shard: { index: 0, count: 1 }, worker: 0, workers: 1 }, identity, {});
 */
import { mkdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { VirtualClock } from "../sim/clock.ts";
import { DeviceFault } from "../sim/device.ts";
import { Random } from "../sim/random.ts";
import { loadAedes } from "./broker.ts";
import { type VirtualEnvironment, installVirtualEnvironment } from "./environment.ts";
import { randomBytes } from "node:crypto";
import { type FaultStep, type SoakBrokerKind, planEnd, planFaults, possibleFaults } from "./faults.ts";
import { FaultInjector } from "./injector.ts";
import { Invariants, type Violation } from "./invariants.ts";
import { LatencyRecorder } from "./latency.ts";
import type { DeliveryTotals } from "./ledger.ts";
import { HostMemory } from "./memory.ts";
import { noPowerFigures } from "./power.ts";
import { PARTIAL_FORMAT, type PartViolation, type RunIdentity, type SoakPartial, addCounts, mergePartials, sumFields } from "./partial.ts";
import { CONNECT_TIMEOUT_MS, type DeviceSummary, type ModeTiming, REAL_TIMING, type SoakOptions, VIRTUAL_TIMING, monitorSettings } from "./soak.ts";
import { Watch } from "./watch.ts";
import { type BrokerReport, type Member, SoakWorld, deviceId } from "./world.ts";

/** Which devices a part runs: shard `shard.index` of `shard.count` (index mod count), then worker `worker` of `workers` within it. */
export interface PartSelection {
  shard: { index: number; count: number };
  worker: number;
  workers: number;
}

/** What a part reports while it runs. */
export interface PartIo {
  /** Virtual time reached (after every step of the run loop). */
  onProgress?(doneMs: number, endMs: number): void;
  onViolation?(violation: Violation): void;
  /** Stops the part at its next step. */
  signal?: AbortSignal;
}

/** What `Date.now()` reads at virtual time 0 (fixed, so runs replay). */
const EPOCH_MS = Date.UTC(2030, 0, 1);
const DAY_MS = 86_400_000;
/** Wall ms a runUntil step aims at, so progress and fail-fast stay responsive. */
const STEP_WALL_MS = 250;

/** The device indexes of a part: the stable shard function, index mod shard count, then (index div shard count) mod workers. */
export function partDevices(devices: number, selection: PartSelection): number[] {
  const { shard, worker, workers } = selection;
  const indexes: number[] = [];
  for (let index = shard.index; index < devices; index += shard.count) if (Math.floor(index / shard.count) % workers === worker) indexes.push(index);
  return indexes;
}

/** The firmware's u32 counter at virtual time 0 by default: it wraps a quarter into the run (at most an hour in). */
export function defaultU32Start(durationMs: number): number {
  return 2 ** 32 - Math.min(3_600_000, Math.max(1000, Math.floor(durationMs / 4)));
}

/**
 * Runs one part (see the file comment) and returns it. Rejects only on a harness failure
 * (no build, no Mosquitto, a Mosquitto that does not come back, a bug); violations are in
 * the part.
 */
export async function runPart(options: SoakOptions, selection: PartSelection, identity: RunIdentity, io: PartIo = {}): Promise<SoakPartial> {
  const setupStart = performance.now();
  const real = options.real === true;
  const timing: ModeTiming = real ? REAL_TIMING : VIRTUAL_TIMING;
  const durationMs = Math.round(options.days * DAY_MS);
  const u32StartMs = options.u32StartMs ?? defaultU32Start(durationMs);
  const random = new Random(options.seed);
  const settings = monitorSettings(options, timing);
  const drainMs = timing.reconnect.maxDelayMs + CONNECT_TIMEOUT_MS + 2 * options.keepaliveSec * 1000 + 3 * options.intervalSec * 1000 + timing.slackMs;
  // readings accepted this close to the end may still be on their way
  const tailMs = 2 * options.intervalSec * 1000 + timing.tailSlackMs;
  const indexes = partDevices(options.devices, selection);
  const brokerKind: SoakBrokerKind = !real ? "aedes" : options.brokerUrl === undefined ? "mosquitto" : "external";

  // the plan of the whole run (every part draws the same), then this part's steps
  const allIds = Array.from({ length: options.devices }, (_, index) => deviceId(options.boards, index));
  const plan = planFaults({
    spec: options.faults, deviceIds: allIds, durationMs, random: random.fork("faults"),
    warmupMs: timing.warmupMs, broker: brokerKind, brokerPerDevice: !real,
  });
  const endMs = Math.max(durationMs, planEnd(plan)) + drainMs;

  let environment: VirtualEnvironment | undefined;
  const clock = real ? new VirtualClock({ u32StartMs, speed: 1 }) : new VirtualClock({ u32StartMs, settle: () => environment?.settle() });
  // real sockets and Mosquitto need real timers: only virtual time replaces the globals
  if (!real) environment = installVirtualEnvironment(clock, { epochMs: EPOCH_MS, random: random.fork("Math.random") });
  const worlds: SoakWorld[] = [];
  try {
    const invariants = new Invariants();
    if (io.onViolation !== undefined) invariants.onViolation(io.onViolation);
    const latency = new LatencyRecorder();
    const expectedReadings = Math.ceil((durationMs + drainMs) / (options.intervalSec * 1000)) + 16;
    if (options.pcapDir !== undefined) mkdirSync(options.pcapDir, { recursive: true });
    const common = {
      clock, invariants, settings, boards: options.boards, qos: options.qos, intervalSec: options.intervalSec, keepaliveSec: options.keepaliveSec, expectedReadings, latency,
      protocolVersion: options.protocolVersion ?? 4, pcapDir: options.pcapDir, persist: options.persist === true,
    };
    if (real) {
      // on the user's broker, ids of this run's own: no session of another run or client is taken over
      const idPrefix = options.brokerUrl === undefined ? undefined : `s${randomBytes(3).toString("hex")}-`;
      worlds.push(await SoakWorld.create({ ...common, random, devices: indexes, broker: { kind: "mosquitto", url: options.brokerUrl }, idPrefix }));
    } else {
      const modules = loadAedes(() => environment?.timersCreated() ?? 0);
      const broker = { kind: "aedes", patchAedes: options.patchAedes ?? true, modules } as const;
      for (const index of indexes) worlds.push(await SoakWorld.create({ ...common, random: random.fork(`device/${index}`), devices: [index], broker }));
    }
    // the clock's jumps first (every part the same), then each world's own faults
    const clockFaults = new FaultInjector({
      clock, links: [], deviceIds: [], broker: { restart: () => undefined },
      onJump: (atMs, deltaMs) => {
        for (const world of worlds) world.injector.noteJump(atMs, deltaMs);
      },
    });
    clockFaults.schedule(plan.filter((step) => step.kind === "jump"));
    for (const world of worlds) world.injector.schedule(worldSteps(plan, world, real));
    for (const world of worlds) world.powerOn();
    const memory = new HostMemory(Math.max(1, indexes.length));
    const watch = new Watch({ clock, worlds, memory, u32StartMs, endMs, checkEveryMs: timing.checkEveryMs, jumpTotal: (atMs) => clockFaults.jumpTotal(atMs) });
    watch.schedule();
    clock.setTimer(endMs - tailMs, () => {
      for (const world of worlds) world.ledger.checkpoint(world.members.map((member) => member.device.appStats().sequence));
    });

    const setupSeconds = (performance.now() - setupStart) / 1000;
    const runStart = performance.now();
    await runTo(clock, endMs, { invariants, worlds, timing, io });
    const wallSeconds = (performance.now() - runStart) / 1000;

    // the end: a last check and sample, the delivery check, the host memory trend
    watch.finish();
    const stoppedEarly = clock.now() < endMs;
    const interrupted = stoppedEarly && !invariants.failed;
    const deliveries: DeliveryTotals[] = [];
    const summaries: DeviceSummary[] = [];
    for (const world of worlds) {
      const appStats = world.members.map((member) => member.device.appStats());
      deliveries.push(stoppedEarly ? world.ledger.totals(appStats) : world.ledger.finalCheck(appStats));
      world.members.forEach((member, i) => summaries.push(summarize(member, appStats[i])));
    }
    memory.stop();
    const trend = memory.trend();
    if (trend.rising && !interrupted) invariants.violate("host-memory", "host", clock.now(), trend.summary);
    const lastMemory = memory.samples.at(-1);
    const brokers = worlds.map((world) => world.brokerReport());
    const where = { worker: selection.worker, shard: selection.shard.index };
    const part: SoakPartial = {
      format: PARTIAL_FORMAT,
      identity,
      shard: selection.shard,
      shards: [selection.shard.index],
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
        protocolVersion: options.protocolVersion ?? 4,
        u32StartMs,
        reconnect: { ...timing.reconnect },
        drainMs: endMs - durationMs,
        patchAedes: options.patchAedes ?? true,
        thresholds: settings,
        faultsPossible: possibleFaults(brokerKind),
        faultsAdded: [...options.faults.added],
        persist: options.persist === true,
      },
      endMs,
      virtualMs: clock.now(),
      interrupted,
      workers: [{
        worker: selection.worker, workers: selection.workers, shard: selection.shard.index, devices: indexes.length, wallSeconds, setupSeconds,
        hostMemory: {
          trend,
          lastHeapPerDevice: lastMemory?.heapPerDevice ?? 0,
          lastExternalPerDevice: lastMemory?.externalPerDevice ?? 0,
          forcedGc: memory.collects,
          rssBytes: lastMemory?.rssBytes ?? 0,
        },
      }],
      devices: summaries,
      delivery: sumDeliveries(deliveries),
      latency: latency.data(),
      faults: addCounts(worlds.map((world) => world.injector.counts)) as SoakPartial["faults"],
      faultLog: worlds.flatMap((world) => world.injector.log),
      power: sumFields([noPowerFigures(), ...worlds.flatMap((world) => world.members.map((member) => member.power.figures))]),
      clockFaults: clockFaults.log,
      broker: sumBrokers(brokers),
      observer: sumObservers(worlds),
      wraps: watch.wraps,
      invariantCounts: { ...invariants.counts },
      violations: invariants.violations.map((violation): PartViolation => ({ ...violation, ...where })),
      series: watch.series,
    };
    // the worlds' lists (fault logs, excused losses, violations) sorted and cut as a merge cuts them
    return mergePartials([part]);
  } finally {
    // the brokers go first (aedes closes on the virtual timers, Mosquitto is stopped), then the globals come back
    for (const world of worlds) await world.close();
    await environment?.settle();
    environment?.restore();
  }
}

/** A world's steps of the run's plan, on its own device indexes; restarts name its device (a broker per device) or none (Mosquitto). */
function worldSteps(plan: readonly FaultStep[], world: SoakWorld, real: boolean): FaultStep[] {
  const local = new Map(world.members.map((member, i) => [member.index, i]));
  const steps: FaultStep[] = [];
  for (const step of plan) {
    if (step.kind === "jump") continue;
    if (step.kind === "restart") {
      if (real) steps.push({ ...step, device: undefined });
      else if (step.device === undefined || local.has(step.device)) steps.push({ ...step, device: 0 });
      continue;
    }
    const device = step.device === undefined ? undefined : local.get(step.device);
    if (device !== undefined) steps.push({ ...step, device });
  }
  return steps;
}

/** What the run loop watches. */
interface RunContext {
  invariants: Invariants;
  worlds: readonly SoakWorld[];
  timing: ModeTiming;
  io: PartIo;
}

/**
 * Runs the clock to `endMs` in steps of about STEP_WALL_MS of wall time; stops early on a
 * violation, a trap or the signal. Throws a broker failure (Mosquitto did not come back).
 */
async function runTo(clock: VirtualClock, endMs: number, context: RunContext): Promise<void> {
  const { invariants, worlds, timing, io } = context;
  let stepMs = timing.firstStepMs;
  while (clock.now() < endMs && !invariants.failed && io.signal?.aborted !== true) {
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
    for (const world of worlds) if (world.failure !== undefined) throw world.failure;
    const wall = performance.now() - wallStart;
    stepMs = Math.min(6 * 3_600_000, Math.max(timing.minStepMs, wall > 0 ? stepMs * Math.min(4, STEP_WALL_MS / wall) : stepMs * 4));
    io.onProgress?.(clock.now(), endMs);
  }
}

/** A device's figures at the end. */
function summarize(member: Member, app: { sequence: number; rejected: number }): DeviceSummary {
  const { device, monitor, power, qos, index } = member;
  const stats = device.stats();
  return {
    index,
    id: device.id,
    board: device.board.name,
    qos,
    accepted: app.sequence,
    refused: app.rejected,
    reconnects: stats.reconnects + power.reconnectsForgotten,
    outboxHighWater: stats.outbox.highWater,
    outboxCapacity: stats.outbox.capacity,
    staticBytes: stats.staticBytes,
    memoryBytes: device.memoryBytes(),
    monitor: monitor.counts,
    link: { connects: device.network.stats.connects, refused: device.network.stats.refused, drops: device.network.stats.drops },
  };
}

function sumDeliveries(deliveries: readonly DeliveryTotals[]): DeliveryTotals {
  const empty: DeliveryTotals = {
    accepted: 0, refused: 0, delivered: 0, duplicates: 0, inFlightAtEnd: 0, lostWithBrokerState: 0, lostWithBrokerStateDetail: [],
    lostToPowerLoss: 0, lostToPowerLossDetail: [], forwardedTwice: 0, unreadable: 0,
  };
  if (deliveries.length === 0) return empty;
  return {
    ...sumFields(deliveries),
    lostWithBrokerStateDetail: deliveries.flatMap((totals) => totals.lostWithBrokerStateDetail),
    lostToPowerLossDetail: deliveries.flatMap((totals) => totals.lostToPowerLossDetail),
  };
}

/** The brokers of the worlds as one report: aedes's counters summed; Mosquitto is one broker. */
function sumBrokers(reports: readonly BrokerReport[]): BrokerReport {
  if (reports.length === 0) return { name: "aedes", restartsKeepingSessions: 0, restartsLosingSessions: 0, connections: 0, refusedWhileDown: 0, unknownPubrelsAnswered: 0, keepaliveTimeouts: 0, clientErrors: 0 };
  return reports[0].name === "aedes" ? sumFields(reports) : reports[0];
}

function sumObservers(worlds: readonly SoakWorld[]): SoakPartial["observer"] {
  const stats = worlds.map((world) => world.observer.stats);
  if (stats.length === 0) return { messages: 0, unreadable: 0, connects: 0, losses: {}, downgraded: 0 };
  return { ...sumFields(stats), losses: addCounts(stats.map((s) => s.losses)) };
}
