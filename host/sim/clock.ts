/**
 * The simulator's virtual clock and timer queue. Virtual time is a millisecond count that
 * starts at 0 and only moves forward; the firmware sees it as a wrapping u32 (`nowU32`).
 * Timers run in time order, and in the order they were set when times are equal.
 *
 * Two ways to move time: `advanceTo(t)` jumps synchronously from timer to timer (unit
 * tests); `runUntil(t)` does the same but yields to the event loop after every timer so
 * in-process peers (a broker on a `Duplex`) can answer, and with a finite `speed` paces
 * virtual time against the wall clock (speed 1 = real time, 60 = a minute per second).
 *
 * @example
 * const clock = new VirtualClock({ u32StartMs: 2 ** 32 - 1000 }); // wraps after 1 s
 * clock.after(5000, () => console.log(clock.nowU32()));         // 4000
 * clock.advanceTo(10_000);
 */
import { performance } from "node:perf_hooks";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";

/** Identifies a timer for `clearTimer`. */
export type TimerId = number;

/** How a clock runs. */
export interface ClockOptions {
  /** Virtual ms per wall ms in `runUntil`; Infinity (the default) runs as fast as possible. */
  speed?: number;
  /** What `nowU32()` reads at virtual time 0; start near 2^32 to cross the wrap early. */
  u32StartMs?: number;
  /**
   * Event-loop turns `runUntil` yields after every timer before virtual time moves on
   * (default 8): an in-process peer answers at the virtual time of the cause if it needs no
   * more turns than this (aedes answers a CONNECT in 2, a QoS 1 PUBLISH in 3).
   */
  settleTurns?: number;
  /**
   * Replaces the `settleTurns` yields: called after every timer in `runUntil`, it returns a
   * promise that resolves once in-process peers are idle, or `undefined` when they are
   * already (then virtual time moves on without yielding). The soak watches immediates
   * and ticks being scheduled for this (host/soak/environment.ts).
   */
  settle?: () => Promise<void> | undefined;
}

interface Timer {
  id: TimerId;
  at: number;
  run: () => void;
  cancelled: boolean;
}

/**
 * The pending timers: a binary min-heap by (time, id) — ids grow, so equal times run in the
 * order they were set — with O(log n) insertion and removal and O(1) cancellation (a
 * cancelled timer is dropped when it reaches the top, or when they pile up).
 */
class TimerQueue {
  private heap: Timer[] = [];
  private readonly live = new Map<TimerId, Timer>();

  push(timer: Timer): void {
    this.live.set(timer.id, timer);
    this.heap.push(timer);
    this.up(this.heap.length - 1);
  }

  cancel(id: TimerId): void {
    const timer = this.live.get(id);
    if (timer === undefined) return;
    timer.cancelled = true;
    this.live.delete(id);
    if (this.heap.length > 64 && this.heap.length > 2 * this.live.size) this.rebuild();
  }

  /** The next timer to run, if any. */
  peek(): Timer | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.removeTop();
    return this.heap[0];
  }

  /** Removes and returns the next timer (call after `peek` found one). */
  pop(): Timer {
    const timer = this.peek() as Timer;
    this.removeTop();
    this.live.delete(timer.id);
    return timer;
  }

  private removeTop(): void {
    const last = this.heap.pop() as Timer;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    this.down(0);
  }

  private rebuild(): void {
    this.heap = this.heap.filter((timer) => !timer.cancelled);
    for (let i = (this.heap.length >>> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(index: number): void {
    const heap = this.heap;
    const timer = heap[index];
    while (index > 0) {
      const parent = (index - 1) >>> 1;
      if (!before(timer, heap[parent])) break;
      heap[index] = heap[parent];
      index = parent;
    }
    heap[index] = timer;
  }

  private down(index: number): void {
    const heap = this.heap;
    const timer = heap[index];
    const size = heap.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= size) break;
      if (child + 1 < size && before(heap[child + 1], heap[child])) child++;
      if (!before(heap[child], timer)) break;
      heap[index] = heap[child];
      index = child;
    }
    heap[index] = timer;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

/** The wall-clock wait `runUntil` is in while pacing, so `setTimer` can cut it short. */
interface Sleep {
  wallStart: number;
  virtualStart: number;
  due: number;
  wake: () => void;
}

/** Virtual time plus the timers scheduled on it. */
export class VirtualClock {
  readonly speed: number;
  private readonly settleTurns: number;
  private readonly settle: (() => Promise<void> | undefined) | undefined;
  private current = 0;
  private u32Offset: number;
  private readonly timers = new TimerQueue();
  private nextId = 1;
  private running = false;
  private sleep: Sleep | undefined;

  constructor(options: ClockOptions = {}) {
    this.speed = options.speed ?? Infinity;
    if (!(this.speed > 0)) throw new RangeError(`speed must be > 0 (got ${this.speed})`);
    this.u32Offset = options.u32StartMs ?? 0;
    this.settleTurns = options.settleTurns ?? 8;
    this.settle = options.settle;
  }

  /** Virtual milliseconds since the start; never decreases. */
  now(): number {
    const sleep = this.sleep;
    if (sleep === undefined) return this.current;
    const paced = sleep.virtualStart + (performance.now() - sleep.wallStart) * this.speed;
    return Math.max(this.current, Math.min(sleep.due, paced));
  }

  /** The wrapping u32 millisecond counter the firmware sees. */
  nowU32(): number {
    return Math.floor(this.u32Offset + this.now()) >>> 0;
  }

  /**
   * Shifts the counter the firmware sees by `deltaMs` (either sign), as a glitching RTC
   * would. `now()` and the timers are not affected: the simulated world keeps its time.
   */
  jump(deltaMs: number): void {
    this.u32Offset += deltaMs;
  }

  /** Runs `run` at virtual time `atMs` (at once, on the next step, when that has passed). */
  setTimer(atMs: number, run: () => void): TimerId {
    if (Number.isNaN(atMs)) throw new RangeError("timer time is NaN");
    const timer = { id: this.nextId++, at: Math.max(atMs, this.now()), run, cancelled: false };
    this.timers.push(timer);
    if (this.sleep !== undefined && timer.at < this.sleep.due) this.sleep.wake();
    return timer.id;
  }

  /** Runs `run` `delayMs` from now. */
  after(delayMs: number, run: () => void): TimerId {
    return this.setTimer(this.now() + delayMs, run);
  }

  /** Cancels a timer; unknown or already run ids are ignored. */
  clearTimer(id: TimerId): void {
    this.timers.cancel(id);
  }

  /** Runs every timer due up to `targetMs` (finite) in order, synchronously, then sets the time to it. */
  advanceTo(targetMs: number): void {
    if (!Number.isFinite(targetMs)) throw new RangeError(`advanceTo needs a finite time (got ${targetMs})`);
    this.begin(targetMs);
    try {
      while (this.dueBy(targetMs)) this.runNext();
      this.current = targetMs;
    } finally {
      this.running = false;
    }
  }

  /**
   * Like `advanceTo`, but yields `settleTurns` event-loop turns after every timer and, with
   * a finite speed, waits on the wall clock until each timer is due. `Infinity` runs while
   * timers remain.
   */
  async runUntil(targetMs: number): Promise<void> {
    this.begin(targetMs);
    const wallStart = performance.now();
    const virtualStart = this.current;
    try {
      for (;;) {
        if (this.settle === undefined) {
          for (let turn = 0; turn < this.settleTurns; turn++) await yieldToEventLoop();
        } else {
          const settling = this.settle();
          if (settling !== undefined) await settling;
        }
        const due = this.dueBy(targetMs) ? (this.timers.peek() as Timer).at : targetMs;
        if (due === Infinity) return;
        if (this.speed !== Infinity && !(await this.sleepUntil(due, wallStart, virtualStart))) continue;
        if (!this.dueBy(targetMs)) break;
        this.runNext();
      }
      this.current = targetMs;
    } finally {
      this.running = false;
    }
  }

  private begin(targetMs: number): void {
    if (this.running) throw new Error("the clock is already running");
    if (targetMs < this.current) throw new RangeError(`cannot go back in time to ${targetMs} (now ${this.current})`);
    this.running = true;
  }

  private dueBy(targetMs: number): boolean {
    const next = this.timers.peek();
    return next !== undefined && next.at <= targetMs;
  }

  private runNext(): void {
    const timer = this.timers.pop();
    this.current = Math.max(this.current, timer.at);
    timer.run();
  }

  /** Waits until `due` on the paced wall clock; false when an earlier timer cut the wait short. */
  private sleepUntil(due: number, wallStart: number, virtualStart: number): Promise<boolean> {
    if (wallStart + (due - virtualStart) / this.speed <= performance.now()) {
      // already late: a setTimeout would cost a millisecond or more per timer and never catch up
      this.current = due;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const finish = (reached: boolean): void => {
        clearTimeout(handle);
        this.current = reached ? due : this.now();
        this.sleep = undefined;
        resolve(reached);
      };
      const wallDelay = wallStart + (due - virtualStart) / this.speed - performance.now();
      const handle = setTimeout(() => finish(true), Math.max(0, wallDelay));
      this.sleep = { wallStart, virtualStart, due, wake: () => finish(false) };
    });
  }
}
