/**
 * `wasmqtt soak --workers N` and `--shard I/N` + `wasmqtt soak merge` (host/soak/run.ts,
 * workers.ts, partial.ts): every device has a broker, an observer and random streams of
 * its own, so how the devices are split — one process, several workers, shards run as
 * separate processes and merged — changes nothing in the report but wall time, host
 * memory and the record of the split itself. Merge refuses a missing shard and a shard
 * of another seed, naming it. Each soak is a child process (support/soak-runs.ts).
 * Reads build/ (`npm test` builds first).
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { merge, replayable, shard, soak, tempDir } from "./support/soak-runs.ts";

/** Harsh faults on 4 devices: restarts of each device's broker both ways, clock jumps, losses excused. */
const RUN = ["--days", "0.25", "--devices", "4", "--faults", "harsh", "--seed", "5"];

describe("wasmqtt soak split over workers and shards", { concurrency: 2 }, () => {
  test("the same seed gives the same report with one worker and with two", async () => {
    const [one, two] = await Promise.all([soak([...RUN, "--workers", "1"]), soak([...RUN, "--workers", "2"])]);
    for (const run of [one, two]) assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.equal(one.report.execution.workers, 1);
    assert.equal(two.report.execution.workers, 2);
    assert.deepEqual(two.report.execution.perWorker.map((worker) => worker.devices), [2, 2]);
    // the run is worth comparing: every device had faults, brokers restarted both ways
    assert.ok(one.report.broker.restartsKeepingSessions >= 1 && one.report.broker.restartsLosingSessions >= 1, JSON.stringify(one.report.broker));
    assert.ok(one.report.devices.every((device) => device.reconnects > 0), "a device without reconnects");
    assert.deepEqual(two.report.devices, one.report.devices);
    assert.deepEqual(two.report.invariants, one.report.invariants);
    assert.deepEqual(replayable(two.report), replayable(one.report));
  });

  test("three shards run as separate processes and merged equal one unsharded run; merge names a missing shard and one of another seed", async () => {
    const dirs = [tempDir(), tempDir(), tempDir()];
    const [whole, ...shards] = await Promise.all([
      soak([...RUN, "--workers", "1"]),
      ...dirs.map((dir, i) => shard([...RUN, "--shard", `${i}/3`, "--workers", "1"], dir)),
    ]);
    assert.equal(whole.code, 0, `${whole.stdout}\n${whole.stderr}`);
    for (const run of shards) assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.deepEqual(shards[1].part.devices.map((device) => device.id), ["nodemcu-v3-2"], "shard 1/3 holds device index 1 only");

    const merged = await merge(dirs);
    assert.equal(merged.code, 0, `${merged.stdout}\n${merged.stderr}`);
    assert.match(merged.stdout, /^wasmqtt soak: PASSED — every invariant held$/m);
    assert.equal(merged.report.execution.shards, 3);
    assert.deepEqual(merged.report.devices, whole.report.devices);
    assert.deepEqual(merged.report.invariants, whole.report.invariants);
    assert.deepEqual(replayable(merged.report), replayable(whole.report));

    const missing = await merge([dirs[0], dirs[2]]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Error: shard 1\/3 missing \(have 0\/3, 2\/3\)$/m);

    const otherDir = tempDir();
    const other = await shard(["--days", "0.25", "--devices", "4", "--faults", "harsh", "--seed", "6", "--shard", "1/3", "--workers", "1"], otherDir);
    assert.equal(other.code, 0, `${other.stdout}\n${other.stderr}`);
    const mixed = await merge([dirs[0], otherDir, dirs[2]]);
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, new RegExp(`^Error: ${path.join(otherDir).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is of seed 6, but .+ of seed 5$`, "m"));
  });
});
