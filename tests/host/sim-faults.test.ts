// `wasmqtt sim --faults` and the live view's keys (host/cli/sim.ts, host/sim/simulator.ts,
// host/sim/view.ts): the soak's faults injected into the board simulator on virtual time
// (--speed max, a bounded --duration, the embedded broker). Each fault gets a plain line;
// the devices' states show the reconnects and the outbox filling and draining. Without
// --faults the run stays fault-free. Reads build/ (`npm test` builds first).
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";
import { runSim } from "../../host/cli/sim.ts";

/** A terminal that types "d" then "b" soon after the simulator starts reading keys. */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  readonly raw: boolean[] = [];
  setRawMode(raw: boolean): void {
    this.raw.push(raw);
  }
  resume(): void {
    setTimeout(() => this.emit("data", Buffer.from("db")), 20);
  }
  pause(): void {}
}

/** Runs `wasmqtt sim` in this process; its plain output lines and errors. */
async function sim(args: string[], stdin?: FakeTerminal): Promise<{ code: number; lines: string[]; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSim(args, { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, stdin });
  return { code, lines: out.join("").trimEnd().split("\n"), err: err.join("") };
}

/** The reconnects a plain device line reports. */
function reconnects(line: string): number {
  return Number(/ reconnects=(\d+) /.exec(line)?.[1] ?? Number.NaN);
}

describe("wasmqtt sim with faults", () => {
  test("--faults default drops, restarts and black-holes the devices on virtual time, and they reconnect", async () => {
    const run = await sim(["--faults", "default", "--speed", "max", "--duration", "21600", "--devices", "2", "--port", "0", "--interval", "30", "--seed", "3"]);
    assert.equal(run.code, 0, run.err);
    const faults = run.lines.filter((line) => / fault /.test(line));
    assert.ok(faults.some((line) => /^\[day 0 \d\d:\d\d:\d\d\] fault drop nodemcu-v3-\d$/.test(line)), faults.join("\n"));
    assert.ok(faults.some((line) => /^\[day 0 \d\d:\d\d:\d\d\] fault restart \(losing sessions, down \d+\.\d s\)$/.test(line)), faults.join("\n"));
    const devices = run.lines.filter((line) => / nodemcu-v3-\d board=/.test(line));
    // a device went offline and came back: a reconnect, a state other than connected on the way, the outbox used while away
    assert.ok(devices.some((line) => reconnects(line) >= 1), "no reconnect");
    assert.ok(devices.some((line) => !/ state=connected /.test(line) && reconnects(line) >= 1), "never seen away");
    assert.ok(devices.some((line) => !/ outbox=0\//.test(line)), "the outbox never held anything");
    const last = run.lines.filter((line) => line.startsWith("[day 0 06:00:00] nodemcu-v3-"));
    assert.equal(last.length, 2, run.lines.slice(-4).join("\n"));
  });

  test("without --faults the run is fault-free", async () => {
    const run = await sim(["--speed", "max", "--duration", "21600", "--devices", "2", "--port", "0", "--interval", "30", "--seed", "3"]);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(run.lines.filter((line) => / fault /.test(line)), []);
    for (const line of run.lines.filter((line) => / board=/.test(line))) assert.equal(reconnects(line), 0, line);
  });

  test("a --faults value that is neither a profile nor a schedule is refused, naming it", async () => {
    const run = await sim(["--faults", "gentle"]);
    assert.equal(run.code, 1);
    assert.match(run.err, /--faults 'gentle' is neither a profile \(none, light, default, harsh, real\) nor a \.json schedule/);
  });

  test("keys: d drops every device's network, b restarts the embedded broker", async () => {
    const stdin = new FakeTerminal();
    const run = await sim(["--speed", "max", "--duration", "86400", "--port", "0", "--interval", "60"], stdin);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(stdin.raw, [true, false], "raw mode on, then off again");
    assert.ok(run.lines.some((line) => /^\[day \d+ \d\d:\d\d:\d\d\] fault drop nodemcu-v3-1$/.test(line)), run.lines.join("\n"));
    assert.ok(run.lines.some((line) => /^\[day \d+ \d\d:\d\d:\d\d\] fault restart \(losing sessions, down 2\.0 s\)$/.test(line)), run.lines.join("\n"));
  });
});
