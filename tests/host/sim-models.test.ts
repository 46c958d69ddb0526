/**
 * The simulator's models on the virtual clock: clock ordering, wrap and jumps; the seeded
 * generator; air temperature and soil moisture; the ADC; the network link. Nothing here
 * depends on wall-clock timing.
 */
import assert from "node:assert/strict";
import type { Duplex } from "node:stream";
import { describe, it } from "node:test";
import aedes from "aedes";
import { type Board, loadBoard, rawFromMillivolts } from "../../host/boards.ts";
import { AdcModel, moistureMillivolts, tmp36Millivolts } from "../../host/sim/adc.ts";
import { VirtualClock } from "../../host/sim/clock.ts";
import { type CloseReason, type LinkOptions, NetworkLink } from "../../host/sim/network.ts";
import { AirTemperature, DAY_MS, HOUR_MS, SoilMoisture } from "../../host/sim/physics.ts";
import { Random } from "../../host/sim/random.ts";

describe("VirtualClock", () => {
  it("runs timers in time order, equal times in the order they were set", () => {
    const clock = new VirtualClock();
    const ran: string[] = [];
    clock.setTimer(30, () => ran.push(`c@${clock.now()}`));
    clock.setTimer(10, () => ran.push(`a@${clock.now()}`));
    clock.setTimer(30, () => ran.push(`d@${clock.now()}`));
    const cancelled = clock.setTimer(20, () => ran.push("cancelled"));
    clock.setTimer(20, () => {
      ran.push(`b@${clock.now()}`);
      clock.after(0, () => ran.push(`b2@${clock.now()}`));
    });
    clock.clearTimer(cancelled);
    clock.advanceTo(25);
    assert.deepEqual(ran, ["a@10", "b@20", "b2@20"]);
    assert.equal(clock.now(), 25);
    clock.advanceTo(100);
    assert.deepEqual(ran, ["a@10", "b@20", "b2@20", "c@30", "d@30"]);
    assert.throws(() => clock.advanceTo(99), RangeError);
  });

  it("wraps the firmware's u32 counter while now() keeps counting", () => {
    const clock = new VirtualClock({ u32StartMs: 2 ** 32 - 1000 });
    assert.equal(clock.nowU32(), 2 ** 32 - 1000);
    const seen: number[] = [];
    clock.setTimer(999, () => seen.push(clock.nowU32()));
    clock.setTimer(1000, () => seen.push(clock.nowU32()));
    clock.setTimer(1500, () => seen.push(clock.nowU32()));
    clock.advanceTo(2000);
    assert.deepEqual(seen, [2 ** 32 - 1, 0, 500]);
    assert.equal(clock.now(), 2000);
    assert.equal((seen[2] - seen[0]) >>> 0, 501); // what the firmware computes across the wrap
  });

  it("jumps the firmware's counter without moving the simulated world", () => {
    const clock = new VirtualClock();
    let ranAt = -1;
    clock.setTimer(5000, () => (ranAt = clock.now()));
    clock.advanceTo(1000);
    clock.jump(60_000);
    assert.equal(clock.nowU32(), 61_000);
    assert.equal(clock.now(), 1000);
    clock.jump(-62_000);
    assert.equal(clock.nowU32(), 2 ** 32 - 1000);
    clock.advanceTo(6000);
    assert.equal(ranAt, 5000);
  });

  it("lets in-process peers answer between timers in runUntil, at the virtual time of the cause", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const answerAfterTurns = (turns: number): void => {
      if (turns === 0) clock.after(1, () => log.push(`answer@${clock.now()}`));
      else setImmediate(() => answerAfterTurns(turns - 1));
    };
    clock.setTimer(100, () => answerAfterTurns(3)); // as many turns as aedes takes for a PUBLISH
    clock.setTimer(150, () => log.push(`later@${clock.now()}`));
    await clock.runUntil(200);
    assert.deepEqual(log, ["answer@101", "later@150"]);
    assert.equal(clock.now(), 200);
  });

  it("paces timers against the wall clock with a finite speed, in the same order", async () => {
    const clock = new VirtualClock({ speed: 1_000_000 });
    const ran: number[] = [];
    for (const at of [400, 100, 250]) clock.setTimer(at, () => ran.push(clock.now()));
    clock.setTimer(100, () => clock.after(50, () => ran.push(clock.now())));
    await clock.runUntil(1000);
    assert.deepEqual(ran, [100, 150, 250, 400]);
    assert.equal(clock.now(), 1000);
  });

  it("wakes a paced wait early for a timer set from outside, due before the wait ends", async () => {
    const clock = new VirtualClock({ speed: 10_000, settleTurns: 1 });
    let ranAt = -1;
    // two check phases from now: the clock is then waiting (100 ms of wall time, ample for
    // two event-loop turns on a loaded machine) for 1 000 000; a wait not woken would run
    // the timer only at its end
    setImmediate(() => setImmediate(() => clock.after(5, () => (ranAt = clock.now()))));
    await clock.runUntil(1_000_000);
    assert.ok(ranAt >= 5 && ranAt < 1_000_000, `ran at ${ranAt}`);
    assert.equal(clock.now(), 1_000_000);
  });
});

describe("Random", () => {
  const draw = (random: Random, count: number) => Array.from({ length: count }, () => random.next());

  it("gives the same sequence for the same seed and another for another seed", () => {
    assert.deepEqual(draw(new Random(42), 5), draw(new Random(42), 5));
    assert.notDeepEqual(draw(new Random(42), 5), draw(new Random(43), 5));
    assert.ok(draw(new Random(1), 100).every((value) => Number.isInteger(value) && value >= 0 && value < 2 ** 32));
  });

  it("forks streams by label, whatever was drawn before", () => {
    const root = new Random(7);
    const first = draw(root.fork("device-1"), 4);
    draw(root, 10);
    assert.deepEqual(draw(root.fork("device-1"), 4), first);
    assert.notDeepEqual(draw(root.fork("device-2"), 4), first);
  });

  it("addresses the stream by index: floatAt(i) is the (i + 1)-th float()", () => {
    const random = new Random(99);
    const floats = Array.from({ length: 6 }, () => random.float());
    assert.deepEqual([5, 0, 3].map((i) => new Random(99).floatAt(i)), [floats[5], floats[0], floats[3]]);
  });

  it("draws normals with mean 0 and standard deviation 1", () => {
    const random = new Random(3);
    const samples = Array.from({ length: 20_000 }, () => random.normal());
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length);
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(sd - 1) < 0.03, `sd ${sd}`);
  });
});

describe("AirTemperature", () => {
  const air = new AirTemperature(new Random(11), { meanC: 18, amplitudeC: 6 });
  const days = Array.from({ length: 60 }, (_, day) => day);
  const averageAt = (hour: number) => days.reduce((sum, day) => sum + air.at(day * DAY_MS + hour * HOUR_MS), 0) / days.length;

  it("is coldest near 05:00 and warmest near 15:00 on average", () => {
    const profile = Array.from({ length: 24 }, (_, hour) => averageAt(hour));
    const coldest = profile.indexOf(Math.min(...profile));
    const warmest = profile.indexOf(Math.max(...profile));
    assert.ok(coldest >= 4 && coldest <= 6, `coldest at ${coldest}:00`);
    assert.ok(warmest >= 14 && warmest <= 16, `warmest at ${warmest}:00`);
    assert.ok(averageAt(15) - averageAt(5) > 9, `swing ${averageAt(15) - averageAt(5)}`);
  });

  it("stays in a plausible range and varies from day to day", () => {
    const samples = Array.from({ length: 60 * 24 }, (_, hour) => air.at(hour * HOUR_MS));
    assert.ok(Math.min(...samples) > 18 - 6 - 8 && Math.max(...samples) < 18 + 6 + 8);
    const noons = days.map((day) => air.at(day * DAY_MS + 12 * HOUR_MS));
    assert.ok(Math.max(...noons) - Math.min(...noons) > 1, "the weather drifts");
  });

  it("is a function of seed and time, whatever order it is asked in", () => {
    const t = 3 * DAY_MS + 7 * HOUR_MS + 123;
    const fresh = new AirTemperature(new Random(11), { meanC: 18, amplitudeC: 6 });
    assert.equal(fresh.at(t), air.at(t));
    assert.notEqual(new AirTemperature(new Random(12)).at(t), air.at(t));
  });
});

describe("SoilMoisture", () => {
  it("dries toward the floor with the configured half-life when nobody waters", () => {
    const soil = new SoilMoisture(new Random(1), { initialPercent: 65, floorPercent: 5, halfLifeDays: 3, thresholdPercent: null });
    assert.equal(soil.at(0), 65);
    assert.ok(Math.abs(soil.at(3 * DAY_MS) - 35) < 1e-9);
    assert.ok(Math.abs(soil.at(6 * DAY_MS) - 20) < 1e-9);
    assert.ok(soil.at(100 * DAY_MS) > 5 && soil.at(100 * DAY_MS) < 5.01);
    assert.deepEqual(soil.events(100 * DAY_MS), []);
  });

  it("is watered when it runs low, and the watering raises it", () => {
    const soil = new SoilMoisture(new Random(2), { thresholdPercent: 25, wateredToPercent: 80, wateredSpreadPercent: 5 });
    const events = soil.events(60 * DAY_MS);
    assert.ok(events.length >= 5, `${events.length} waterings in 60 days`);
    for (const event of events) {
      assert.equal(event.cause, "threshold");
      assert.ok(event.fromPercent < 25, `watered at ${event.fromPercent} %`);
      assert.ok(event.toPercent >= 75 && event.toPercent <= 85, `watered to ${event.toPercent} %`);
      assert.ok(soil.at(event.atMs - 1) < 25 && soil.at(event.atMs) === event.toPercent);
    }
    const hourly = Array.from({ length: 60 * 24 }, (_, hour) => soil.at(hour * HOUR_MS));
    assert.ok(hourly.every((percent) => percent >= 5 && percent <= 100));
  });

  it("waters on a schedule too", () => {
    const soil = new SoilMoisture(new Random(3), { thresholdPercent: null, scheduleMs: [2 * DAY_MS, DAY_MS] });
    const events = soil.events(10 * DAY_MS);
    assert.deepEqual(events.map((event) => [event.atMs, event.cause]), [[DAY_MS, "schedule"], [2 * DAY_MS, "schedule"]]);
    assert.ok(soil.at(DAY_MS) > soil.at(DAY_MS - 1));
  });

  it("gives the same waterings for the same seed, in any query order", () => {
    const forward = new SoilMoisture(new Random(4));
    const backward = new SoilMoisture(new Random(4));
    const times = Array.from({ length: 40 }, (_, day) => day * DAY_MS + 9 * HOUR_MS);
    const ahead = times.map((t) => forward.at(t));
    const behind = [...times].reverse().map((t) => backward.at(t)).reverse();
    assert.deepEqual(behind, ahead);
    assert.deepEqual(backward.events(40 * DAY_MS), forward.events(40 * DAY_MS));
    assert.notDeepEqual(new SoilMoisture(new Random(5)).events(40 * DAY_MS), forward.events(40 * DAY_MS));
  });
});

describe("AdcModel", () => {
  /** The board without ADC noise, so conversions can be compared exactly. */
  const quiet = (name: string): Board => {
    const board = loadBoard(name);
    return { ...board, adc: { ...board.adc, noiseLsb: 0 } };
  };
  const inputs = { airTemperatureC: 25, soilMoisturePercent: 50 };

  it("models the TMP36: 10 mV/°C, 750 mV at 25 °C", () => {
    assert.deepEqual([-40, 0, 25, 125].map(tmp36Millivolts), [100, 500, 750, 1750]);
  });

  it("divides the NodeMCU's A0 by 3.2 onto a 1 V, 10-bit ADC and clamps", () => {
    const adc = new AdcModel(quiet("nodemcu-v3"), new Random(1));
    assert.deepEqual([0, 1600, 3200, 3300, 5000, -200].map((mv) => adc.convert(mv)), [0, 512, 1023, 1023, 1023, 0]);
    const noisy = new AdcModel(loadBoard("nodemcu-v3"), new Random(1));
    const extremes = Array.from({ length: 500 }, (_, i) => noisy.convert(i % 2 === 0 ? 3200 : 0));
    assert.ok(extremes.every((raw) => raw >= 0 && raw <= 1023));
    assert.ok(extremes.includes(1023) && extremes.includes(0), "noise reaches the rails and is clamped there");
  });

  it("is linear inside the ESP32's range and bends below and above it", () => {
    const board = quiet("esp32-devkitc");
    const adc = new AdcModel(board, new Random(1));
    for (const mv of [150, 750, 1500, 2450]) assert.equal(adc.convert(mv), rawFromMillivolts(board, 0, mv), `${mv} mV`);
    assert.ok(adc.convert(75) < rawFromMillivolts(board, 0, 75) / 1.5, "dead zone near 0 V");
    assert.ok(adc.convert(3000) < rawFromMillivolts(board, 0, 3000) - 50, "compressed near full scale");
    const curve = [2450, 2700, 3000, 3300, 3600].map((mv) => adc.convert(mv));
    assert.deepEqual([...curve].sort((a, b) => a - b), curve);
    assert.equal(adc.convert(3750), 4095);
  });

  it("adds gaussian noise of the board's size", () => {
    const adc = new AdcModel(loadBoard("esp32-devkitc"), new Random(5));
    const readings = Array.from({ length: 4000 }, () => adc.convert(1000));
    const mean = readings.reduce((a, b) => a + b, 0) / readings.length;
    const sd = Math.sqrt(readings.reduce((a, b) => a + (b - mean) ** 2, 0) / readings.length);
    assert.ok(Math.abs(mean - 1321) < 1, `mean ${mean}`);
    assert.ok(sd > 5.5 && sd < 6.5, `sd ${sd}`);
  });

  it("reads each board's sensors on their channels: TMP36, moisture from the calibration", () => {
    for (const name of ["nodemcu-v3", "esp32-devkitc", "esp32-c3"]) {
      const board = quiet(name);
      const adc = new AdcModel(board, new Random(1));
      const { dryRaw, wetRaw } = board.calibration.moisture;
      assert.equal(adc.read(0, inputs), rawFromMillivolts(board, 0, 750), name);
      assert.ok(Math.abs(adc.read(1, { ...inputs, soilMoisturePercent: 0 }) - dryRaw) <= 1, name);
      assert.ok(Math.abs(adc.read(1, { ...inputs, soilMoisturePercent: 100 }) - wetRaw) <= 1, name);
      assert.ok(Math.abs(adc.read(1, inputs) - (dryRaw + wetRaw) / 2) <= 1, name);
    }
    assert.ok(moistureMillivolts(loadBoard("esp32-devkitc"), 0) > moistureMillivolts(loadBoard("esp32-devkitc"), 100));
  });

  it("maps NodeMCU channels through the mux and reads a free mux input as 0 V", () => {
    const adc = new AdcModel(quiet("nodemcu-v3"), new Random(1));
    assert.deepEqual([0, 1].map((channel) => [adc.sensorOn(channel)?.kind, adc.sensorOn(channel)?.mux?.input]), [
      ["tmp36", 0],
      ["soil-moisture", 1],
    ]);
    assert.equal(adc.sensorOn(5), undefined);
    assert.equal(adc.read(5, inputs), 0);
    assert.throws(() => adc.read(8, inputs), RangeError);
  });
});

/** A device end that records what happens to it and when. */
function recorder(clock: VirtualClock) {
  const events: string[] = [];
  const received: { at: number; bytes: Uint8Array }[] = [];
  const handlers = {
    onOpen: () => events.push(`open@${clock.now()}`),
    onData: (bytes: Uint8Array) => received.push({ at: clock.now(), bytes }),
    onClose: (reason: CloseReason) => events.push(`${reason}@${clock.now()}`),
  };
  return { events, received, handlers };
}

/** A broker end that echoes every byte back. */
function echo(duplex: Duplex): void {
  duplex.on("data", (chunk: Buffer) => duplex.write(chunk));
}

function echoLink(clock: VirtualClock, options: LinkOptions, seed = 1): NetworkLink {
  return new NetworkLink(clock, new Random(seed), echo, options);
}

const bytesOf = (chunks: { bytes: Uint8Array }[]) => Buffer.concat(chunks.map((chunk) => chunk.bytes));

describe("NetworkLink", () => {
  const slow = { latencyMs: 50, jitterMs: 20, bytesPerSecond: Infinity };

  it("delivers bytes in order, each at least one round trip after it was sent", async () => {
    const clock = new VirtualClock();
    const link = echoLink(clock, { up: slow, down: slow });
    const device = recorder(clock);
    link.open(device.handlers);
    await clock.runUntil(1000);
    const opened = Number(device.events[0].split("@")[1]);
    assert.ok(opened >= 100 && opened <= 140, device.events[0]);
    const sentAt: number[] = [];
    for (let i = 0; i < 50; i++) {
      clock.setTimer(1000 + i * 7, () => {
        sentAt.push(clock.now());
        assert.equal(link.send(Uint8Array.of(i, i + 1)), 2);
      });
    }
    await clock.runUntil(3000);
    const expected = Uint8Array.from({ length: 100 }, (_, k) => (k >> 1) + (k & 1));
    assert.deepEqual(new Uint8Array(bytesOf(device.received)), expected);
    for (const [i, { at }] of device.received.entries()) assert.ok(at >= sentAt[i] + 100, `chunk ${i} at ${at}`);
    assert.deepEqual([link.stats.bytesUp, link.stats.bytesDown], [100, 100]);
  });

  it("takes transmission time at the configured bandwidth and limits the send buffer", async () => {
    const clock = new VirtualClock();
    const narrow = { latencyMs: 10, jitterMs: 0, bytesPerSecond: 1000 };
    const link = echoLink(clock, { up: narrow, down: { ...narrow, bytesPerSecond: Infinity }, sendBufferBytes: 600 });
    const device = recorder(clock);
    link.open(device.handlers);
    await clock.runUntil(20);
    assert.equal(link.send(new Uint8Array(500)), 500);
    assert.equal(link.send(new Uint8Array(500)), 100);
    await clock.runUntil(10_000);
    assert.equal(bytesOf(device.received).length, 600);
    assert.equal(device.received.at(-1)?.at, 20 + 600 + 10 + 10);
  });

  it("refuses connections during an outage and drops the one that was open", async () => {
    const clock = new VirtualClock();
    const link = echoLink(clock, { up: slow, down: slow });
    const device = recorder(clock);
    link.script([{ at: 1000, do: "outage", durationMs: 5000 }]);
    link.open(device.handlers);
    clock.setTimer(2000, () => link.open(device.handlers));
    clock.setTimer(7000, () => link.open(device.handlers));
    await clock.runUntil(8000);
    assert.deepEqual(device.events.map((event) => event.split("@")[0]), ["open", "reset", "refused", "open"]);
    assert.equal(device.events[1], "reset@1000");
    assert.equal(device.events[2], "refused@2100");
    assert.deepEqual([link.stats.connects, link.stats.drops, link.stats.refused], [2, 1, 1]);
    assert.equal(link.state, "open");
  });

  it("holds bytes through a black-hole outage without telling either end", async () => {
    const clock = new VirtualClock();
    const fixed = { latencyMs: 50, jitterMs: 0, bytesPerSecond: Infinity };
    const link = echoLink(clock, { up: fixed, down: fixed });
    const device = recorder(clock);
    link.open(device.handlers);
    link.script([{ at: 1000, do: "outage", durationMs: 30_000, mode: "blackhole" }]);
    clock.setTimer(1010, () => link.send(Uint8Array.of(1, 2, 3)));
    await clock.runUntil(40_000);
    assert.deepEqual(device.events, ["open@100"]);
    assert.deepEqual(device.received.map(({ at }) => at), [31_100]);
  });

  it("tells the device when the broker closes, and the broker when the device closes", async () => {
    const clock = new VirtualClock();
    const fixed = { latencyMs: 50, jitterMs: 0, bytesPerSecond: Infinity };
    const brokerEnds: Duplex[] = [];
    const link = new NetworkLink(clock, new Random(1), (duplex) => brokerEnds.push(duplex), { up: fixed, down: fixed });
    const device = recorder(clock);
    link.open(device.handlers);
    await clock.runUntil(200);
    brokerEnds[0].end(Uint8Array.of(9));
    await clock.runUntil(400);
    assert.deepEqual(device.events, ["open@100", "closed@250"]);
    assert.deepEqual([...bytesOf(device.received)], [9]);

    link.open(device.handlers);
    await clock.runUntil(600);
    let endedAt = -1;
    brokerEnds[1].on("end", () => (endedAt = clock.now()));
    brokerEnds[1].resume();
    link.close();
    await clock.runUntil(800);
    assert.equal(endedAt, 650);
    assert.deepEqual(device.events, ["open@100", "closed@250", "open@500"]);
  });

  it("drops connections at random at the configured rate, the same way for the same seed", async () => {
    const run = async (seed: number) => {
      const clock = new VirtualClock();
      const link = echoLink(clock, { dropsPerHour: 6 }, seed);
      const device = recorder(clock);
      const connect = (): void =>
        link.open({ ...device.handlers, onClose: (reason) => {
          device.handlers.onClose(reason);
          clock.after(1000, connect);
        } });
      connect();
      await clock.runUntil(10 * 3_600_000);
      return { drops: link.stats.drops, events: device.events };
    };
    const first = await run(21);
    assert.ok(first.drops >= 30 && first.drops <= 95, `${first.drops} drops in 10 h`);
    assert.deepEqual(await run(21), first);
    assert.notDeepEqual((await run(22)).events, first.events);
  });

  it("serves an in-process aedes broker through the broker-side Duplex", async () => {
    const clock = new VirtualClock();
    const broker = aedes.createBroker();
    try {
      const link = new NetworkLink(clock, new Random(1), (duplex) => broker.handle(duplex));
      const device = recorder(clock);
      link.open({ ...device.handlers, onOpen: () => {
        device.handlers.onOpen();
        // CONNECT: MQTT 3.1.1, clean session, keepalive 60 s, client id "sim"
        link.send(Uint8Array.of(0x10, 15, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 3, 0x73, 0x69, 0x6d));
      } });
      await clock.runUntil(1000);
      // CONNACK: session not present, accepted
      assert.deepEqual([...bytesOf(device.received)], [0x20, 2, 0, 0]);
      link.close();
      await clock.runUntil(2000);
    } finally {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  });
});
