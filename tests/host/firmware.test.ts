/**
 * The telemetry firmware inside the module (assembly/firmware/), driven on the virtual
 * bench: its CONNECT and will, status and command topics, readings converted from the
 * ADC and published as JSON, report-by-exception, commands switching GPIOs, and
 * readings queued in order through an outage. Reads build/ (`npm test` builds first).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Event, ModuleBench, Status } from "./support/module-bench.ts";
import { PacketType, connack, packetIdOf, parseConnectDetails, parsePublish, parseSubscribe, puback, publish, suback, type Packet } from "./support/mqtt-packets.ts";
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
