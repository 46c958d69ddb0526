/**
 * The clock the host gives the module: a u32 millisecond counter that wraps every 49.7
 * days, plus one-shot timers to call `tick` again. The simulator's `VirtualClock`
 * (host/sim/clock.ts) has the same shape, so a client can run on virtual time.
 *
 * @example
 * const clock = systemClock({ u32StartMs: 2 ** 32 - 5000 }); // the counter wraps 5 s from now
 * const timer = clock.after(100, () => console.log(clock.nowU32()));
 */
/** What the client needs of a clock. */
export interface Clock {
  /** The wrapping u32 millisecond counter the module sees. */
  nowU32(): number;
  /** Runs `run` once, `delayMs` from now; returns an id for `clearTimer`. */
  after(delayMs: number, run: () => void): unknown;
  /** Cancels a timer of `after`; unknown or already run ids are ignored. */
  clearTimer(id: unknown): void;
}

/** Options of {@link systemClock}. */
export interface SystemClockOptions {
  /** What `nowU32()` reads now; start near 2^32 to cross the wrap early. Default: `performance.now()`. */
  u32StartMs?: number;
}

/** The process's monotonic clock (`performance.now()`) as a wrapping u32, with `setTimeout` timers. */
export function systemClock(options: SystemClockOptions = {}): Clock {
  const offset = options.u32StartMs === undefined ? 0 : options.u32StartMs - performance.now();
  return {
    nowU32: () => Math.floor(performance.now() + offset) >>> 0,
    after: (delayMs, run) => setTimeout(run, delayMs),
    clearTimer: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  };
}
