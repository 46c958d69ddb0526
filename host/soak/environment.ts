/**
 * The soak's process-wide virtual environment. aedes keeps time with the globals —
 * `setTimeout` / `setInterval` (its heartbeat, will sweep and connect timer), `Date.now`,
 * and `process.hrtime` with timers captured by `retimer` at require time (its keepalive
 * timer) — and draws packet ids from `Math.random`. For a broker whose timers run on the
 * {@link VirtualClock}, and a run that replays exactly from its seed, this module replaces
 * those globals for the life of one soak and puts them back afterwards:
 *
 * - `setTimeout` / `setInterval` / `clearTimeout` / `clearInterval`: timers on the virtual
 *   clock, returning handle objects with `ref` / `unref` / `hasRef` / `refresh` / `close`
 *   and a numeric primitive, like Node's;
 * - `Date.now()`: `epochMs` + virtual ms (`new Date()` without arguments keeps the real time);
 * - `process.hrtime()` / `process.hrtime.bigint()`: virtual time;
 * - `Math.random()`: a seeded stream;
 * - `setImmediate` / `clearImmediate`: a queue of the environment's own, which
 *   {@link VirtualEnvironment.settle} runs (hand it to the clock as its `settle`) the way
 *   Node's check phase would — the immediates queued so far, each followed by the ticks and
 *   microtasks it caused — until an in-process peer (aedes on `Duplex` streams) has nothing
 *   left to do, then virtual time moves on. No event-loop turn is spent on it: aedes
 *   defers every delivery and write completion with `setImmediate`, and a real turn (a
 *   poll of the operating system included) per deferral cost the soak more than aedes's
 *   own work. `settle` still takes a real turn every {@link REAL_TURN_MS} of wall time, so
 *   signals and output are served.
 *
 * `process.nextTick` and `queueMicrotask` stay real, but a tick marks the process busy,
 * so `settle` resolves at once when a timer touched only the devices. (A promise chain
 * that schedules neither is not seen; aedes's work always starts from a stream event,
 * which is a tick.) `performance.now()` is never replaced: wall-clock measurements use it.
 *
 * Install it before aedes is first loaded (see `loadAedes` in host/soak/broker.ts), and
 * only in a process of its own (the CLI): every timer in the process becomes virtual.
 *
 * @example
 * const clock = new VirtualClock({ settle: () => environment.settle() });
 * const environment = installVirtualEnvironment(clock, { epochMs: Date.UTC(2030, 0, 1), random: new Random(1) });
 * try { await clock.runUntil(86_400_000); } finally { environment.restore(); }
 */
import { performance } from "node:perf_hooks";
import type { VirtualClock } from "../sim/clock.ts";
import type { Random } from "../sim/random.ts";

/** What {@link installVirtualEnvironment} needs. */
export interface EnvironmentOptions {
  /** What `Date.now()` reads at virtual time 0. */
  epochMs: number;
  /** The stream behind `Math.random()`. */
  random: Random;
}

/** The installed environment. */
export interface VirtualEnvironment {
  /**
   * Runs the queued immediates and the ticks they cause until none is left; resolves then
   * (`undefined`, at once, when nothing was queued): hand it to the clock as its `settle`.
   */
  settle(): Promise<void> | undefined;
  /** How many virtual timers `setTimeout` / `setInterval` have made so far. */
  timersCreated(): number;
  /** Puts every replaced global back; idempotent. */
  restore(): void;
}

/** Node's limit: delays above it (or below 1, or not numbers) become 1 ms. */
const TIMEOUT_MAX = 2 ** 31 - 1;

/** Wall ms between the real event-loop turns `settle` takes (for signals and I/O). */
const REAL_TURN_MS = 20;

type TimerCallback = (...args: unknown[]) => void;

/** `ref` / `unref` / `hasRef` of Node's timer handles: kept for API compatibility, virtual handles never hold the process open. */
class Handle {
  private referenced = true;

  ref(): this {
    this.referenced = true;
    return this;
  }

  unref(): this {
    this.referenced = false;
    return this;
  }

  hasRef(): boolean {
    return this.referenced;
  }
}

/** An immediate handle shaped like Node's `Immediate`. */
class VirtualImmediate extends Handle {
  cancelled = false;

  constructor(
    readonly callback: TimerCallback,
    readonly args: unknown[],
  ) {
    super();
  }
}

/** A timer handle shaped like Node's `Timeout`. */
export class VirtualTimeout extends Handle {
  private timerId: number | undefined;

  constructor(
    private readonly owner: TimerTable,
    /** Numeric id (`+handle`), accepted by `clearTimeout` like Node's. */
    readonly id: number,
    private readonly callback: TimerCallback,
    private readonly args: unknown[],
    private readonly delayMs: number,
    private readonly repeat: boolean,
  ) {
    super();
    this.schedule();
  }

  /** Starts the timer again from now with its original delay. */
  refresh(): this {
    this.cancel();
    this.schedule();
    return this;
  }

  /** Cancels the timer (as `clearTimeout(handle)`). */
  close(): this {
    this.cancel();
    this.owner.forget(this.id);
    return this;
  }

  [Symbol.toPrimitive](): number {
    return this.id;
  }

  private schedule(): void {
    this.owner.remember(this);
    this.timerId = this.owner.clock.after(this.delayMs, () => this.fire());
  }

  private cancel(): void {
    if (this.timerId !== undefined) this.owner.clock.clearTimer(this.timerId);
    this.timerId = undefined;
  }

  private fire(): void {
    this.timerId = undefined;
    if (this.repeat) this.schedule();
    else this.owner.forget(this.id);
    this.callback(...this.args);
  }
}

/** The live virtual timers by numeric id, for `clearTimeout(number)`. */
class TimerTable {
  private readonly live = new Map<number, VirtualTimeout>();
  private nextId = 1;

  constructor(readonly clock: VirtualClock) {}

  create(callback: unknown, delay: unknown, args: unknown[], repeat: boolean): VirtualTimeout {
    if (typeof callback !== "function") throw new TypeError(`The "callback" argument must be of type function (got ${typeof callback})`);
    return new VirtualTimeout(this, this.nextId++, callback as TimerCallback, args, nodeDelay(delay), repeat);
  }

  /** Timers made so far. */
  get created(): number {
    return this.nextId - 1;
  }

  clear(handle: unknown): void {
    if (handle instanceof VirtualTimeout) handle.close();
    else if (typeof handle === "number" || typeof handle === "string") this.live.get(Number(handle))?.close();
  }

  remember(timer: VirtualTimeout): void {
    this.live.set(timer.id, timer);
  }

  forget(id: number): void {
    this.live.delete(id);
  }
}

/** Node's coercion of a timer delay. */
function nodeDelay(delay: unknown): number {
  const ms = Number(delay);
  return ms >= 1 && ms <= TIMEOUT_MAX ? ms : 1;
}

/**
 * Replaces the time and entropy globals with virtual ones on `clock` (see the file
 * comment). Throws when an environment is installed already.
 */
export function installVirtualEnvironment(clock: VirtualClock, options: EnvironmentOptions): VirtualEnvironment {
  if (installed) throw new Error("a virtual environment is installed already; restore() it first");
  installed = true;
  const saved = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    setInterval: globalThis.setInterval,
    clearInterval: globalThis.clearInterval,
    setImmediate: globalThis.setImmediate,
    clearImmediate: globalThis.clearImmediate,
    nextTick: process.nextTick,
    hrtime: process.hrtime,
    dateNow: Date.now,
    random: Math.random,
  };
  const table = new TimerTable(clock);
  const globals = globalThis as unknown as Record<string, unknown>;

  globals.setTimeout = (callback: unknown, delay?: unknown, ...args: unknown[]) => table.create(callback, delay, args, false);
  globals.setInterval = (callback: unknown, delay?: unknown, ...args: unknown[]) => table.create(callback, delay, args, true);
  globals.clearTimeout = (handle: unknown) => table.clear(handle);
  globals.clearInterval = (handle: unknown) => table.clear(handle);

  // immediates are queued here and run by settle(); a tick marks the process busy
  let immediates: VirtualImmediate[] = [];
  let ticked = false;
  let settling = false;
  let pumpScheduled = false;
  globals.setImmediate = (callback: unknown, ...args: unknown[]) => {
    if (typeof callback !== "function") throw new TypeError(`The "callback" argument must be of type function (got ${typeof callback})`);
    const immediate = new VirtualImmediate(callback as TimerCallback, args);
    immediates.push(immediate);
    // outside the clock's settling (e.g. a promise awaiting aedes's close), a real turn runs them
    if (!settling && !pumpScheduled) {
      pumpScheduled = true;
      saved.setImmediate(() => {
        pumpScheduled = false;
        if (!settling) void settleLoop();
      });
    }
    return immediate;
  };
  globals.clearImmediate = (immediate: unknown) => {
    if (immediate instanceof VirtualImmediate) immediate.cancelled = true;
    else saved.clearImmediate(immediate as NodeJS.Immediate);
  };
  process.nextTick = function nextTick(this: unknown, ...args: unknown[]) {
    ticked = true;
    Reflect.apply(saved.nextTick, process, args);
  } as typeof process.nextTick;
  const { epochMs } = options;
  Date.now = () => Math.floor(epochMs + clock.now());
  const hrtime = (previous?: [number, number]): [number, number] => {
    const ns = Math.round(clock.now() * 1e6);
    let seconds = Math.floor(ns / 1e9);
    let nanos = ns - seconds * 1e9;
    if (previous !== undefined) {
      seconds -= previous[0];
      nanos -= previous[1];
      if (nanos < 0) {
        seconds--;
        nanos += 1e9;
      }
    }
    return [seconds, nanos];
  };
  hrtime.bigint = () => BigInt(Math.round(clock.now() * 1e6));
  process.hrtime = hrtime as NodeJS.HRTime;
  const random = options.random;
  Math.random = () => random.float();

  // a tick queued after every pending one: it resolves once those, what they queue and
  // their microtasks have run (Node runs ticks, then microtasks, until both are empty).
  // Always one, then as long as ticks were scheduled through process.nextTick: some
  // libraries (mqtt-packet's writeToStream) captured the real nextTick before install.
  const afterTicks = (): Promise<void> => new Promise((resolve) => saved.nextTick(resolve));
  const drainTicks = async (): Promise<void> => {
    do {
      ticked = false;
      await afterTicks();
    } while (ticked);
  };
  let lastRealTurn = performance.now();
  const settleLoop = async (): Promise<void> => {
    settling = true;
    try {
      await drainTicks();
      while (immediates.length > 0) {
        // like Node's check phase: the immediates queued so far; later ones run in the next round
        const batch = immediates;
        immediates = [];
        for (const immediate of batch) {
          if (immediate.cancelled) continue;
          immediate.callback(...immediate.args);
          await drainTicks();
        }
      }
      if (performance.now() - lastRealTurn >= REAL_TURN_MS) {
        await new Promise((resolve) => saved.setImmediate(resolve));
        lastRealTurn = performance.now();
      }
    } finally {
      settling = false;
    }
  };

  let restored = false;
  return {
    timersCreated: () => table.created,
    settle: () => (ticked || immediates.length > 0 ? settleLoop() : undefined),
    restore: () => {
      if (restored) return;
      restored = true;
      installed = false;
      globals.setTimeout = saved.setTimeout;
      globals.clearTimeout = saved.clearTimeout;
      globals.setInterval = saved.setInterval;
      globals.clearInterval = saved.clearInterval;
      globals.setImmediate = saved.setImmediate;
      globals.clearImmediate = saved.clearImmediate;
      // immediates queued after the last settle still run, as real ones
      for (const immediate of immediates) if (!immediate.cancelled) saved.setImmediate(immediate.callback, ...immediate.args);
      immediates = [];
      process.nextTick = saved.nextTick;
      process.hrtime = saved.hrtime;
      Date.now = saved.dateNow;
      Math.random = saved.random;
    },
  };
}

let installed = false;
