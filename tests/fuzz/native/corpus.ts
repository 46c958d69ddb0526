/**
 * The native fuzz target's seed corpus: valid broker → client streams in the harness's
 * input format (tests/fuzz/native/harness.c: a 4-byte header, then the broker's bytes),
 * written at run time, one file per seed.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  PacketType, concat, connack, pingresp, puback, pubcomp, publish, pubrec, pubrel, suback, unsuback,
} from "../../host/support/mqtt-packets.ts";
import { ack5, auth5, connack5, disconnect5, prop, publish5, suback5, unsuback5 } from "../../host/support/mqtt5-packets.ts";

/** The header's mode bits (harness.c). */
const Mode = { ownConnack: 1, session: 2, requests: 4, throttle: 8 } as const;

/** Byte 3's bits besides the tick rhythm (harness.c). */
const END_WITH_STOP = 8;
const PUBLISH_ON_TICK = 16;
const MQTT_5 = 32;
const TOPIC_ALIASES = 64;
const POWER_LOSS = 128;

/** A header: mode, tick seconds, the two chunk sizes (0: all that fits), a tick every `tickEvery` chunks, byte 3's other bits. */
function header(mode: number, tickSeconds: number, chunkA: number, chunkB: number, tickEvery: number, bits = 0): Uint8Array {
  return Uint8Array.from([mode | (tickSeconds << 4), chunkA, chunkB, (tickEvery - 1) | bits]);
}

/** The seeds, by name; `rxCapacity` sizes the one PUBLISH too large for the receive buffer. */
function seeds(rxCapacity: number): Map<string, Uint8Array> {
  const acks = [puback(1), pubrec(2), pubcomp(2), suback(3, [1, 2]), unsuback(4)];
  const inbound = [
    publish({ topic: "a/b", payload: "21.5" }),
    publish({ topic: "a/b", payload: "x", qos: 1, packetId: 7, retain: true }),
    publish({ topic: "s/\u00e9", payload: "q2", qos: 2, packetId: 8 }),
    pubrel(8),
    publish({ topic: "s/\u00e9", payload: "q2", qos: 2, packetId: 8, dup: true }),
    pingresp(),
  ];
  const limits = connack5({ properties: [prop.receiveMaximum(2), prop.maximumPacketSize(512), prop.topicAliasMaximum(4), prop.maximumQos(1), prop.serverKeepAlive(5), prop.assignedClientIdentifier("f1")] });
  const list: [string, Uint8Array, Uint8Array[]][] = [
    ["publish-qos0", header(0, 1, 0, 0, 1), [publish({ topic: "a/b", payload: "hello" }), pingresp()]],
    ["stop", header(Mode.requests, 1, 0, 0, 1, END_WITH_STOP), [puback(1), publish({ topic: "a/b", payload: "bye" })]],
    // a publish after every 4-byte chunk: QoS 0, then 1 (id 1), 2 (id 2), …, acknowledged as they go
    ["publishing", header(0, 1, 4, 4, 1, PUBLISH_ON_TICK), [pingresp(), pingresp(), puback(1), pubrec(2), pubcomp(2), pingresp(), puback(3), pubrec(4), pubcomp(4), pingresp()]],
    ["outbox-full", header(Mode.throttle, 0, 200, 200, 1, PUBLISH_ON_TICK), [publish({ topic: "in", payload: "y".repeat(1200) }), puback(1), pubrec(2), pubcomp(2)]],
    ["inbound-flows", header(0, 1, 0, 0, 2), inbound],
    ["acks", header(Mode.requests, 1, 0, 0, 1), acks],
    ["acks-bytewise", header(Mode.requests, 0, 1, 3, 4), acks],
    ["acks-throttled", header(Mode.requests | Mode.throttle, 2, 5, 0, 1), [...acks, ...inbound]],
    ["own-connack", header(Mode.ownConnack, 1, 0, 0, 1), [connack(false, 0), publish({ topic: "t", payload: "1", qos: 1, packetId: 1 })]],
    ["connack-refused", header(Mode.ownConnack, 1, 0, 0, 1), [connack(false, 5), connack(false, 0), pingresp()]],
    ["connect-timeout", header(Mode.ownConnack, 6, 0, 0, 1), [pingresp(), connack(false, 0), pingresp()]],
    ["session-present", header(Mode.session | Mode.requests, 1, 0, 0, 1), [pubrec(2), puback(1), pubcomp(2), suback(3, [0, 0x80]), unsuback(4)]],
    ["keepalive", header(0, 15, 0, 0, 1), [pingresp(), pingresp(), pingresp()]],
    ["oversize-publish", header(Mode.requests, 1, 200, 0, 1), [publish({ topic: "big", payload: "z".repeat(rxCapacity + 64), qos: 1, packetId: 9 }), puback(1)]],
    // MQTT 5.0: the broker's limits in its CONNACK, properties, Reason Codes, aliases both ways
    // the CONNACK in a chunk of its own, so the queued requests go out (with Topic Aliases) before their acks are read
    ["v5-connack-limits", header(Mode.ownConnack | Mode.requests, 1, limits.length, 0, 1, MQTT_5 | TOPIC_ALIASES), [
      limits,
      ack5(PacketType.PUBACK, 1, 0), ack5(PacketType.PUBREC, 2, 0, []), ack5(PacketType.PUBCOMP, 2, 0), suback5(3, [1, 0x80]), unsuback5(4, [0]),
    ]],
    ["v5-inbound", header(0, 1, 0, 0, 2, MQTT_5), [
      publish5({ topic: "a/b", payload: "21.5", properties: [prop.contentType("text/plain"), prop.userProperty("k", "v")] }),
      publish5({ topic: "a/b", payload: "x", qos: 1, packetId: 7, properties: [prop.topicAlias(1)] }),
      publish5({ topic: "", payload: "again", qos: 2, packetId: 8, properties: [prop.topicAlias(1)] }),
      ack5(PacketType.PUBREL, 8, 0), pingresp(),
    ]],
    // a power loss with flows half done both ways: the restored session resends them
    ["power-loss", header(Mode.requests | Mode.session, 1, 0, 0, 1, POWER_LOSS), [pubrec(2), publish({ topic: "s/p", payload: "q2", qos: 2, packetId: 8 }), suback(3, [1, 2])]],
    ["v5-power-loss", header(Mode.requests, 1, 0, 0, 1, MQTT_5 | POWER_LOSS | PUBLISH_ON_TICK), [ack5(PacketType.PUBACK, 1, 0), pingresp(), ack5(PacketType.PUBREC, 2, 0)]],
    ["v5-refusals", header(Mode.requests, 1, 3, 7, 1, MQTT_5 | PUBLISH_ON_TICK), [
      ack5(PacketType.PUBACK, 1, 0x87, [prop.reasonString("no")]), ack5(PacketType.PUBREC, 2, 0x97), suback5(3, [0x87, 2]), unsuback5(4, [0x11]), disconnect5(0x8b, [prop.reasonString("bye")]),
    ]],
    // an AUTH (reported, then a Protocol Error), the acks after the reconnect, a DISCONNECT with properties at the end
    ["v5-auth-stop", header(Mode.requests, 1, 0, 0, 1, MQTT_5 | END_WITH_STOP), [
      auth5(0x18, [prop.authenticationMethod("x"), prop.reasonString("more")]),
      ack5(PacketType.PUBACK, 1, 0), ack5(PacketType.PUBREC, 2, 0), ack5(PacketType.PUBCOMP, 2, 0), suback5(3, [1, 2]), unsuback5(4, [0]),
    ]],
  ];
  return new Map(list.map(([name, head, packets]) => [name, concat([head, ...packets])]));
}

/** Writes the seeds into `dir` (which exists); returns how many. */
export function writeSeeds(dir: string, rxCapacity: number): number {
  const all = seeds(rxCapacity);
  for (const [name, bytes] of all) writeFileSync(join(dir, name), bytes);
  return all.size;
}
