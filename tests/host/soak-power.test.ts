/**
 * The soak's power faults (host/soak/power.ts): `power-loss`, some of them cutting a save
 * to the simulated flash, and `deep-sleep` cycles. With `--persist` a device boots from
 * its last complete save: every reading a save covered is delivered (QoS 2 exactly once),
 * and only those accepted after it are excused, by name; without it the losses are
 * listed by reading; the same seed replays the same run; a deep sleep loses nothing.
 * Each soak is a child process (tests/host/support/soak-runs.ts). Reads build/.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SoakResult } from "../../host/soak/soak.ts";
import { replayable, schedule, soak, tempDir } from "./support/soak-runs.ts";

/** Two devices (QoS 1 and QoS 2) for 0.1 virtual days. */
const BASE = ["--days", "0.1", "--devices", "2", "--seed", "21"];

/**
 * Power losses on both devices: two cutting a save (early and late in the slot), one
 * between saves — the second while an outage keeps ten minutes of readings in the outbox;
 * on the QoS 2 device every four minutes one cutting the first, second or third save
 * from then (a reading's flow saves when it is accepted, at its PUBREC and its PUBCOMP);
 * deep sleeps on both.
 */
function powerSchedule(): string {
  const qos2Cuts = Array.from({ length: 30 }, (_, i) => ({ at: 630 + 240 * i, do: "power-loss", device: 2, duration: 5, duringSave: true, save: 1 + (i % 3), cut: 0.5 }));
  return schedule(tempDir(), [
    ...qos2Cuts,
    { at: 1800, do: "power-loss", duration: 20, duringSave: true, cut: 0.3 },
    { at: 3000, do: "outage", duration: 1200 },
    { at: 3600, do: "power-loss", duration: 90, duringSave: true, cut: 0.8 },
    { at: 5400, do: "power-loss", duration: 5 },
    { at: 6600, do: "deep-sleep", duration: 300 },
  ]);
}

/** Readings neither delivered nor excused: what the delivery invariant fails on (QoS 1 and 2 only in these runs). */
function unexcused(report: SoakResult): number {
  const { delivery } = report;
  return delivery.accepted - delivery.delivered - delivery.lostToPowerLoss - delivery.lostWithBrokerState - delivery.inFlightAtEnd;
}

function assertPassed(run: { code: number | string; stdout: string; stderr: string; report: SoakResult }): void {
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /^wasmqtt soak: PASSED — every invariant held$/m);
  assert.deepEqual(run.report.violations, []);
}

describe("wasmqtt soak: power loss and deep sleep", { concurrency: 4 }, () => {
  const faults = `none,power-loss,deep-sleep,${powerSchedule()}`;

  test("with --persist every saved reading arrives, QoS 2 once; only readings accepted after the last complete save are lost, each excused by name; the same seed replays", async () => {
    const [run, again] = await Promise.all([soak([...BASE, "--faults", faults, "--persist"]), soak([...BASE, "--faults", faults, "--persist"])]);
    assertPassed(run);
    const { report } = run;
    assert.equal(report.settings.persist, true);
    assert.deepEqual(report.settings.faultsAdded, ["power-loss", "deep-sleep"]);
    const { power, delivery } = report;
    assert.ok(power.powerLosses >= 30, JSON.stringify(power));
    assert.ok(power.duringSave >= 25, `${power.duringSave} power losses during a save`);
    assert.equal(power.restored, power.powerLosses, "every boot after a power loss restored a saved image");
    assert.equal(power.startedEmpty, 0);
    assert.ok(power.saves > 100 && power.deepSleeps >= 2, JSON.stringify(power));
    const cuts = report.faultLog.filter((entry) => entry.kind === "power-loss" && /^during a save: image \d+ to slot [AB] cut after \d+ of \d+ bytes/.test(entry.detail ?? ""));
    assert.equal(cuts.length, power.duringSave, JSON.stringify(report.faultLog));

    // the cost of a torn save, and nothing else: readings accepted after the image that came back
    assert.ok(delivery.lostToPowerLoss > 0, "no reading was accepted after the last complete save");
    assert.ok(delivery.lostToPowerLoss <= power.duringSave, `${delivery.lostToPowerLoss} lost for ${power.duringSave} cut saves`);
    for (const lost of delivery.lostToPowerLossDetail) assert.match(lost.why, /^accepted after the image restored \(image \d+, saved at day 0 \d\d:\d\d:\d\d\) was saved; lost with the RAM at the power loss at day 0 /);
    assert.equal(unexcused(report), 0, JSON.stringify(delivery));
    // QoS 2 exactly once across the reboots: a second delivery would have violated it
    assert.equal(report.devices[1].qos, 2);
    assert.equal(report.invariants.find((verdict) => verdict.invariant === "delivery")?.held, true);
    // every delivered reading is dated, the restored uptime counted: none reads as sent in the future
    assert.equal(report.latency.count, delivery.delivered, `${report.latency.count} latency samples for ${delivery.delivered} readings delivered`);

    assertPassed(again);
    assert.deepEqual(replayable(again.report), replayable(report));
  });

  test("without --persist the readings a power loss took are counted and listed by reading, and the run passes", async () => {
    const run = await soak([...BASE, "--faults", faults]);
    assertPassed(run);
    const { power, delivery, settings } = run.report;
    assert.equal(settings.persist, false);
    assert.ok(power.powerLosses >= 6 && power.saves === 0 && power.restored === 0, JSON.stringify(power));
    assert.equal(power.startedEmpty, power.powerLosses);
    assert.ok(delivery.lostToPowerLoss > 0, JSON.stringify(delivery));
    assert.equal(delivery.lostToPowerLossDetail.length, Math.min(50, delivery.lostToPowerLoss));
    for (const lost of delivery.lostToPowerLossDetail) {
      assert.ok(lost.seq >= 1 && lost.seq <= delivery.accepted, JSON.stringify(lost));
      assert.match(lost.why, /^accepted before the power loss at day 0 \d\d:\d\d:\d\d, with no persistence: lost with the RAM$/);
    }
    assert.equal(unexcused(run.report), 0, JSON.stringify(delivery));
    assert.match(run.stdout, new RegExp(`lost to power loss ${delivery.lostToPowerLoss} readings \\(no persistence: excused by name, the expected cost\\)`));
  });

  test("deep-sleep cycles lose nothing: the block kept in RTC memory brings every flow back", async () => {
    const sleeps = schedule(tempDir(), [
      { at: 1200, do: "deep-sleep", duration: 600 },
      { at: 4000, do: "deep-sleep", device: 2, duration: 60 },
    ]);
    const run = await soak([...BASE, "--faults", `none,deep-sleep,${sleeps}`]);
    assertPassed(run);
    const { power, delivery } = run.report;
    assert.ok(power.deepSleeps >= 3, JSON.stringify(power));
    assert.equal(power.wakeRefused, 0);
    assert.equal(power.powerLosses, 0);
    assert.equal(delivery.lostToPowerLoss, 0);
    assert.equal(delivery.accepted - delivery.inFlightAtEnd, delivery.delivered, JSON.stringify(delivery));
    assert.equal(run.report.faults["deep-sleep"], power.deepSleeps);
  });
});
