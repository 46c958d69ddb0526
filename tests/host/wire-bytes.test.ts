/**
 * Bytes on the wire for a telemetry reading: the telemetry firmware (nodemcu profile) as
 * device nodemcu-v3-1 on the virtual bench, its readings' PUBLISH packets measured under
 * MQTT 3.1.1, MQTT 5.0, and MQTT 5.0 with Topic Aliases (the first reading maps the
 * alias, the later ones leave the topic out). The README's table ("Bytes on the wire") must
 * hold exactly these figures, so it cannot go stale. Reads build/.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ModuleBench, Status } from "./support/module-bench.ts";
import { PacketType, connack, packetIdOf, puback, suback, type Packet } from "./support/mqtt-packets.ts";
import { ack5, connack5, parsePublish5, prop, suback5 } from "./support/mqtt5-packets.ts";

const DEVICE = "nodemcu-v3-1";
const TOPIC = `devices/${DEVICE}/telemetry`;
/** nodemcu-v3's board file: 10-bit ADC, 1 V at the chip, 3.2 divider; TMP36 on 0, moisture on 1; LED GPIO2 active low, relay GPIO5. */
const NODEMCU = { bits: 10, referenceMv: 1000, dividerPermille: 3200, tmp36: 0, moisture: 1, dryRaw: 767, wetRaw: 352, led: 2, relay: 5, flags: 1 };
const INTERVAL_SEC = 10;

type Mode = "3.1.1" | "5.0" | "5.0 alias";

/** The firmware's first two telemetry PUBLISHes (QoS 1) on one connection in this mode. */
function readings(mode: Mode): Packet[] {
  const bench = new ModuleBench("nodemcu", 0, "telemetry");
  const b = NODEMCU;
  assert.equal(bench.exports.boardConfigure(b.bits, b.referenceMv, b.dividerPermille, b.tmp36, b.moisture, b.dryRaw, b.wetRaw, b.led, b.relay, b.flags), Status.OK);
  bench.adc.set(b.tmp36, 240); // 25.07 °C
  bench.adc.set(b.moisture, 560); // 50 %
  const v5 = mode !== "3.1.1";
  if (v5) assert.equal(bench.exports.setProtocol(5, 0xffff, 0xffffffff, 0xffff, 0, mode === "5.0 alias" ? 1 : 0), Status.OK);
  bench.stage(new TextEncoder().encode(DEVICE));
  assert.equal(bench.exports.appConfigure(DEVICE.length, INTERVAL_SEC, 0, 0, 0, 1), Status.OK);
  assert.equal(bench.exports.appStart(bench.now), Status.OK);
  bench.exports.netUp(bench.now);
  // Mosquitto's CONNACK allows 10 Topic Aliases (its max_topic_alias default)
  bench.receive(v5 ? connack5({ properties: [prop.topicAliasMaximum(10)] }) : connack(false, 0));
  const subscribe = bench.sentOfType(PacketType.SUBSCRIBE).at(-1)!;
  bench.receive(v5 ? suback5(packetIdOf(subscribe), [1]) : suback(packetIdOf(subscribe), [1]));
  bench.advance(0);
  const ackAll = (): void => {
    for (const p of bench.sentOfType(PacketType.PUBLISH)) bench.receive(v5 ? ack5(PacketType.PUBACK, packetIdOf(p), 0) : puback(packetIdOf(p)));
  };
  ackAll();
  bench.run(INTERVAL_SEC * 1000);
  const telemetry = bench.sentOfType(PacketType.PUBLISH).filter((p) => {
    const topicLen = (p.body[0] << 8) | p.body[1];
    // an empty topic: an alias mapped before, which only the repeated telemetry topic gets
    return topicLen === 0 || new TextDecoder().decode(p.body.subarray(2, 2 + topicLen)) === TOPIC;
  });
  assert.equal(telemetry.length, 2, `two readings in mode ${mode}`);
  return telemetry;
}

/** The payload of a 5.0 PUBLISH (or a 3.1.1 one: no property block). */
function payloadOf(p: Packet, v5: boolean): Uint8Array {
  if (v5) return parsePublish5(p).payload;
  const topicLen = (p.body[0] << 8) | p.body[1];
  return p.body.subarray(2 + topicLen + 2);
}

/** The README's "Bytes on the wire" table: label → [packet bytes, bytes besides the payload]. */
function readmeTable(): Map<string, [number, number]> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.split("\n### Bytes on the wire\n")[1]?.split("\n#")[0];
  assert.ok(section !== undefined, "README.md has no \"### Bytes on the wire\" section");
  const rows = new Map<string, [number, number]>();
  for (const line of section.split("\n")) {
    const cells = /^\| (.+?) \| (\d+) \| (\d+) \|$/.exec(line);
    if (cells) rows.set(cells[1], [Number(cells[2]), Number(cells[3])]);
  }
  return rows;
}

test("the README's bytes-on-the-wire table holds what the firmware sends under 3.1.1, 5.0, and 5.0 with a Topic Alias", () => {
  const [v311First, v311] = readings("3.1.1");
  const [, v5] = readings("5.0");
  const [aliasFirst, aliasLater] = readings("5.0 alias");
  const payload = payloadOf(v311, false);
  const reading = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  assert.deepEqual(reading, { seq: 2, temperature_c: 25.07, moisture_pct: 50, relay: false, led: false, uptime_s: 10 });
  // every later reading carries the same payload bytes in each mode
  assert.deepEqual(payloadOf(v5, true), payload);
  assert.deepEqual(payloadOf(aliasLater, true), payload);
  // the first reading differs only in seq and uptime ("uptime_s":0): one byte shorter
  assert.equal(payloadOf(v311First, false).length, payload.length - 1);
  assert.equal(payloadOf(aliasFirst, true).length, payload.length - 1);
  // the alias: mapped with the full topic first, the topic left out after
  assert.equal(parsePublish5(aliasFirst).topic, TOPIC);
  assert.equal(parsePublish5(aliasLater).topic, "");
  assert.deepEqual([...parsePublish5(aliasLater).properties], [0x23, 0, 2], "alias 2: the status topic's \"online\" took 1");

  // first use measured on reading 1, shown for reading 2's payload: + 1 byte
  const measured: [string, number, number][] = [
    ["MQTT 3.1.1", v311.bytes.length, v311.bytes.length - payload.length],
    ["MQTT 5.0", v5.bytes.length, v5.bytes.length - payload.length],
    ["MQTT 5.0, Topic Alias: first use", aliasFirst.bytes.length + 1, aliasFirst.bytes.length - (payload.length - 1)],
    ["MQTT 5.0, Topic Alias: later uses", aliasLater.bytes.length, aliasLater.bytes.length - payload.length],
  ];
  const table = readmeTable();
  assert.deepEqual(
    measured.map(([label]) => [label, table.get(label)]),
    measured.map(([label, bytes, overhead]) => [label, [bytes, overhead]]),
    `the README's table should read:\n${measured.map(([label, bytes, overhead]) => `| ${label} | ${bytes} | ${overhead} |`).join("\n")}`,
  );
  const text = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  assert.ok(text.includes(`\`${new TextDecoder().decode(payload)}\` (${payload.length} bytes)`), "the README quotes the payload measured");
});
