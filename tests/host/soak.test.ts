/**
 * `wasmqtt soak` (host/cli/soak.ts, host/soak/): each soak runs as a child process
 * (`node --import tsx host/cli/soak-main.ts …`), because the soak replaces the process's
 * timer globals. A short soak with the default faults plus scripted ones (broker restarts
 * keeping and losing sessions, a black-holed connection) crosses the 32-bit wrap and
 * passes; the same seed gives the same run; injected losses inside the broker fail the
 * run with the delivery invariant's message naming the device, the seq and the virtual
 * time; aedes run without the soak's patches is caught duplicating a QoS 2 message.
 * Expected values come from the run's own report.json, never from constants.
 * Reads build/ (`npm test` builds first).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { runSoak } from "../../host/cli/soak.ts";
import { formatVirtualTime } from "../../host/sim/view.ts";
import { replayable, schedule, soak, tempDir } from "./support/soak-runs.ts";

/** The firmware's counter wraps 10 virtual minutes into the run. */
const U32_START = 2 ** 32 - 600_000;

describe("wasmqtt soak", { concurrency: 2 }, () => {
  test("a two-day soak with the default faults, restarts both ways and a black-hole crosses the wrap and holds every invariant", async () => {
    const dir = tempDir();
    const faults = schedule(dir, [
      { at: 1800, do: "blackhole", device: 1, duration: 300 },
      { at: 7200, do: "restart", keepSessions: true, downtime: 5 },
      { at: "day 0 04:00:00", do: "restart", keepSessions: false, downtime: 5 },
    ]);
    const run = await soak(["--days", "2", "--devices", "3", "--seed", "3", "--faults", `default,${faults}`, "--u32-start", String(U32_START)], dir, { preloadAedes: true });
    const { report } = run;
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^wasmqtt soak: PASSED — every invariant held$/m);
    assert.equal(report.interrupted, false);
    assert.deepEqual(report.violations, []);
    assert.ok(report.invariants.every((verdict) => verdict.held), JSON.stringify(report.invariants));

    // the 32-bit millisecond counter wrapped where its start says it would
    assert.equal(report.u32.startMs, U32_START);
    assert.ok(report.u32.wraps.length >= 1, "the counter never wrapped");
    assert.equal(report.u32.wraps[0].atMs, 2 ** 32 - U32_START);

    // the scripted faults happened, and so did the profile's
    const at = (kind: string, atMs: number) => report.faultLog.find((entry) => entry.kind === kind && entry.atMs === atMs);
    assert.ok(at("blackhole", 1_800_000)?.device === "nodemcu-v3-1", "the black-hole");
    assert.match(at("restart", 7_200_000)?.detail ?? "", /^keeping sessions/);
    assert.match(at("restart", 4 * 3_600_000)?.detail ?? "", /^losing sessions/);
    assert.ok(report.broker.restartsKeepingSessions >= 1 && report.broker.restartsLosingSessions >= 1, JSON.stringify(report.broker));
    for (const kind of ["drop", "outage", "long-outage", "partial", "latency", "jump"] as const) assert.ok(report.faults[kind] >= 1, `no ${kind} fault`);
    // keepalive noticed the half-open connection: the device timed it out, and so did the
    // broker, whose keepalive timer (loaded before the soak began) runs on virtual time
    assert.ok((report.devices[0].monitor.losses.KEEPALIVE_TIMEOUT ?? 0) >= 1, JSON.stringify(report.devices[0].monitor.losses));
    assert.ok(report.broker.keepaliveTimeouts >= 1);

    // readings: the long outage filled the outbox (refused, counted), everything accepted arrived
    const { delivery } = report;
    assert.ok(delivery.accepted > 3 * 2 * 8000, `only ${delivery.accepted} readings accepted`);
    assert.ok(delivery.refused > 0, "no reading was refused, so no outage filled the outbox");
    assert.ok(report.module.maxOutboxUse > 0.9, `outbox use peaked at ${report.module.maxOutboxUse}`);
    assert.ok(delivery.delivered <= delivery.accepted);
    assert.ok(delivery.accepted - delivery.delivered <= delivery.lostWithBrokerState + delivery.inFlightAtEnd, JSON.stringify(delivery));
    assert.equal(report.devices.reduce((sum, device) => sum + device.accepted, 0), delivery.accepted);
    assert.ok(report.reconnects > 0 && report.latency.count > 0);

    // the report page stands alone: inline SVG plots, no scripts, nothing fetched
    const html = readFileSync(path.join(dir, "report.html"), "utf8");
    assert.equal((html.match(/<svg /g) ?? []).length, 5);
    for (const title of ["Module memory", "Host memory per device", "Outbox occupancy", "Reconnects", "Delivery latency"]) assert.ok(html.includes(title), title);
    assert.doesNotMatch(html, /<script|<link|<img|\bsrc=|href="http/);
  });

  test("the same seed gives the same run, another seed another", async () => {
    const args = ["--days", "0.3", "--devices", "2", "--faults", "harsh"];
    const [first, again, other] = await Promise.all([soak([...args, "--seed", "11"]), soak([...args, "--seed", "11"]), soak([...args, "--seed", "12"])]);
    for (const run of [first, again, other]) assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.ok(first.report.faultLog.length > 5, "harsh faults happened");
    assert.deepEqual(replayable(again.report), replayable(first.report));
    assert.notDeepEqual(other.report.faultLog, first.report.faultLog);
  });

  test("a message the broker loses, after forwarding it or right after acknowledging it, fails the run naming device, seq and time", async () => {
    const dir = tempDir();
    const faults = schedule(dir, [
      { at: 3600, do: "lose", device: 1 },
      { at: 5400, do: "lose", device: 3, stage: "publish" },
    ]);
    const run = await soak(["--days", "0.2", "--devices", "3", "--faults", `none,${faults}`], dir);
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^wasmqtt soak: FAILED — 1 invariant violated$/m);
    const losses = run.report.faultLog.filter((entry) => entry.kind === "lose");
    assert.equal(losses.length, 2, JSON.stringify(run.report.faultLog));
    const [forwarded, published] = losses;
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const message = (entry: (typeof losses)[number], how: string) =>
      new RegExp(`^${escape(`INVARIANT VIOLATED [delivery] device ${entry.device} at ${formatVirtualTime(entry.atMs)}: QoS 1 reading seq ${entry.seq} (accepted between `)}day \\d+ \\d\\d:\\d\\d:\\d\\d and day \\d+ \\d\\d:\\d\\d:\\d\\d\\) ${escape(`was never delivered: ${how}`)}( \\[worker \\d+ of \\d+\\])?$`, "m");
    assert.equal(forwarded.device, "nodemcu-v3-1");
    assert.match(run.stderr, message(forwarded, `the broker forwarded it (first at ${formatVirtualTime(forwarded.atMs)}) but the observer never received it`));
    assert.equal(published.device, "nodemcu-v3-3");
    assert.match(run.stderr, message(published, `the broker received it at ${formatVirtualTime(published.atMs)} but never forwarded it`));
    const verdicts = Object.fromEntries(run.report.invariants.map((verdict) => [verdict.invariant, verdict.violations]));
    assert.equal(verdicts.delivery, 2);
    assert.equal(Object.values(verdicts).reduce((sum, count) => sum + count, 0), 2, JSON.stringify(verdicts));
    assert.equal(run.report.delivery.accepted - run.report.delivery.delivered, 2);
  });

  test("aedes without the soak's patches is caught delivering a QoS 2 message twice after a restart", async () => {
    // a QoS 2 device flushes an outage's backlog (overlapping QoS 2 flows to the observer), then the broker restarts
    const dir = tempDir();
    const faults = schedule(dir, [
      { at: 600, do: "outage", device: 2, duration: 600 },
      { at: 1800, do: "restart", keepSessions: true, downtime: 2 },
    ]);
    const [unpatched, patched] = await Promise.all([
      soak(["--days", "0.05", "--faults", `none,${faults}`, "--unpatched-aedes"], dir),
      soak(["--days", "0.05", "--faults", `none,${faults}`]),
    ]);
    assert.equal(unpatched.code, 1, unpatched.stdout);
    assert.match(unpatched.stderr, /^INVARIANT VIOLATED \[delivery\] device nodemcu-v3-2 at day 0 00:30:0\d: QoS 2 reading seq \d+ was delivered 2 times, first at day 0 00:2\d:\d\d \(the broker forwarded it once: the observer got it again from the broker's redelivery\)( \[worker \d+ of \d+\])?$/m);
    assert.equal(unpatched.report.settings.patchAedes, false);
    assert.equal(patched.code, 0, `${patched.stdout}\n${patched.stderr}`);
    assert.equal(patched.report.delivery.duplicates, 0);
  });

  test("refuses bad flags and explains itself", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) } };
    assert.equal(await runSoak(["--days", "0"], io), 1);
    assert.match(err.join(""), /--days must be a number > 0 and ≤ 3650 \(got '0'\)/);
    assert.equal(await runSoak(["--faults", "gentle"], io), 1);
    assert.match(err.join(""), /--faults 'gentle' is neither a profile \(none, light, default, harsh, real\) nor a \.json schedule/);
    assert.equal(await runSoak(["--days", "1", "--minutes", "5"], io), 1);
    assert.match(err.join(""), /give --days or --minutes, not both/);
    assert.equal(await runSoak(["--real", "--minutes", "0"], io), 1);
    assert.match(err.join(""), /--minutes must be a number > 0 and ≤ 5256000 \(got '0'\)/);
    assert.equal(await runSoak(["--real", "--unpatched-aedes"], io), 1);
    assert.match(err.join(""), /--unpatched-aedes is about aedes; --real runs Mosquitto/);
    assert.equal(await runSoak(["--qos", "1,3"], io), 1);
    assert.match(err.join(""), /--qos must be a whole number from 0 to 2 \(got '3'\)/);
    assert.equal(await runSoak(["--board", "esp8266"], io), 1);
    assert.match(err.join(""), /unknown board 'esp8266'/);
    const bad = path.join(tempDir(), "bad.json");
    writeFileSync(bad, JSON.stringify({ steps: [{ at: 10, do: "blackhole", device: 1 }] }));
    assert.equal(await runSoak(["--faults", bad], io), 1);
    assert.match(err.join(""), /step 1: "blackhole" needs "duration" \(seconds\)/);
    assert.equal(await runSoak(["--help"], io), 0);
    assert.match(out.join(""), /Usage: wasmqtt soak/);
    assert.match(out.join(""), /^\s+--real\s+real time against a real Mosquitto/m);
    assert.match(out.join(""), /keepalive\s+a connected device never stays silent longer than its keepalive/);
  });
});
