/**
 * The telemetry firmware inside the module (assembly/firmware/), driven on the virtual
 * bench: its CONNECT and will, status and command topics, readings converted from the
 * ADC and published as JSON, report-by-exception, commands switching GPIOs, and
 * readings queued in order through an outage. Reads build/ (`npm test` builds first).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Event, ModuleBench, Status } from "./support/module-bench.ts";
import { PacketType, connack, packetIdOf, parseConnectDetails, parsePublish, parseSubscribe, puback, publish, pubrec, suback, type Packet } from "./support/mqtt-packets.ts";
import { type Reading } from "./support/telemetry.ts";

/** nodemcu-v3: 10-bit ADC, 1 V full scale at the chip, 3.2 divider; TMP36 on 0, moisture on 1; LED GPIO2 active low, relay GPIO5. */
const NODEMCU = { bits: 10, referenceMv: 1000, dividerPermille: 3200, tmp36: 0, moisture: 1, dryRaw: 767, wetRaw: 352, led: 2, relay: 5, flags: 1 };
const INTERVAL_SEC = 10;


/** A bench running the firmware as device `id`, CONNECT sent (not yet accepted). */
function device(id = "d1", deadbandCenti = 0, deadbandPercent = 0, telemetryQos = 1): ModuleBench {
  const bench = new ModuleBench("nodemcu", 0, "telemetry");
  const b = NODEMCU;
  assert.equal(bench.exports.boardConfigure(b.bits, b.referenceMv, b.dividerPermille, b.tmp36, b.moisture, b.dryRaw, b.wetRaw, b.led, b.relay, b.flags), Status.OK);
  bench.adc.set(b.tmp36, 240); // 750.7 mV at A0: 25.07 °C
  bench.adc.set(b.moisture, 560); // 50 %
  bench.stage(new TextEncoder().encode(id));
  assert.equal(bench.exports.appConfigure(id.length, INTERVAL_SEC, deadbandCenti, deadbandPercent, 0, telemetryQos), Status.OK); // no keepalive: the bench plays no PINGRESP
  assert.equal(bench.exports.appStart(bench.now), Status.OK);
  bench.exports.netUp(bench.now);
  return bench;
}

/** Accepts the connection, acknowledges the command subscription, and ticks once. */
function accept(bench: ModuleBench): void {
  bench.receive(connack(false, 0));
  const subscribe = bench.sentOfType(PacketType.SUBSCRIBE).at(-1)!;
  bench.receive(suback(packetIdOf(subscribe), [1]));
  bench.advance(0);
}

const publishes = (bench: ModuleBench, suffix: string): Packet[] =>
  bench.sentOfType(PacketType.PUBLISH).filter((p) => parsePublish(p).topic.endsWith(suffix));
const readings = (bench: ModuleBench): Reading[] =>
  publishes(bench, "/telemetry").map((p) => JSON.parse(new TextDecoder().decode(parsePublish(p).payload)) as Reading);

/** Acknowledges every QoS 1 PUBLISH sent so far. */
function ackAll(bench: ModuleBench): void {
  for (const p of bench.sentOfType(PacketType.PUBLISH)) {
    const { packetId } = parsePublish(p);
    if (packetId) bench.receive(puback(packetId));
  }
}

describe("telemetry firmware", () => {
  it("connects as the device with a retained offline will and subscribes to its command topic", () => {
    const bench = device("greenhouse-7");
    const connect = parseConnectDetails(bench.sent[0]);
    assert.equal(connect.clientId, "greenhouse-7");
    assert.equal(connect.cleanSession, false);
    assert.deepEqual(connect.will && { ...connect.will, payload: new TextDecoder().decode(connect.will.payload) }, {
      topic: "devices/greenhouse-7/status",
      payload: "offline",
      qos: 1,
      retain: true,
    });
    bench.receive(connack(false, 0));
    assert.deepEqual(parseSubscribe(bench.sentOfType(PacketType.SUBSCRIBE)[0]).filters, [{ topic: "devices/greenhouse-7/cmd", qos: 1 }]);
  });

  it("announces online (retained) on every connection and publishes readings converted from the ADC", () => {
    const bench = device();
    accept(bench);
    const status = publishes(bench, "/status").map(parsePublish);
    assert.deepEqual(status.map((p) => [new TextDecoder().decode(p.payload), p.retain, p.qos]), [["online", true, 1]]);
    assert.deepEqual(readings(bench), [{ seq: 1, temperature_c: 25.07, moisture_pct: 50, relay: false, led: false, uptime_s: 0 }]);
    assert.equal(bench.gpio.get(NODEMCU.led), 1, "LED off is a high pin (active low)");
    assert.equal(bench.gpio.get(NODEMCU.relay), 0);
    bench.adc.set(NODEMCU.tmp36, 256); // 800.8 mV: 30.08 °C
    bench.run(INTERVAL_SEC * 1000);
    assert.deepEqual(readings(bench).at(-1), { seq: 2, temperature_c: 30.08, moisture_pct: 50, relay: false, led: false, uptime_s: 10 });
    ackAll(bench);
    bench.exports.netDown(bench.now, 0);
    bench.run(5000);
    bench.exports.netUp(bench.now);
    bench.receive(connack(true, 0));
    bench.advance(0);
    assert.equal(publishes(bench, "/status").length, 2, "online not announced again after reconnecting");
  });

  it("publishes only past the deadband, with a heartbeat every 10 readings", () => {
    const bench = device("d1", 50, 5); // 0.5 °C, 5 %
    accept(bench);
    bench.run(9 * INTERVAL_SEC * 1000); // 9 more readings, nothing moved
    assert.equal(readings(bench).length, 1);
    bench.adc.set(NODEMCU.moisture, 530); // 57 %
    bench.run(INTERVAL_SEC * 1000);
    assert.deepEqual(readings(bench).map((r) => r.moisture_pct), [50, 57]);
    bench.run(10 * INTERVAL_SEC * 1000);
    assert.equal(readings(bench).length, 3, "no heartbeat after 10 quiet readings");
    const stats = new Uint32Array(bench.exports.memory.buffer, bench.exports.appStatsBuffer(), 14);
    assert.equal(stats[5], 21, "readings");
    assert.equal(stats[6], 3, "published");
    assert.equal(stats[7], 18, "suppressed");
  });

  it("applies commands: outputs at once, a reading right after, a new interval", () => {
    const bench = device();
    accept(bench);
    bench.receive(publish({ topic: "devices/d1/cmd", payload: '{"relay":true,"led":true}', qos: 1, packetId: 7 }));
    assert.equal(bench.gpio.get(NODEMCU.relay), 1);
    assert.equal(bench.gpio.get(NODEMCU.led), 0, "LED on is a low pin");
    bench.advance(1);
    assert.deepEqual(readings(bench).at(-1)?.relay, true, "no reading after the command");
    bench.receive(publish({ topic: "devices/d1/cmd", payload: '{"interval_s":60}', qos: 1, packetId: 8 }));
    const before = readings(bench).length;
    bench.run(59_000);
    assert.equal(readings(bench).length, before, "read before the new interval");
    bench.run(1_000);
    assert.equal(readings(bench).length, before + 1);
    bench.receive(publish({ topic: "devices/d1/cmd", payload: "reboot", qos: 1, packetId: 9 }));
    const stats = new Uint32Array(bench.exports.memory.buffer, bench.exports.appStatsBuffer(), 14);
    assert.deepEqual([stats[9], stats[10]], [2, 1], "commands, bad commands");
    assert.deepEqual(bench.sentOfType(PacketType.PUBACK).map(packetIdOf), [7, 8, 9], "commands acknowledged");
  });

  it("queues readings through an outage and delivers them in order, refusing what the outbox cannot hold", () => {
    const bench = device();
    accept(bench);
    ackAll(bench);
    bench.exports.setReconnect(3_600_000, 3_600_000, 1); // stay down for an hour
    bench.exports.netDown(bench.now, 0);
    bench.run(3_600_000);
    assert.equal(bench.netOpens, 2, "the reconnect did not come after the hour");
    const stats = new Uint32Array(bench.exports.memory.buffer, bench.exports.appStatsBuffer(), 14);
    const queued = stats[6] - 1;
    assert.ok(queued > 10, `only ${queued} readings queued`);
    assert.ok(stats[8] > 0, "a 3 KiB outbox cannot hold an hour of readings: some must be refused");
    assert.equal(stats[5], stats[6] + stats[8], "every reading is published or counted as refused");
    bench.exports.netUp(bench.now);
    bench.receive(connack(true, 0));
    for (let i = 0; i < 20; i++) {
      ackAll(bench);
      bench.advance(1);
    }
    const seqs = readings(bench).map((r) => r.seq);
    const unique = [...new Set(seqs)];
    assert.deepEqual(unique, Array.from({ length: stats[6] }, (_, i) => i + 1), "a reading went missing or out of order");
    assert.equal(bench.eventsOf(Event.PUBLISH_DONE).length >= stats[6], true);
  });

  it("publishes readings at the configured QoS and refuses QoS 3", () => {
    const bench = device("q2", 0, 0, 2);
    accept(bench);
    assert.deepEqual(publishes(bench, "/telemetry").map((p) => parsePublish(p).qos), [2]);
    const other = new ModuleBench("nodemcu", 0, "telemetry");
    const b = NODEMCU;
    other.exports.boardConfigure(b.bits, b.referenceMv, b.dividerPermille, b.tmp36, b.moisture, b.dryRaw, b.wetRaw, b.led, b.relay, b.flags);
    other.stage(new TextEncoder().encode("q3"));
    assert.equal(other.exports.appConfigure(2, INTERVAL_SEC, 0, 0, 0, 3), Status.INVALID_QOS);
  });

  it("keeps uptime when the host clock steps back", () => {
    const bench = device();
    accept(bench);
    bench.run(60_000);
    bench.now = (bench.now - 30_000) >>> 0; // e.g. an NTP correction
    bench.run(INTERVAL_SEC * 1000);
    const uptime = readings(bench).at(-1)!.uptime_s;
    assert.ok(uptime >= 60 && uptime <= 80, `uptime ${uptime} s after 70 s of running`);
  });

  it("is configured again over a restored session whose command subscription still awaits its SUBACK, which the module sends again", () => {
    // the SUBSCRIBE went out, its SUBACK did not come: the saved table holds the filter awaiting it
    const bench = device("d1");
    bench.receive(connack(false, 0));
    assert.equal(bench.sentOfType(PacketType.SUBSCRIBE).length, 1);
    const base = bench.exports.persistBase();
    const length = bench.exports.persistLength();
    assert.ok(bench.exports.persistPrepare() >= 0);
    const image = new Uint8Array(bench.exports.memory.buffer, base, length).slice();

    // a reboot: the firmware's state is gone, the session comes back, then the firmware is configured as at boot
    bench.exports.netDown(bench.now, 0);
    bench.exports.init();
    new Uint8Array(bench.exports.memory.buffer, base, length).set(image);
    assert.equal(bench.exports.persistRestore(bench.now), Status.OK);
    const b = NODEMCU;
    assert.equal(bench.exports.boardConfigure(b.bits, b.referenceMv, b.dividerPermille, b.tmp36, b.moisture, b.dryRaw, b.wetRaw, b.led, b.relay, b.flags), Status.OK);
    bench.stage(new TextEncoder().encode("d1"));
    assert.equal(bench.exports.appConfigure(2, INTERVAL_SEC, 0, 0, 0, 1), Status.OK);
    assert.equal(bench.exports.appStart(bench.now), Status.OK);
    bench.exports.netUp(bench.now);
    bench.receive(connack(false, 0));
    bench.advance(0);
    const subscribes = bench.sentOfType(PacketType.SUBSCRIBE);
    assert.equal(subscribes.length, 2, "the restored SUBSCRIBE goes out again, once");
    assert.deepEqual(parseSubscribe(subscribes[1]).filters.map((filter) => filter.topic), ["devices/d1/cmd"]);
  });
});

const SLEEP_INTERVAL_SEC = 60;
const payloadText = (p: Packet): string => new TextDecoder().decode(parsePublish(p).payload);
const appStat = (bench: ModuleBench, index: number): number => new Uint32Array(bench.exports.memory.buffer, bench.exports.appStatsBuffer(), 17)[index];
const AppStat = { intervalSec: 1, sequence: 4, badCommands: 10, uptimeSec: 13, sleep: 14, wakes: 15, asleep: 16 } as const;

/** A bench running the firmware with deep sleep on, CONNECT sent (not yet accepted). */
function sleeper(telemetryQos = 1, id = "s1"): ModuleBench {
  const bench = new ModuleBench("nodemcu", 0, "telemetry");
  const b = NODEMCU;
  assert.equal(bench.exports.boardConfigure(b.bits, b.referenceMv, b.dividerPermille, b.tmp36, b.moisture, b.dryRaw, b.wetRaw, b.led, b.relay, b.flags), Status.OK);
  bench.adc.set(b.tmp36, 240);
  bench.adc.set(b.moisture, 560);
  bench.stage(new TextEncoder().encode(id));
  assert.equal(bench.exports.appConfigure(id.length, SLEEP_INTERVAL_SEC, 0, 0, 0, telemetryQos), Status.OK);
  assert.equal(bench.exports.appSetSleep(1), Status.OK);
  assert.equal(bench.exports.appStart(bench.now), Status.OK);
  bench.exports.netUp(bench.now);
  return bench;
}

/** The save image the block holds now (after the SLEEP event). */
function image(bench: ModuleBench): Uint8Array {
  return new Uint8Array(bench.exports.memory.buffer, bench.exports.persistBase(), bench.exports.persistLength()).slice();
}

/** A fresh module whose clock starts at `startAt`, the image restored into it and appStart called: only the block crossed the sleep. */
function wakeFrom(saved: Uint8Array, startAt: number): ModuleBench {
  const bench = new ModuleBench("nodemcu", startAt, "telemetry");
  new Uint8Array(bench.exports.memory.buffer, bench.exports.persistBase(), saved.length).set(saved);
  assert.equal(bench.exports.persistRestore(bench.now), Status.OK);
  assert.equal(bench.exports.appStart(bench.now), Status.OK, "a wake needs no boardConfigure or appConfigure");
  bench.exports.netUp(bench.now);
  return bench;
}

describe("telemetry firmware in deep sleep", () => {
  it("reads, publishes, waits for the ack, says when it wakes, DISCONNECTs and asks to sleep until the next reading", () => {
    const bench = sleeper();
    bench.receive(connack(false, 0));
    bench.receive(suback(packetIdOf(bench.sentOfType(PacketType.SUBSCRIBE)[0]), [1]));
    bench.advance(0);
    assert.deepEqual(readings(bench).map((r) => r.seq), [1]);
    assert.equal(publishes(bench, "/status").length, 0, "no online status while the reading awaits its ack");
    bench.advance(200);
    assert.equal(bench.eventsOf(Event.SLEEP).length, 0, "slept before the reading was acknowledged");
    bench.receive(puback(parsePublish(publishes(bench, "/telemetry")[0]).packetId!));
    bench.advance(0);
    const status = publishes(bench, "/status").map(parsePublish);
    assert.deepEqual(status.map((p) => [new TextDecoder().decode(p.payload), p.retain, p.qos]), [["sleeping 59", true, 1]]);
    assert.equal(bench.eventsOf(Event.SLEEP).length, 0, "slept before the status was acknowledged");
    bench.advance(100);
    bench.receive(puback(status[0].packetId!));
    bench.advance(0);
    assert.equal(bench.sent.at(-1)?.type, PacketType.DISCONNECT, "no clean DISCONNECT (the will would fire)");
    assert.equal(bench.netCloses, 1);
    const [sleep] = bench.eventsOf(Event.SLEEP);
    assert.equal(sleep.arg, SLEEP_INTERVAL_SEC * 1000 - 300, "the next reading is due one interval after the wake");
    assert.equal(bench.exports.persistCheck(bench.exports.persistBase(), bench.exports.persistLength()), sleep.code, "the block is the image of the event's sequence number");
    assert.deepEqual([appStat(bench, AppStat.sleep), appStat(bench, AppStat.asleep), appStat(bench, AppStat.wakes)], [1, 1, 0]);
    assert.equal(bench.eventsOf(Event.CLOSED).length, 1);
  });

  it("wakes in a fresh module from the image alone: the wake counted, seq, uptime and outputs kept, no SUBSCRIBE again", () => {
    const bench = sleeper();
    bench.receive(connack(false, 0));
    bench.receive(suback(packetIdOf(bench.sentOfType(PacketType.SUBSCRIBE)[0]), [1]));
    bench.receive(publish({ topic: "devices/s1/cmd", payload: '{"relay":true}', qos: 1, packetId: 3 }));
    bench.advance(0);
    for (let round = 0; round < 3; round++) {
      ackAll(bench);
      bench.advance(0);
    }
    const [sleep] = bench.eventsOf(Event.SLEEP);
    assert.ok(sleep !== undefined, "did not sleep once everything was acknowledged");
    const woken = wakeFrom(image(bench), 123_456); // a board's clock starts again after deep sleep
    assert.equal(parseConnectDetails(woken.sent[0]).clientId, "s1");
    assert.equal(woken.gpio.get(NODEMCU.relay), 1, "the relay is driven again as the command left it");
    woken.receive(connack(true, 0));
    woken.advance(0);
    assert.equal(woken.sentOfType(PacketType.SUBSCRIBE).length, 0, "the granted subscription came back with the block");
    const reading = readings(woken).at(-1)!;
    assert.deepEqual([reading.seq, reading.relay, reading.uptime_s], [2, true, SLEEP_INTERVAL_SEC], "seq 1 went before the sleep; uptime counts the sleep");
    assert.deepEqual([appStat(woken, AppStat.wakes), appStat(woken, AppStat.asleep)], [1, 0]);
  });

  it("sleeps when the budget runs out, keeping what was not acknowledged: QoS 1 resent with DUP, QoS 2 goes on with its PUBREL", () => {
    const q1 = sleeper(1);
    q1.run(10_000); // no CONNACK: the broker does not answer
    const [sleep1] = q1.eventsOf(Event.SLEEP);
    assert.equal(sleep1?.arg, SLEEP_INTERVAL_SEC * 1000 - 10_000, "did not give up after the 10 s budget");
    const woken1 = wakeFrom(image(q1), 0);
    woken1.receive(connack(true, 0));
    woken1.receive(suback(packetIdOf(woken1.sentOfType(PacketType.SUBSCRIBE)[0]), [1]));
    woken1.advance(0);
    assert.deepEqual(publishes(woken1, "/telemetry").map((p) => [parsePublish(p).dup, JSON.parse(payloadText(p)).seq]), [[false, 1], [false, 2]], "seq 1 was never sent: it goes first, then the wake's own");

    const q2 = sleeper(2, "s2");
    q2.receive(connack(false, 0));
    q2.receive(suback(packetIdOf(q2.sentOfType(PacketType.SUBSCRIBE)[0]), [1]));
    q2.advance(0);
    const id = parsePublish(publishes(q2, "/telemetry")[0]).packetId!;
    q2.receive(pubrec(id));
    q2.advance(0);
    assert.equal(q2.sentOfType(PacketType.PUBREL).length, 1);
    q2.run(10_000); // no PUBCOMP
    assert.equal(q2.eventsOf(Event.SLEEP).length, 1);
    const woken2 = wakeFrom(image(q2), 0);
    woken2.receive(connack(true, 0));
    woken2.advance(0);
    assert.deepEqual(woken2.sentOfType(PacketType.PUBREL).map(packetIdOf), [id], "the PUBREL owed is sent again");
    assert.deepEqual(readings(woken2).map((r) => r.seq), [2], "the QoS 2 reading was sent again as a PUBLISH after its PUBREC");
  });

  it("needs an interval of at least 30 s, also from a command", () => {
    const configured = (intervalSec: number, sleepFirst = false): { bench: ModuleBench; status: number } => {
      const bench = new ModuleBench("nodemcu", 0, "telemetry");
      const b = NODEMCU;
      bench.exports.boardConfigure(b.bits, b.referenceMv, b.dividerPermille, b.tmp36, b.moisture, b.dryRaw, b.wetRaw, b.led, b.relay, b.flags);
      if (sleepFirst) assert.equal(bench.exports.appSetSleep(1), Status.INVALID_ARGUMENT, "on before appConfigure");
      bench.stage(new TextEncoder().encode("s3"));
      assert.equal(bench.exports.appConfigure(2, intervalSec, 0, 0, 0, 1), Status.OK);
      return { bench, status: bench.exports.appSetSleep(1) };
    };
    assert.equal(configured(29, true).status, Status.INVALID_ARGUMENT, "on with a 29 s interval");
    const { bench, status } = configured(30);
    assert.equal(status, Status.OK);
    assert.equal(bench.exports.appStart(bench.now), Status.OK);
    assert.equal(bench.exports.appSetSleep(0), Status.INVALID_STATE, "changed while running");
    bench.exports.netUp(bench.now);
    bench.receive(connack(false, 0));
    bench.receive(publish({ topic: "devices/s3/cmd", payload: '{"interval_s":29,"led":true}', qos: 1, packetId: 5 }));
    assert.deepEqual([appStat(bench, AppStat.intervalSec), appStat(bench, AppStat.badCommands)], [30, 1], "a 29 s interval applied");
    assert.notEqual(bench.gpio.get(NODEMCU.led), 0, "a refused command switched the LED");
    bench.receive(publish({ topic: "devices/s3/cmd", payload: '{"interval_s":45}', qos: 1, packetId: 6 }));
    assert.equal(appStat(bench, AppStat.intervalSec), 45);
  });

  it("wakes itself when the host keeps the module running instead of powering it down", () => {
    const bench = sleeper();
    bench.receive(connack(false, 0));
    bench.receive(suback(packetIdOf(bench.sentOfType(PacketType.SUBSCRIBE)[0]), [1]));
    bench.advance(0);
    for (let round = 0; round < 3; round++) {
      ackAll(bench);
      bench.advance(0);
    }
    const [sleep] = bench.eventsOf(Event.SLEEP);
    assert.equal(bench.netOpens, 1);
    bench.run(sleep.arg - 1);
    assert.equal(bench.netOpens, 1, "woke before the interval was over");
    bench.run(1);
    assert.equal(bench.netOpens, 2, "did not wake after the interval");
    bench.exports.netUp(bench.now);
    bench.receive(connack(true, 0));
    bench.advance(0);
    assert.deepEqual(readings(bench).map((r) => [r.seq, r.uptime_s]), [[1, 0], [2, SLEEP_INTERVAL_SEC]]);
    assert.deepEqual([appStat(bench, AppStat.wakes), appStat(bench, AppStat.asleep)], [1, 0]);
  });
});
