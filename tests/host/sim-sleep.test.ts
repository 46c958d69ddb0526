/**
 * Deep sleep in the simulator (`wasmqtt sim --sleep`): a device that keeps no connection
 * between readings, booted at every wake from its saved image alone, still delivers every
 * reading to an outside subscriber — QoS 1 at least once, QoS 2 exactly once — with one
 * connection per wake, a clean DISCONNECT (no will) and a retained "sleeping" status, for
 * a fraction of the always-connected energy. On the embedded broker at max speed; reads
 * build/ (`npm test` builds first).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import mqtt from "mqtt";
import { loadBoard } from "../../host/boards.ts";
import { runSim } from "../../host/cli/sim.ts";
import { startEmbeddedBroker } from "../../host/sim/broker.ts";
import { Simulator } from "../../host/sim/simulator.ts";
import { type Reading } from "./support/telemetry.ts";

/** Polls `condition` every 20 ms of real time; fails with `what` after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const INTERVAL_SEC = 60;
const HOURS = 3;

describe("deep sleep in the simulator", () => {
  for (const qos of [1, 2] as const) {
    it(`delivers every QoS ${qos} reading over ${HOURS} h of sleep cycles, one connection per wake, none held between readings`, async () => {
      const broker = await startEmbeddedBroker({ port: 0 });
      const watcher = await mqtt.connectAsync(broker.url, { clientId: `watcher-${qos}`, reconnectPeriod: 0 });
      const messages: { topic: string; payload: string }[] = [];
      watcher.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
      await watcher.subscribeAsync("devices/#", { qos: 2 });
      const sim = await Simulator.create({
        board: loadBoard("nodemcu-v3"), broker, speed: Infinity, intervalSec: INTERVAL_SEC, sleep: true, telemetryQos: qos, durationMs: HOURS * 3_600_000,
      });
      const device = sim.devices[0];
      // half way between readings: asleep, no connection at the device's network
      const between: string[] = [];
      for (let at = INTERVAL_SEC / 2; at < HOURS * 3600; at += INTERVAL_SEC) {
        sim.clock.setTimer(at * 1000, () => between.push(`${device.snapshot().state}/${device.network.state}`));
      }
      try {
        await sim.run();
        const app = device.appStats();
        const snapshot = device.snapshot();
        assert.ok(snapshot.sleep !== undefined);
        assert.equal(app.published, HOURS * 3600 / INTERVAL_SEC, "one reading a wake, the first at power-on");
        assert.equal(snapshot.sleep.wakes, app.published - 1);
        assert.equal(device.network.stats.connects, snapshot.sleep.wakes + 1, "a connection for each wake and the first boot, no more");
        assert.deepEqual([...new Set(between)], ["asleep/idle"], "awake or connected between readings");

        const readings = () => messages.filter((m) => m.topic === "devices/nodemcu-v3-1/telemetry").map((m) => JSON.parse(m.payload) as Reading);
        await until(() => new Set(readings().map((r) => r.seq)).size >= app.published, `${app.published} readings at the watcher`);
        const seqs = readings().map((r) => r.seq);
        assert.deepEqual([...new Set(seqs)], Array.from({ length: app.published }, (_, i) => i + 1), "a reading lost or out of order");
        if (qos === 2) assert.equal(seqs.length, app.published, "a QoS 2 reading delivered twice");
        const uptimes = readings().map((r) => r.uptime_s);
        assert.ok(uptimes.at(-1)! >= (app.published - 1) * INTERVAL_SEC, `uptime ${uptimes.at(-1)} s does not count the sleeps`);

        const status = messages.filter((m) => m.topic === "devices/nodemcu-v3-1/status").map((m) => m.payload);
        assert.ok(status.length >= snapshot.sleep.wakes, "a status each wake");
        assert.ok(status.every((payload) => /^sleeping (59|60)$/.test(payload)), `status ${[...new Set(status)].join(", ")}: no online, no will`);

        const { mAh, alwaysOnMAh } = snapshot.sleep.energy;
        assert.ok(mAh < alwaysOnMAh / 20, `${mAh.toFixed(1)} mAh/day asleep against ${alwaysOnMAh} always connected`);
        assert.ok(snapshot.sleep.asleepMs > 0.95 * HOURS * 3_600_000, `asleep only ${snapshot.sleep.asleepMs} ms`);
      } finally {
        await sim.close();
        await watcher.endAsync();
        await broker.close();
      }
    });
  }

  it("wasmqtt sim --sleep: wakes and energy on each line; an interval below 30 s refused", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) } };
    assert.equal(await runSim(["--sleep", "--speed", "max", "--duration", "3600", "--port", "0", "--no-web"], io), 0);
    const text = out.join("");
    assert.match(text, /^deep sleep between readings; energy model: 80 mA at 3\.3 V awake .* always connected 1920 mAh\/day$/m);
    const last = text.trimEnd().split("\n").filter((line) => line.startsWith("[day 0 01:00:00]"));
    assert.equal(last.length, 1, text);
    assert.match(last[0], /state=asleep .* wakes=59 energy=\d+(\.\d)?mAh\/day always-on=1920mAh\/day$/);
    assert.deepEqual(err, []);
    assert.equal(await runSim(["--sleep", "--interval", "10"], io), 1);
    assert.match(err.join(""), /--sleep needs an --interval of at least 30 s \(got '10'\)/);
  });
});
