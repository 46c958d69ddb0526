// The soak's virtual environment (host/soak/environment.ts): timers on the virtual clock,
// immediates run by settle() in Node's order without event-loop turns, and the real
// globals back after restore(). Each test installs and restores it; node:test runs this
// file in a process of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { installVirtualEnvironment } from "../../host/soak/environment.ts";
import { VirtualClock } from "../../host/sim/clock.ts";
import { Random } from "../../host/sim/random.ts";

/** The real nextTick, as a library that captured it before install holds it. */
const capturedNextTick = process.nextTick;
const realSetImmediate = globalThis.setImmediate;

function install(): { clock: VirtualClock; environment: ReturnType<typeof installVirtualEnvironment> } {
  let environment: ReturnType<typeof installVirtualEnvironment> | undefined;
  const clock = new VirtualClock({ settle: () => environment?.settle() });
  environment = installVirtualEnvironment(clock, { epochMs: Date.UTC(2030, 0, 1), random: new Random(1) });
  return { clock, environment };
}

test("settle runs immediates in Node's order: each one's ticks before the next, later ones in a later round", async () => {
  const { environment } = install();
  try {
    const order: string[] = [];
    setImmediate(() => {
      order.push("immediate 1");
      process.nextTick(() => order.push("tick of 1"));
      setImmediate(() => order.push("immediate 3 (queued by 1)"));
    });
    setImmediate(() => order.push("immediate 2"));
    await environment.settle();
    assert.deepEqual(order, ["immediate 1", "tick of 1", "immediate 2", "immediate 3 (queued by 1)"]);
    assert.equal(environment.settle(), undefined, "nothing left to run");
  } finally {
    environment.restore();
  }
});

test("a tick scheduled through a nextTick captured before install still runs before the next immediate", async () => {
  const { environment } = install();
  try {
    let ticked = false;
    let seenByNext: boolean | undefined;
    await environment.settle(); // whatever the test runner scheduled
    setImmediate(() => capturedNextTick(() => (ticked = true)));
    setImmediate(() => (seenByNext = ticked));
    await environment.settle();
    assert.equal(seenByNext, true);
  } finally {
    environment.restore();
  }
});

test("clearImmediate cancels; arguments are passed", async () => {
  const { environment } = install();
  try {
    const seen: unknown[] = [];
    const cancelled = setImmediate(() => seen.push("cancelled"));
    setImmediate((a: number, b: string) => seen.push(a, b), 7, "x");
    clearImmediate(cancelled);
    await environment.settle();
    assert.deepEqual(seen, [7, "x"]);
  } finally {
    environment.restore();
  }
});

test("virtual time waits for the immediates a timer caused", async () => {
  const { clock, environment } = install();
  try {
    const at: number[] = [];
    setTimeout(() => setImmediate(() => setImmediate(() => at.push(clock.now()))), 1000);
    setTimeout(() => at.push(clock.now()), 1001);
    await clock.runUntil(5000);
    assert.deepEqual(at, [1000, 1001], "the immediates ran at the virtual time of their cause, before the next timer");
  } finally {
    environment.restore();
  }
});

test("no immediate is lost: outside the clock's settling a real turn runs them, and restore hands leftovers to Node", async () => {
  const { environment } = install();
  try {
    // e.g. a promise awaiting aedes's close(), which completes through setImmediate
    await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    environment.restore();
  }
  const again = install();
  const ran = new Promise<void>((resolve) => setImmediate(resolve));
  again.environment.restore();
  await ran;
  assert.equal(globalThis.setImmediate, realSetImmediate, "the real setImmediate is back");
});
