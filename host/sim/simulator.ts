/**
 * The board simulator: N devices of one board (ids `<board>-1`, `<board>-2`, …) on one
 * {@link VirtualClock}, each with its own module instance, physics and network, all handing
 * their connections to one broker. Virtual time runs at `speed` × real time (Infinity: as
 * fast as the event loop allows), for `durationMs` or until `stop()`. Everything random
 * forks from `seed`, so a run with an in-process broker replays exactly.
 *
 * With `faults` a plan of the soak's faults (host/soak/faults.ts: dropped connections,
 * outages, black-holes, partial writes, latency spikes, broker restarts, clock jumps) acts
 * on the devices' links, the broker and the clock while it runs (host/soak/injector.ts);
 * {@link Simulator.dropNetwork} and {@link Simulator.restartBroker} do the same on demand.
 *
 * @example
 * const broker = await startEmbeddedBroker();
 * const sim = await Simulator.create({ board: loadBoard("nodemcu-v3"), devices: 3, speed: 60, broker });
 * process.once("SIGINT", () => sim.stop());
 * await sim.run();          // until stop() (or durationMs)
 * await sim.close();        // DISCONNECT from every device
 * await broker.close();
 */
import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Board } from "../boards.ts";
import type { SimBroker } from "./broker.ts";
import { VirtualClock } from "./clock.ts";
import { type DeviceSnapshot, SimDevice } from "./device.ts";
import type { LinkOptions, ScriptStep } from "./network.ts";
import type { FaultStep } from "../soak/faults.ts";
import { FaultInjector, type FaultRecord, type RestartableBroker } from "../soak/injector.ts";
import type { AirTemperatureOptions, SoilMoistureOptions } from "./physics.ts";
import { Random } from "./random.ts";

/** How a simulation is set up; `board` and `broker` are required. */
export interface SimulatorOptions {
  /** The board every device models. */
  board: Board;
  /** Where the devices' connections go. */
  broker: Pick<SimBroker, "accept">;
  /** Number of devices (default 1). */
  devices?: number;
  /** Device ids are `<idPrefix>-1`, `<idPrefix>-2`, … (default: the board name). */
  idPrefix?: string;
  /** Virtual ms per real ms (default 60); Infinity runs as fast as possible. */
  speed?: number;
  /** Virtual ms `run()` goes on for; undefined: until `stop()`. */
  durationMs?: number;
  /** Seed of every random stream (default 1). */
  seed?: number;
  /** Seconds between readings (default 10). */
  intervalSec?: number;
  /** Deep sleep between readings on every device (needs an interval of at least 30 s). */
  sleep?: boolean;
  /** QoS of every device's readings (default 1). */
  telemetryQos?: 0 | 1 | 2;
  /** Deadbands: publish only when the temperature moved this many °C … (default 0: every reading). */
  deadbandC?: number;
  /** … or the moisture this many percentage points (default 0). */
  deadbandPercent?: number;
  /** MQTT keepalive, seconds (default 60). */
  keepaliveSec?: number;
  /** Reconnect backoff bounds, ms (default: the module's own). */
  reconnect?: { minDelayMs: number; maxDelayMs: number };
  /** Every device's network link. */
  network?: LinkOptions;
  /** Network changes at virtual times, applied to every device's link. */
  networkScript?: readonly ScriptStep[];
  /** Waterings at these virtual times (ms) on every device, besides the gardener's own. */
  wateringsMs?: readonly number[];
  air?: AirTemperatureOptions;
  soil?: SoilMoistureOptions;
  /** Devices start at seeded times within this many virtual ms of 0, not all at once (default 1000). */
  staggerMs?: number;
  /**
   * Faults while it runs: a plan (host/soak/faults.ts `planFaults`, device indexes into
   * the devices), named `profile` in the view; `restart` steps and {@link Simulator.restartBroker}
   * act on `broker` (none: a broker the simulator cannot restart).
   */
  faults?: { profile?: string; plan: readonly FaultStep[]; broker?: RestartableBroker };
}

/** The whole simulation at one moment. */
export interface SimSnapshot {
  /** Virtual ms since the start. */
  virtualMs: number;
  speed: number;
  durationMs: number | undefined;
  /** Real ms spent in `run()` so far. */
  wallMs: number;
  seed: number;
  devices: DeviceSnapshot[];
  /** With faults (or after one asked for): the profile and what was injected so far, in order (the first 5000). */
  faults?: { profile: string; injected: number; log: readonly FaultRecord[] };
}

/** Real ms of pacing per `runUntil` step: how quickly `stop()` takes effect. */
const STEP_WALL_MS = 250;
/** Virtual ms per `runUntil` step at infinite speed. */
const STEP_VIRTUAL_MS = 60_000;
/** Virtual ms `close()` lets pass for the DISCONNECTs and closes to cross the network. */
const CLOSE_FLUSH_MS = 5_000;
/** Event-loop turns `close()` leaves an in-process broker to take them in. */
const CLOSE_TURNS = 20;

/** N simulated devices on one virtual clock. */
export class Simulator {
  readonly clock: VirtualClock;
  readonly devices: readonly SimDevice[];
  readonly speed: number;
  readonly durationMs: number | undefined;
  readonly seed: number;
  private readonly staggerMs: number;
  private readonly random: Random;
  private phase: "new" | "running" | "closed" = "new";
  private stopping = false;
  private wallMs = 0;
  /** performance.now() when the current `runUntil` step began; undefined between steps. */
  private stepWallStart: number | undefined;
  private running: Promise<void> | undefined;
  private readonly injector: FaultInjector;
  private readonly faultProfile: string | undefined;
  private readonly broker: RestartableBroker | undefined;

  private constructor(options: SimulatorOptions, clock: VirtualClock, devices: SimDevice[]) {
    this.clock = clock;
    this.devices = devices;
    this.speed = clock.speed;
    this.durationMs = options.durationMs;
    this.seed = options.seed ?? 1;
    this.staggerMs = options.staggerMs ?? 1000;
    this.random = new Random(this.seed).fork("simulator");
    this.faultProfile = options.faults?.profile;
    this.broker = options.faults?.broker;
    const broker = this.broker;
    this.injector = new FaultInjector({
      clock,
      links: devices.map((device) => device.network),
      deviceIds: devices.map((device) => device.id),
      broker: { restart: (restart) => broker?.restart(restart) },
    });
    if (options.faults !== undefined) this.injector.schedule(options.faults.plan.filter((step) => step.kind !== "restart" || broker !== undefined));
  }

  /**
   * Builds every device (module instantiated and configured, not started). Rejects with a
   * RangeError for a bad count, speed or duration, or a WasmqttError from a device.
   */
  static async create(options: SimulatorOptions): Promise<Simulator> {
    const count = options.devices ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`devices must be a whole number ≥ 1 (got ${count})`);
    if (options.durationMs !== undefined && !(options.durationMs >= 0)) {
      throw new RangeError(`durationMs must be ≥ 0 (got ${options.durationMs})`);
    }
    const clock = new VirtualClock({ speed: options.speed ?? 60 });
    const root = new Random(options.seed ?? 1);
    const prefix = options.idPrefix ?? options.board.name;
    const soil: SoilMoistureOptions = { ...options.soil };
    if (options.wateringsMs !== undefined) soil.scheduleMs = [...(options.soil?.scheduleMs ?? []), ...options.wateringsMs];
    const devices: SimDevice[] = [];
    for (let index = 1; index <= count; index++) {
      const id = `${prefix}-${index}`;
      devices.push(
        await SimDevice.create({
          id,
          board: options.board,
          clock,
          random: root.fork(id),
          accept: (duplex) => options.broker.accept(duplex),
          intervalSec: options.intervalSec,
          sleep: options.sleep,
          telemetryQos: options.telemetryQos,
          deadbandC: options.deadbandC,
          deadbandPercent: options.deadbandPercent,
          keepaliveSec: options.keepaliveSec,
          reconnect: options.reconnect,
          network: options.network,
          networkScript: options.networkScript,
          air: options.air,
          soil,
        }),
      );
    }
    return new Simulator(options, clock, devices);
  }

  /** The device with this id. */
  device(id: string): SimDevice | undefined {
    return this.devices.find((device) => device.id === id);
  }

  /**
   * Runs virtual time until `untilMs` (default: `durationMs`, or until `stop()`), starting
   * the devices first on the first call. Resolves when the time is reached or `stop()` was
   * called; call it again to go on.
   */
  run(untilMs: number = this.durationMs ?? Infinity): Promise<void> {
    if (this.running !== undefined) throw new Error("the simulator is already running");
    if (this.phase === "closed") throw new Error("the simulator is closed");
    const running = this.loop(untilMs).finally(() => (this.running = undefined));
    this.running = running;
    return running;
  }

  /** Makes `run()` return soon (within a quarter second of real time); devices keep their state. */
  stop(): void {
    this.stopping = true;
  }

  /**
   * Ends the simulation: waits for `run()` to return, shuts every device down cleanly
   * (DISCONNECT, so no will is published), and lets the network carry that to the broker.
   */
  async close(): Promise<void> {
    if (this.phase === "closed") return;
    this.stop();
    await this.running;
    this.phase = "closed";
    for (const device of this.devices) device.stop();
    this.clock.advanceTo(this.clock.now() + CLOSE_FLUSH_MS);
    for (let turn = 0; turn < CLOSE_TURNS; turn++) await nextTurn();
  }

  /** Drops every device's connection now (both ends told), as a `drop` fault. */
  dropNetwork(): void {
    this.injector.inject({ atMs: this.clock.now(), kind: "drop" }, this.devices.map((_, index) => index));
  }

  /**
   * Restarts the broker now (down for `downtimeMs`), as a `restart` fault; returns false
   * when the simulator has no broker it can restart (a remote one).
   */
  restartBroker(downtimeMs = 2000): boolean {
    if (this.broker === undefined) return false;
    this.injector.inject({ atMs: this.clock.now(), kind: "restart", keepSessions: false, downtimeMs }, [undefined]);
    return true;
  }

  /** Every device's state, read now. */
  snapshot(): SimSnapshot {
    const injected = Object.values(this.injector.counts).reduce((sum, count) => sum + count, 0);
    const faults = this.faultProfile === undefined && injected === 0 ? undefined : { profile: this.faultProfile ?? "none", injected, log: this.injector.log };
    return {
      virtualMs: this.clock.now(),
      speed: this.speed,
      durationMs: this.durationMs,
      wallMs: this.wallMs + (this.stepWallStart === undefined ? 0 : performance.now() - this.stepWallStart),
      seed: this.seed,
      devices: this.devices.map((device) => device.snapshot()),
      faults,
    };
  }

  private async loop(untilMs: number): Promise<void> {
    this.stopping = false;
    if (this.phase === "new") this.startDevices();
    const step = this.speed === Infinity ? STEP_VIRTUAL_MS : this.speed * STEP_WALL_MS;
    while (!this.stopping && this.clock.now() < untilMs) {
      const wallStart = performance.now();
      this.stepWallStart = wallStart;
      try {
        await this.clock.runUntil(Math.min(untilMs, this.clock.now() + step));
      } finally {
        this.stepWallStart = undefined;
        this.wallMs += performance.now() - wallStart;
      }
    }
  }

  /** Powers every device on at a seeded time within the stagger window. */
  private startDevices(): void {
    this.phase = "running";
    for (const device of this.devices) {
      const at = this.devices.length === 1 ? 0 : Math.floor(this.random.float() * this.staggerMs);
      this.clock.setTimer(at, () => device.start());
    }
  }
}
