/**
 * `wasmqtt soak --real` (host/soak/mosquitto.ts, host/soak/proxy-link.ts): the soak's
 * devices in real time against a real Mosquitto, each through a fault proxy of its own.
 * A short run with a drop, a black-hole, a latency spike, partial writes, a clock jump,
 * an outage and a broker restart crosses the 32-bit wrap and holds every invariant, and
 * each fault left its trace (the black-hole timed out at both ends, the restart cut the
 * observer's direct connection); a broker crash (SIGKILL, persistence deleted) during a
 * latency spike loses QoS 2 readings Mosquitto held between PUBREC and PUBREL, and the
 * soak names them, while the same run with a restart keeping sessions passes. Each run
 * takes under a minute of real time; they run side by side. The `real` profile's plan is
 * checked without running it. `--protocol 5` runs the same under MQTT 5.0 (refused without
 * --real: aedes speaks 3.1.1 only). Reads build/ (`npm test` builds first).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { startMosquitto } from "../../host/mosquitto.ts";
import { FAULT_KINDS, FaultSpecError, parseFaultSpec, planFaults } from "../../host/soak/faults.ts";
import { Random } from "../../host/sim/random.ts";
import { runSoak } from "../../host/cli/soak.ts";
import { schedule, soak, spawnSoak, tempDir } from "./support/soak-runs.ts";

/** Every run is this short: faults for `--minutes`, then the drain (about 30 s). */
const SHORT = ["--real", "--keepalive", "3"];

describe("wasmqtt soak --real", { concurrency: 2 }, () => {
  test("a short run against Mosquitto with a drop, a black-hole, a latency spike and a restart crosses the wrap and holds every invariant", async () => {
    const dir = tempDir();
    const faults = schedule(dir, [
      { at: 6, do: "drop", device: 1 },
      { at: 6, do: "blackhole", device: 3, duration: 9 },
      { at: 7, do: "latency", device: 2, duration: 6, ms: 1000 },
      { at: 9, do: "partial", device: 1, duration: 5, bytes: 8 },
      { at: 10, do: "jump", ms: 3000 },
      { at: 12, do: "outage", device: 2, duration: 3 },
      { at: 16, do: "restart", keepSessions: true, downtime: 2 },
    ]);
    const run = await soak([...SHORT, "--minutes", "0.35", "--devices", "3", "--faults", `none,${faults}`], dir);
    const { report } = run;
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^wasmqtt soak: PASSED — every invariant held$/m);
    assert.match(run.stdout, /^ {2}mode +real time against Mosquitto \S+ \(mqtt:\/\/127\.0\.0\.1:\d+\), a fault proxy per device, the observer direct$/m);
    assert.equal(report.settings.mode, "real");
    const { broker } = report;
    assert.ok(broker.name === "mosquitto", broker.name);
    assert.deepEqual(report.violations, []);
    assert.ok(report.invariants.every((verdict) => verdict.held), JSON.stringify(report.invariants));
    // real time: the run took as long as it simulated
    assert.ok(Math.abs(report.wallSeconds - report.virtualMs / 1000) < 3, `${report.wallSeconds} s wall for ${report.virtualMs} ms`);

    // the counter started a quarter of the faults' 21 s before the wrap, and wrapped there
    assert.equal(report.u32.startMs, 2 ** 32 - 5250);
    assert.deepEqual(report.u32.wraps.map((wrap) => wrap.atMs), [5250]);

    // every scheduled fault was applied at its time, and nothing else
    const applied = report.faultLog.map((entry) => `${entry.atMs / 1000} ${entry.kind} ${entry.device ?? ""}`.trim());
    assert.deepEqual(applied, ["6 drop nodemcu-v3-1", "6 blackhole nodemcu-v3-3", "7 latency nodemcu-v3-2", "9 partial nodemcu-v3-1", "10 jump", "12 outage nodemcu-v3-2", "16 restart"]);
    for (const kind of ["drop", "blackhole", "latency", "partial", "jump", "outage", "restart"] as const) assert.equal(report.faults[kind], 1, kind);
    // the restart was real: it cut the observer's direct connection once
    assert.equal(broker.restartsKeepingSessions, 1);
    assert.equal(report.observer.connects, 2, JSON.stringify(report.observer));
    // the black-hole was half-open: the device's keepalive and Mosquitto's both noticed
    assert.ok((report.devices[2].monitor.losses.KEEPALIVE_TIMEOUT ?? 0) >= 1, JSON.stringify(report.devices[2].monitor.losses));
    assert.ok(broker.keepaliveTimeouts >= 1, "Mosquitto logged no keepalive timeout");
    assert.ok(broker.bytesDiscarded > 0);
    // the proxies refused connections during the outage and the black-hole; the drop cost a reconnect
    assert.ok(broker.refusedByProxies > 0);
    assert.ok(report.devices[0].reconnects >= 1);

    // every reading accepted was delivered (but those still in flight at the very end)
    const { delivery } = report;
    assert.ok(delivery.accepted > 3 * 30, `only ${delivery.accepted} readings accepted`);
    assert.equal(delivery.accepted - delivery.delivered, delivery.inFlightAtEnd);
    assert.equal(delivery.lostWithBrokerState, 0);

    const html = readFileSync(path.join(dir, "report.html"), "utf8");
    assert.match(html, /<h1>wasmqtt soak --real \(Mosquitto, real time\)/);
    assert.equal((html.match(/<svg /g) ?? []).length, 5);
  });

  test("a broker crash during a latency spike loses QoS 2 readings held between PUBREC and PUBREL, and the soak names them; a restart keeping sessions loses none", async () => {
    // device 2 (QoS 2) is 1.5 s away each way: a reading published 5.5 … 7 s in has had its
    // PUBREC and not yet delivered its PUBREL when Mosquitto dies at 10 s; the new broker
    // answers the resent PUBREL with PUBCOMP, and the reading is gone
    const steps = (keepSessions: boolean) => [
      { at: 5, do: "latency", device: 2, duration: 8, ms: 1500 },
      { at: 10, do: "restart", keepSessions, downtime: 1 },
    ];
    const [crashDir, restartDir] = [tempDir(), tempDir()];
    const args = [...SHORT, "--minutes", "0.25", "--devices", "2", "--faults"];
    const [crash, restart] = await Promise.all([
      soak([...args, `none,${schedule(crashDir, steps(false))}`], crashDir),
      soak([...args, `none,${schedule(restartDir, steps(true))}`], restartDir),
    ]);

    assert.equal(crash.code, 1, `${crash.stdout}\n${crash.stderr}`);
    assert.match(crash.stdout, /^wasmqtt soak: FAILED — 1 invariant violated$/m);
    assert.match(crash.report.faultLog.find((entry) => entry.kind === "restart")?.detail ?? "", /^losing sessions/);
    const verdicts = Object.fromEntries(crash.report.invariants.map((verdict) => [verdict.invariant, verdict.violations]));
    assert.ok(verdicts.delivery >= 1);
    assert.equal(Object.values(verdicts).reduce((sum, count) => sum + count, 0), verdicts.delivery, JSON.stringify(verdicts));
    const lost = crash.report.violations.filter((violation) => violation.subject === "nodemcu-v3-2");
    assert.ok(lost.length >= 1, crash.stderr);
    for (const violation of lost) {
      assert.match(violation.message, /^INVARIANT VIOLATED \[delivery\] device nodemcu-v3-2 at day 0 00:00:\d\d: QoS 2 reading seq \d+ \(accepted between day 0 00:00:\d\d and day 0 00:00:\d\d\) was never delivered: the observer never received it$/);
      assert.ok(crash.stderr.includes(violation.message));
      // accepted (and so stamped) before the crash
      assert.ok(violation.atMs < 10_000, violation.message);
    }
    assert.equal(crash.report.delivery.accepted - crash.report.delivery.delivered, crash.report.violations.length + crash.report.delivery.inFlightAtEnd);

    assert.equal(restart.code, 0, `${restart.stdout}\n${restart.stderr}`);
    assert.match(restart.report.faultLog.find((entry) => entry.kind === "restart")?.detail ?? "", /^keeping sessions/);
    assert.equal(restart.report.delivery.accepted - restart.report.delivery.delivered, restart.report.delivery.inFlightAtEnd);
  });

  test("--broker: against a broker the soak does not control (a Mosquitto this test started), a short run passes, restarts nothing and says which faults were possible", async (t) => {
    const broker = await startMosquitto({ websockets: false });
    t.after(() => broker.stop());
    const dir = tempDir();
    const run = await soak([...SHORT, "--broker", broker.url, "--minutes", "0.15", "--devices", "2", "--faults", "real"], dir);
    const { report } = run;
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^wasmqtt soak: PASSED — every invariant held$/m);
    assert.match(run.stdout, new RegExp(`^ {2}mode +real time against the broker at ${broker.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(not the soak's: never restarted\\)`, "m"));
    assert.match(run.stdout, /^ {2}broker restarts +none \(the user's broker\)$/m);
    assert.match(run.stdout, /^ {2}faults possible +drop, outage, long-outage, blackhole, partial, latency, jump, power-loss, deep-sleep \(not restart: the soak does not control the broker\)$/m);
    assert.ok(report.broker.name === "mosquitto" && !report.broker.controlled, JSON.stringify(report.broker));
    assert.equal(report.broker.restartsKeepingSessions + report.broker.restartsLosingSessions, 0);
    assert.deepEqual(report.settings.faultsPossible, ["drop", "outage", "long-outage", "blackhole", "partial", "latency", "jump", "power-loss", "deep-sleep"]);
    assert.equal(report.faults.restart, 0);
    assert.ok(report.faultLog.length > 3 && report.faultLog.every((entry) => entry.kind !== "restart"), JSON.stringify(report.faultLog));
    // the devices' connections went through their proxies to the test's broker, and the proxies' faults cost reconnects
    assert.ok(report.broker.connections >= 2 && report.reconnects >= 1, JSON.stringify(report.broker));
    assert.ok(report.devices.every((device) => /^s[0-9a-f]{6}-nodemcu-v3-\d$/.test(device.id)), "ids of the run's own");
    assert.equal(report.delivery.accepted - report.delivery.delivered, report.delivery.inFlightAtEnd);
    // nothing restarts a broker the soak does not control: a schedule's restart is refused
    const refused = await spawnSoak([...SHORT, "--broker", broker.url, "--minutes", "0.1", "--faults", `none,${schedule(tempDir(), [{ at: 5, do: "restart" }])}`], {});
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Error: a "restart" step needs a broker the soak controls: --broker names one it does not$/m);
  });

  test("--protocol 5: the telemetry devices and the observer speak MQTT 5.0 to Mosquitto through a drop, and every invariant holds; without --real it is refused", async () => {
    const dir = tempDir();
    const faults = schedule(dir, [{ at: 3, do: "drop", device: 1 }]);
    const run = await soak([...SHORT, "--protocol", "5", "--minutes", "0.08", "--devices", "2", "--faults", `none,${faults}`], dir);
    const { report } = run;
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^wasmqtt soak: PASSED — every invariant held$/m);
    assert.match(run.stdout, /^ {2}devices +2 × nodemcu-v3 .*, MQTT 5\.0, seed 1$/m);
    assert.equal(report.settings.protocolVersion, 5);
    assert.ok(report.broker.name === "mosquitto");
    // Mosquitto's own log: every connection it accepted was MQTT 5.0 (2 devices, the observer, the drop's reconnect)
    assert.equal(report.broker.connectsMqtt311, 0, JSON.stringify(report.broker));
    assert.ok(report.broker.connectsMqtt5 >= 4, JSON.stringify(report.broker));
    assert.deepEqual(report.violations, []);
    assert.ok(report.devices[0].reconnects >= 1);
    assert.ok(report.delivery.accepted > 2 * 10, `only ${report.delivery.accepted} readings accepted`);
    assert.equal(report.delivery.accepted - report.delivery.delivered, report.delivery.inFlightAtEnd);

    const err: string[] = [];
    const io = { stdout: { write: () => true }, stderr: { write: (text: string) => err.push(text) } };
    assert.equal(await runSoak(["--protocol", "5", "--days", "0.01"], io), 1);
    assert.match(err.join(""), /--protocol 5 needs --real: the embedded broker, aedes 0\.51, speaks MQTT 3\.1\.1 only/);
    assert.equal(await runSoak(["--real", "--protocol", "3"], io), 1);
    assert.match(err.join(""), /--protocol "3": must be 4 \(or 311\) for MQTT 3\.1\.1, or 5 for MQTT 5\.0/);
  });

  test("the real profile fits minutes: every kind but lose early enough, restarts keep sessions; lose needs aedes", () => {
    const deviceIds = ["a-1", "a-2", "a-3"];
    const durationMs = 60_000;
    // the power faults are in no profile: named, they are drawn at the real rates too
    const plan = planFaults({ spec: parseFaultSpec("real,power-loss,deep-sleep"), deviceIds, durationMs, random: new Random(9).fork("faults"), warmupMs: 5000, broker: "mosquitto" });
    assert.deepEqual(new Set(plan.map((step) => step.kind)), new Set(FAULT_KINDS.filter((kind) => kind !== "lose")));
    for (const step of plan) {
      assert.ok(step.atMs >= 5000 && step.atMs + (step.durationMs ?? 0) <= durationMs, JSON.stringify(step));
      if (step.kind === "restart") assert.equal(step.keepSessions, true);
    }
    // the default profile draws restarts losing sessions, but not for Mosquitto
    const restarts = (broker: "aedes" | "mosquitto") =>
      planFaults({ spec: parseFaultSpec("default"), deviceIds, durationMs: 86_400_000, random: new Random(9).fork("faults"), broker }).filter((step) => step.kind === "restart");
    assert.ok(restarts("aedes").some((step) => step.keepSessions === false));
    assert.ok(restarts("mosquitto").length > 0 && restarts("mosquitto").every((step) => step.keepSessions === true));
    const lose = parseFaultSpec("none,lose.json", () => JSON.stringify({ steps: [{ at: 10, do: "lose", device: 1 }] }));
    assert.throws(() => planFaults({ spec: lose, deviceIds, durationMs, random: new Random(9), broker: "mosquitto" }), (error) => error instanceof FaultSpecError && /"lose" step needs the in-process broker's hooks/.test(error.message));
    assert.equal(planFaults({ spec: lose, deviceIds, durationMs, random: new Random(9) }).length, 1);
  });
});
