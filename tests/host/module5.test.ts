/**
 * The module's MQTT 5.0 state machine on a virtual clock and network
 * (support/module-bench.ts): the CONNECT it announces, the broker's CONNACK limits, the
 * Reason Codes on acks, SUBACK and DISCONNECT, and the DISCONNECT with a Reason Code it
 * sends before closing for bad input (MQTT 5.0 §4.13). Reads build/.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeProperties } from "../../host/properties.ts";
import { Event, ModuleBench, Stat, Status } from "./support/module-bench.ts";
import { PacketType, type Packet, connack, concat, pingresp } from "./support/mqtt-packets.ts";
import {
  ack5, auth5, block, connack5, disconnect5, parseConnect5, parsePublish5, prop, propertiesAt, publish5, suback5,
} from "./support/mqtt5-packets.ts";

const STATE_CONNECTED = 3;
const STATE_BACKOFF = 4;
const encoder = new TextEncoder();

interface Options5 {
  profile?: string;
  receiveMaximum?: number;
  maximumPacketSize?: number;
  topicAliasMaximum?: number;
  /** The caller's CONNECT property block (whole, Property Length first). */
  connectProperties?: number[];
  keepaliveSec?: number;
  flags?: number;
  /** setProtocol's flags (1: auto-assign outbound Topic Aliases). */
  protocolFlags?: number;
}

/** A bench configured for MQTT 5.0, its CONNECT sent. */
function configured5(options: Options5 = {}): ModuleBench {
  const bench = new ModuleBench(options.profile);
  assert.equal(bench.exports.setReconnect(200, 3000, 1), Status.OK);
  const block = Uint8Array.from(options.connectProperties ?? []);
  assert.equal(bench.exports.setProtocol(5, options.receiveMaximum ?? 0xffff, options.maximumPacketSize ?? 0xffffffff, options.topicAliasMaximum ?? 0xffff, block.length, options.protocolFlags ?? 0), Status.OK);
  const clientId = encoder.encode("bench5");
  bench.stage(concat([clientId, block]));
  assert.equal(bench.exports.configure(clientId.length, 0, 0, 0, 0, options.flags ?? 1, options.keepaliveSec ?? 0), Status.OK);
  bench.start();
  bench.exports.netUp(bench.now);
  return bench;
}

/** A bench connected with MQTT 5.0, the CONNACK carrying `properties`. */
function connected5(options: Options5 & { connack?: number[][] } = {}): ModuleBench {
  const bench = configured5(options);
  assert.equal(bench.receive(connack5({ properties: options.connack ?? [] })), Status.OK);
  assert.equal(bench.stat(Stat.state), STATE_CONNECTED);
  return bench;
}

/** The DISCONNECT packets the client sent, as their Reason Codes. */
function disconnectCodes(bench: ModuleBench): number[] {
  return bench.sentOfType(PacketType.DISCONNECT).map((p: Packet) => (p.body.length > 0 ? p.body[0] : 0));
}

/** Asserts the client sent DISCONNECT with `reason` and reported CONNECTION_LOST(status, reason). */
function assertClosedWith(bench: ModuleBench, status: number, reason: number): void {
  assert.deepEqual(disconnectCodes(bench), [reason]);
  assert.deepEqual(bench.eventsOf(Event.CONNECTION_LOST).map((e) => [e.code, e.arg]), [[status, reason]]);
  assert.equal(bench.netCloses, 1);
  assert.equal(bench.stat(Stat.state), STATE_BACKOFF);
}

describe("MQTT 5 CONNECT", () => {
  it("announces the fixed buffers: Receive Maximum = inbound QoS 2 slots, Maximum Packet Size = rx capacity, Topic Alias Maximum = alias slots", () => {
    const bench = configured5({ connectProperties: block(prop.sessionExpiryInterval(300), prop.userProperty("k", "v")) });
    const [connect] = bench.sentOfType(PacketType.CONNECT);
    const fields = parseConnect5(connect);
    assert.equal(fields.version, 5);
    assert.deepEqual(decodeProperties(fields.properties), {
      receiveMaximum: 32,
      maximumPacketSize: 16384,
      topicAliasMaximum: 8,
      sessionExpiryInterval: 300,
      userProperties: { k: "v" },
    });
  });

  it("announces the caller's lower limits, and the nodemcu profile's own", () => {
    const lower = configured5({ receiveMaximum: 5, maximumPacketSize: 1000, topicAliasMaximum: 2 });
    assert.deepEqual(decodeProperties(parseConnect5(lower.sentOfType(PacketType.CONNECT)[0]).properties), {
      receiveMaximum: 5, maximumPacketSize: 1000, topicAliasMaximum: 2,
    });
    const nodemcu = configured5({ profile: "nodemcu" });
    assert.deepEqual(decodeProperties(parseConnect5(nodemcu.sentOfType(PacketType.CONNECT)[0]).properties), {
      receiveMaximum: 32, maximumPacketSize: 1536, topicAliasMaximum: 4,
    });
  });

  it("refuses bad protocol arguments and a CONNECT block holding what the module announces", () => {
    const bench = new ModuleBench();
    assert.equal(bench.exports.setProtocol(3, 0, 0, 0, 0, 0), Status.INVALID_ARGUMENT);
    assert.equal(bench.exports.setProtocol(4, 1, 0, 0, 0, 0), Status.INVALID_ARGUMENT);
    assert.equal(bench.exports.setProtocol(5, 0, 100, 0, 0, 0), Status.INVALID_ARGUMENT, "Receive Maximum 0");
    assert.equal(bench.exports.setProtocol(5, 10, 0, 0, 0, 0), Status.INVALID_ARGUMENT, "Maximum Packet Size 0");
    assert.equal(bench.exports.setProtocol(5, 10, 100, 0, 0, 2), Status.INVALID_ARGUMENT, "unknown flag");
    assert.equal(bench.exports.setProtocol(4, 0, 0, 0, 0, 1), Status.INVALID_ARGUMENT, "aliases in 3.1.1");
    const own = Uint8Array.from(block(prop.receiveMaximum(3)));
    assert.equal(bench.exports.setProtocol(5, 10, 100, 0, own.length, 0), Status.OK);
    bench.stage(concat([encoder.encode("c"), own]));
    assert.equal(bench.exports.configure(1, 0, 0, 0, 0, 1, 0), Status.INVALID_ARGUMENT);
    assert.equal(bench.exports.start(0), Status.INVALID_STATE, "no CONNECT encoded");
  });

  it("carries the Will Properties block (after the CONNECT's) before the Will Topic", () => {
    const bench = new ModuleBench();
    const connectBlock = block(prop.sessionExpiryInterval(30));
    const willBlock = block(prop.willDelayInterval(5), prop.contentType("text/plain"), prop.userProperty("k", "v"));
    const blocks = Uint8Array.from([...connectBlock, ...willBlock]);
    assert.equal(bench.exports.setProtocol(5, 0xffff, 0xffffffff, 0xffff, blocks.length, 0), Status.OK);
    bench.stage(concat([encoder.encode("w"), encoder.encode("will/t"), encoder.encode("gone"), blocks]));
    assert.equal(bench.exports.configure(1, 0, 0, 6, 4, 1 | 8 | (1 << 5), 0), Status.OK);
    bench.start();
    bench.exports.netUp(bench.now);
    const [connect] = bench.sentOfType(PacketType.CONNECT);
    const fields = parseConnect5(connect);
    assert.equal(fields.flags & 0x04, 0x04, "Will Flag");
    assert.equal(decodeProperties(fields.properties).sessionExpiryInterval, 30);
    // after the CONNECT properties: the client id (2 + 1), then the Will Properties
    const willAt = 10 + 1 + fields.properties.length + 3;
    assert.deepEqual(decodeProperties(propertiesAt(connect, willAt)), { willDelayInterval: 5, contentType: "text/plain", userProperties: { k: "v" } });
    const topicAt = willAt + 1 + willBlock[0];
    assert.equal(Buffer.from(connect.body.subarray(topicAt + 2, topicAt + 8)).toString(), "will/t");
  });

  it("refuses a Will Properties block without a will, or holding what a will may not carry", () => {
    const attempt = (willBlock: number[], flags: number): number => {
      const bench = new ModuleBench();
      const blocks = Uint8Array.from([0, ...willBlock]);
      assert.equal(bench.exports.setProtocol(5, 0xffff, 0xffffffff, 0xffff, blocks.length, 0), Status.OK);
      const will = (flags & 8) !== 0;
      bench.stage(concat([encoder.encode("w"), encoder.encode(will ? "t" : ""), encoder.encode(will ? "p" : ""), blocks]));
      return bench.exports.configure(1, 0, 0, will ? 1 : 0, will ? 1 : 0, flags, 0);
    };
    assert.equal(attempt(block(prop.willDelayInterval(1)), 1 | 8), Status.OK);
    assert.equal(attempt(block(prop.willDelayInterval(1)), 1), Status.INVALID_ARGUMENT, "no will");
    assert.equal(attempt(block(prop.sessionExpiryInterval(1)), 1 | 8), Status.INVALID_ARGUMENT, "a CONNECT property");
    assert.equal(attempt(block(prop.topicAlias(1)), 1 | 8), Status.INVALID_ARGUMENT, "a PUBLISH-only property");
    assert.equal(attempt([...block(prop.willDelayInterval(1)), 0], 1 | 8), Status.INVALID_ARGUMENT, "a byte after the blocks");
  });

  it("keeps 3.1.1 as the default: Protocol Level 4, and 3.1.1 again after setProtocol(4)", () => {
    const bench = new ModuleBench();
    bench.connectTo();
    assert.equal(bench.sentOfType(PacketType.CONNECT)[0].body[6], 4);
    const again = new ModuleBench();
    assert.equal(again.exports.setProtocol(5, 10, 100, 0, 0, 0), Status.OK);
    assert.equal(again.exports.setProtocol(4, 0, 0, 0, 0, 0), Status.OK);
    again.connectTo();
    assert.equal(again.sentOfType(PacketType.CONNECT)[0].body[6], 4);
    assert.equal(again.receive(connack(false, 0)), Status.OK);
  });

  it("ends the attempt on a CONNACK refusal, mapped to the 3.1.1 refusal of the same meaning when there is one", () => {
    const denied = configured5();
    assert.equal(denied.receive(connack5({ reasonCode: 0x87 })), Status.CONNACK_NOT_AUTHORIZED);
    assert.deepEqual(denied.eventsOf(Event.CONNECT_FAILED).map((e) => [e.code, e.arg]), [[Status.CONNACK_NOT_AUTHORIZED, 0x87]]);
    const busy = configured5();
    assert.equal(busy.receive(connack5({ reasonCode: 0x89 })), Status.CONNACK_REFUSED);
    assert.deepEqual(busy.eventsOf(Event.CONNECT_FAILED).map((e) => [e.code, e.arg]), [[Status.CONNACK_REFUSED, 0x89]]);
    const old = configured5();
    assert.equal(old.receive(connack(false, 1)), Status.CONNACK_UNACCEPTABLE_PROTOCOL_VERSION, "a 3.1.1 broker's answer");
  });
});

describe("MQTT 5 CONNACK limits", () => {
  it("never has more QoS 1/2 PUBLISHes in flight than the broker's Receive Maximum", () => {
    const bench = connected5({ connack: [prop.receiveMaximum(2)] });
    for (let i = 0; i < 5; i++) assert.ok(bench.publish("t", `m${i}`, 1) > 0);
    assert.equal(bench.sentOfType(PacketType.PUBLISH).length, 2);
    assert.equal(bench.stat(Stat.inflightUsed), 2);
    const first = parsePublish5(bench.sentOfType(PacketType.PUBLISH)[0]).packetId!;
    bench.receive(ack5(PacketType.PUBACK, first, 0));
    assert.equal(bench.sentOfType(PacketType.PUBLISH).length, 3, "one more once one completed");
    assert.equal(bench.stat(Stat.inflightUsed), 2);
  });

  it("refuses what the broker cannot take: QoS above Maximum QoS, retain without Retain Available, a PUBLISH above its Maximum Packet Size", () => {
    const bench = connected5({ connack: [prop.maximumQos(1), prop.retainAvailable(0), prop.maximumPacketSize(40)] });
    assert.equal(bench.publish("t", "x", 2), Status.QOS_NOT_SUPPORTED);
    assert.equal(bench.publish("t", "x", 0, true), Status.RETAIN_NOT_SUPPORTED);
    assert.equal(bench.publish("t", "x".repeat(40), 1), Status.PACKET_TOO_LARGE);
    assert.equal(bench.sentOfType(PacketType.PUBLISH).length, 0, "nothing sent");
    assert.ok(bench.publish("t", "x".repeat(20), 1) > 0, "within every limit");
  });

  it("refuses, unsent, what was queued before a CONNACK whose limits forbid it: PUBLISH_DONE with the status", () => {
    const bench = configured5();
    const tooLarge = bench.publish("t", "x".repeat(60), 1);
    const qos2 = bench.publish("t", "y", 2);
    assert.equal(bench.publish("t", "r", 0, true), 0, "QoS 0 retained");
    const fits = bench.publish("t", "z", 1);
    bench.receive(connack5({ properties: [prop.maximumQos(1), prop.retainAvailable(0), prop.maximumPacketSize(40)] }));
    assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).map((e) => [e.code, e.arg]), [
      [Status.PACKET_TOO_LARGE, tooLarge],
      [Status.QOS_NOT_SUPPORTED, qos2],
      [Status.RETAIN_NOT_SUPPORTED, 0],
    ]);
    const sent = bench.sentOfType(PacketType.PUBLISH).map((p) => parsePublish5(p));
    assert.deepEqual(sent.map((p) => [p.packetId, Buffer.from(p.payload).toString()]), [[fits, "z"]], "only the one within the limits went out");
    assert.equal(bench.stat(Stat.inflightUsed), 1);
    bench.receive(ack5(PacketType.PUBACK, fits, 0));
    assert.equal(bench.stat(Stat.outboxUsed), 0, "the refused records are gone from the outbox");
  });

  it("checks PUBLISHes to be sent again against the new CONNACK's limits too", () => {
    const bench = connected5();
    const id = bench.publish("t", "x".repeat(60), 1);
    assert.equal(bench.sentOfType(PacketType.PUBLISH).length, 1);
    bench.exports.netDown(bench.now, 0);
    bench.advance(bench.eventsOf(Event.BACKOFF).at(-1)!.arg);
    bench.exports.netUp(bench.now);
    bench.receive(connack5({ sessionPresent: true, properties: [prop.maximumPacketSize(40)] }));
    assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).map((e) => [e.code, e.arg]), [[Status.PACKET_TOO_LARGE, id]]);
    assert.equal(bench.sentOfType(PacketType.PUBLISH).length, 1, "no resend above the broker's Maximum Packet Size");
  });

  it("takes the Server Keep Alive instead of its own", () => {
    const bench = connected5({ keepaliveSec: 60, connack: [prop.serverKeepAlive(2)] });
    bench.advance(1999);
    assert.equal(bench.sentOfType(PacketType.PINGREQ).length, 0);
    bench.advance(1);
    assert.equal(bench.sentOfType(PacketType.PINGREQ).length, 1);
    bench.receive(pingresp());
    assert.equal(bench.stat(29), 2, "keepaliveSec");
  });
});

describe("MQTT 5 Reason Codes", () => {
  it("completes a PUBLISH the broker refused (PUBACK 0x87) as failed: PUBLISH_DONE carries the Reason Code", () => {
    const bench = connected5();
    const id = bench.publish("t", "x", 1);
    assert.equal(bench.receive(ack5(PacketType.PUBACK, id, 0x87, [prop.reasonString("no")])), Status.OK);
    assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).map((e) => [e.code, e.arg]), [[0x87, id]]);
    assert.equal(bench.stat(Stat.inflightUsed), 0);
    const ok = bench.publish("t", "y", 1);
    bench.receive(ack5(PacketType.PUBACK, ok, 0x10)); // No matching subscribers: a success (< 0x80), its code passed on
    assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).at(-1), { kind: Event.PUBLISH_DONE, code: 0x10, arg: ok, at: bench.now });
  });

  it("ends a QoS 2 flow at its PUBCOMP with the PUBCOMP's code; 0x92 (Packet Identifier not found) as 0: the PUBREC took the PUBLISH", () => {
    const bench = connected5();
    const id = bench.publish("t", "x", 2);
    bench.receive(ack5(PacketType.PUBREC, id, 0x10));
    bench.receive(ack5(PacketType.PUBCOMP, id, 0x92));
    assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).map((e) => [e.code, e.arg]), [[0, id]]);
  });

  it("ends a QoS 2 flow at a PUBREC refusal, with no PUBREL", () => {
    const bench = connected5();
    const id = bench.publish("t", "x", 2);
    bench.receive(ack5(PacketType.PUBREC, id, 0x97));
    assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).map((e) => [e.code, e.arg]), [[0x97, id]]);
    assert.equal(bench.sentOfType(PacketType.PUBREL).length, 0);
  });

  it("reports a SUBACK's Reason Code per filter and sends the Subscription Options byte", () => {
    const bench = connected5();
    const options = 1 | 0x04 | 0x08 | (2 << 4); // QoS 1, No Local, Retain As Published, Retain Handling 2
    const id = bench.subscribe([["a", options], ["b", 0]]);
    assert.ok(id > 0);
    const [sub] = bench.sentOfType(PacketType.SUBSCRIBE);
    assert.deepEqual([...sub.body], [id >> 8, id & 0xff, 0, 0, 1, 0x61, options, 0, 1, 0x62, 0]);
    bench.receive(suback5(id, [0x01, 0x87]));
    assert.deepEqual(bench.eventsOf(Event.SUBACK).map((e) => [e.code, e.arg]), [[0x01, id], [0x87, id | (1 << 16)]]);
    assert.equal(bench.stat(Stat.subscriptionUsed), 1, "the refused filter is dropped");
  });

  it("carries a Subscription Identifier in the SUBSCRIBE, and again when it resubscribes after a lost session", () => {
    const bench = connected5();
    const entry = [1, 0, 0x61, 1]; // staged: u16 length 1 (little-endian), "a", QoS 1
    bench.stage(Uint8Array.from(entry));
    assert.equal(bench.exports.subscribeWithIdentifier(1, 0, bench.now), Status.INVALID_ARGUMENT, "0 is no identifier");
    assert.equal(bench.exports.subscribeWithIdentifier(1, 268435456, bench.now), Status.INVALID_ARGUMENT);
    const id = bench.exports.subscribeWithIdentifier(1, 200, bench.now);
    assert.ok(id > 0);
    // packet id, Property Length 3, Subscription Identifier 200 (Variable Byte Integer 0xc8 0x01), then the entry
    assert.deepEqual([...bench.sentOfType(PacketType.SUBSCRIBE)[0].body], [id >> 8, id & 0xff, 3, 0x0b, 0xc8, 0x01, 0, 1, 0x61, 1]);
    bench.receive(suback5(id, [1]));
    bench.exports.netDown(bench.now, 0);
    bench.advance(bench.eventsOf(Event.BACKOFF).at(-1)!.arg);
    bench.exports.netUp(bench.now);
    bench.receive(connack5({ sessionPresent: false }));
    const again = bench.sentOfType(PacketType.SUBSCRIBE)[1];
    assert.deepEqual([...again.body.subarray(2)], [3, 0x0b, 0xc8, 0x01, 0, 1, 0x61, 1]);
    const v311 = new ModuleBench();
    v311.connectTo();
    v311.stage(Uint8Array.from(entry));
    assert.equal(v311.exports.subscribeWithIdentifier(1, 5, v311.now), Status.INVALID_ARGUMENT);
  });

  it("carries a request's User Properties in its SUBSCRIBE and UNSUBSCRIBE, and again when it resubscribes after a lost session", () => {
    const bench = connected5();
    const entry = [1, 0, 0x61, 1]; // u16 length 1 (little-endian), "a", QoS 1
    const users = block(prop.userProperty("k", "v"));
    bench.stage(Uint8Array.from([...entry, ...users]));
    const id = bench.exports.subscribeWithProperties(1, 200, users.length, bench.now);
    assert.ok(id > 0);
    // packet id, Property Length 3 + 7, Subscription Identifier 200, the User Property, then the entry
    const expected = [10, 0x0b, 0xc8, 0x01, ...users.slice(1), 0, 1, 0x61, 1];
    assert.deepEqual([...bench.sentOfType(PacketType.SUBSCRIBE)[0].body.subarray(2)], expected);
    bench.receive(suback5(id, [1]));
    bench.exports.netDown(bench.now, 0);
    bench.advance(bench.eventsOf(Event.BACKOFF).at(-1)!.arg);
    bench.exports.netUp(bench.now);
    bench.receive(connack5({ sessionPresent: false }));
    const resubscribe = bench.sentOfType(PacketType.SUBSCRIBE)[1];
    assert.deepEqual([...resubscribe.body.subarray(2)], expected, "the resubscription carries them");
    bench.receive(suback5((resubscribe.body[0] << 8) | resubscribe.body[1], [1]));

    const gone = block(prop.userProperty("why", "x"));
    bench.stage(Uint8Array.from([1, 0, 0x61, ...gone]));
    const unsubscribed = bench.exports.unsubscribeWithProperties(1, gone.length, bench.now);
    assert.ok(unsubscribed > 0);
    assert.deepEqual([...bench.sentOfType(PacketType.UNSUBSCRIBE)[0].body.subarray(2)], [...gone, 0, 1, 0x61]);
  });

  it("refuses a request property block that is malformed, holds more than User Properties or more than a slot keeps, or comes in 3.1.1", () => {
    const bench = connected5({ profile: "nodemcu" }); // a slot keeps 32 bytes of User Properties
    const attempt = (properties: number[]): number => {
      bench.stage(Uint8Array.from([1, 0, 0x61, 1, ...properties]));
      return bench.exports.subscribeWithProperties(1, 0, properties.length, bench.now);
    };
    assert.equal(attempt(block(prop.contentType("x"))), Status.INVALID_ARGUMENT, "not a SUBSCRIBE property");
    assert.equal(attempt(block([0x0b, 5])), Status.INVALID_ARGUMENT, "a Subscription Identifier: subscriptionIdentifier's argument");
    assert.equal(attempt([9, 0x26, 0, 1]), Status.INVALID_ARGUMENT, "truncated");
    assert.equal(attempt(block(prop.userProperty("k", "x".repeat(27)))), Status.PACKET_TOO_LARGE, "33 bytes");
    assert.ok(attempt(block(prop.userProperty("k", "x".repeat(26)))) > 0, "32 bytes fit");
    const v311 = new ModuleBench();
    v311.connectTo();
    v311.stage(Uint8Array.from([1, 0, 0x61, 1, 0]));
    assert.equal(v311.exports.subscribeWithProperties(1, 0, 1, v311.now), Status.INVALID_ARGUMENT);
    assert.equal(v311.exports.unsubscribeWithProperties(1, 0, v311.now), Status.INVALID_ARGUMENT);
  });

  it("refuses Subscription Options a SUBSCRIBE may not carry", () => {
    const bench = connected5();
    assert.equal(bench.subscribe([["a", 3]]), Status.INVALID_QOS);
    assert.equal(bench.subscribe([["a", 3 << 4]]), Status.INVALID_ARGUMENT, "Retain Handling 3");
    assert.equal(bench.subscribe([["a", 0x40]]), Status.INVALID_ARGUMENT, "a reserved bit");
  });

  it("reports a server DISCONNECT's Reason Code and reconnects", () => {
    const bench = connected5();
    assert.equal(bench.receive(disconnect5(0x8b)), Status.DISCONNECTED);
    assert.deepEqual(bench.eventsOf(Event.CONNECTION_LOST).map((e) => [e.code, e.arg]), [[Status.DISCONNECTED, 0x8b]]);
    assert.equal(bench.stat(Stat.state), STATE_BACKOFF);
    assert.equal(bench.stat(Stat.protocolErrors), 0);
    assert.deepEqual(disconnectCodes(bench), [], "no DISCONNECT back");
  });

  it("disconnect(reasonCode) sends it; 3.1.1 and codes a client may not send are refused", () => {
    const bench = connected5();
    assert.equal(bench.exports.disconnect(0x01, bench.now), Status.INVALID_ARGUMENT);
    assert.equal(bench.exports.disconnect(0x04, bench.now), Status.OK);
    assert.deepEqual(disconnectCodes(bench), [0x04]);
    const v311 = new ModuleBench();
    v311.connectTo();
    assert.equal(v311.exports.disconnect(0x04, v311.now), Status.INVALID_ARGUMENT);
  });
});

describe("MQTT 5 DISCONNECT properties", () => {
  /** Stages a property block and calls disconnectWithProperties. */
  function disconnectWith(bench: ModuleBench, reasonCode: number, properties: number[]): number {
    bench.stage(Uint8Array.from(properties));
    return bench.exports.disconnectWithProperties(reasonCode, properties.length, bench.now);
  }

  it("sends the Reason String, User Properties and a Session Expiry Interval the CONNECT allows", () => {
    const bench = connected5({ connectProperties: block(prop.sessionExpiryInterval(60)) });
    assert.equal(disconnectWith(bench, 0x04, block(prop.sessionExpiryInterval(0), prop.reasonString("bye"), prop.userProperty("a", "1"), prop.userProperty("a", "2"))), Status.OK);
    const [sent] = bench.sentOfType(PacketType.DISCONNECT);
    assert.equal(sent.body[0], 0x04);
    assert.deepEqual(decodeProperties(propertiesAt(sent, 1)), { sessionExpiryInterval: 0, reasonString: "bye", userProperties: { a: ["1", "2"] } });
    assert.equal(bench.stat(Stat.state), 5, "stopped");
  });

  it("refuses a Session Expiry Interval after a CONNECT without one, a Server Reference, a bad block, any block in 3.1.1", () => {
    const bench = connected5();
    assert.equal(disconnectWith(bench, 0, block(prop.sessionExpiryInterval(10))), Status.INVALID_ARGUMENT, "[MQTT-3.14.2-2]");
    assert.equal(disconnectWith(bench, 0, block(prop.serverReference("x"))), Status.INVALID_ARGUMENT);
    assert.equal(disconnectWith(bench, 0, block(prop.contentType("x"))), Status.INVALID_ARGUMENT, "not a DISCONNECT property");
    assert.equal(disconnectWith(bench, 0, [5, 0x1f]), Status.INVALID_ARGUMENT, "truncated");
    assert.equal(bench.sentOfType(PacketType.DISCONNECT).length, 0, "nothing done");
    assert.equal(bench.stat(Stat.state), STATE_CONNECTED);
    assert.equal(disconnectWith(bench, 0, block(prop.sessionExpiryInterval(0))), Status.OK, "0 is always allowed");
    const v311 = new ModuleBench();
    v311.connectTo();
    assert.equal(disconnectWith(v311, 0, block(prop.reasonString("x"))), Status.INVALID_ARGUMENT);
  });

  it("a DISCONNECT for bad input after a publish with properties carries none of them", () => {
    const bench = connected5();
    const properties = Uint8Array.from(block(prop.contentType("text/plain")));
    const topic = encoder.encode("t");
    bench.stage(concat([topic, encoder.encode("x"), properties]));
    assert.equal(bench.exports.publishWithProperties(1, 1, properties.length, 0, 0, bench.now), 0);
    bench.receive(publish5({ topic: "t", rawProperties: [2, 0x00, 0x00] }));
    const [sent] = bench.sentOfType(PacketType.DISCONNECT);
    assert.deepEqual([...sent.body], [0x81]);
  });
});

describe("MQTT 5 AUTH (§3.15, §4.12)", () => {
  it("reports an AUTH (Reason Code as arg), then closes with DISCONNECT 0x82: the client sent no Authentication Method", () => {
    const bench = connected5();
    const status = bench.receive(auth5(0x18, [prop.authenticationMethod("SCRAM-SHA-1"), prop.authenticationData([1, 2]), prop.reasonString("go on")]));
    assert.equal(status, Status.PROTOCOL_ERROR);
    assert.deepEqual(bench.eventsOf(Event.AUTH).map((e) => [e.code, e.arg]), [[Status.OK, 0x18]]);
    assertClosedWith(bench, Status.PROTOCOL_ERROR, 0x82);
  });

  it("before the CONNACK too: reported, then the attempt fails with PROTOCOL_ERROR", () => {
    const bench = configured5();
    assert.equal(bench.receive(auth5(0x18, [prop.authenticationMethod("x")])), Status.PROTOCOL_ERROR);
    assert.deepEqual(bench.eventsOf(Event.AUTH).map((e) => e.arg), [0x18]);
    assert.deepEqual(bench.eventsOf(Event.CONNECT_FAILED).map((e) => [e.code, e.arg]), [[Status.PROTOCOL_ERROR, 0x82]]);
  });

  it("a malformed AUTH is not reported: DISCONNECT 0x81 (a Reason Code without its Property Length), 0x82 (a code AUTH may not carry)", () => {
    const bench = connected5();
    assert.equal(bench.receive(Uint8Array.from([0xf0, 0x01, 0x18])), Status.MALFORMED_PACKET);
    assertClosedWith(bench, Status.MALFORMED_PACKET, 0x81);
    const other = connected5();
    assert.equal(other.receive(auth5(0x87)), Status.PROTOCOL_ERROR);
    assertClosedWith(other, Status.PROTOCOL_ERROR, 0x82);
    assert.equal(bench.eventsOf(Event.AUTH).length + other.eventsOf(Event.AUTH).length, 0);
  });
});

describe("MQTT 5: closing for bad input with a DISCONNECT Reason Code (§4.13)", () => {
  it("a malformed property: DISCONNECT 0x81", () => {
    const bench = connected5();
    // property identifier 0x00 does not exist
    assert.equal(bench.receive(publish5({ topic: "t", rawProperties: [2, 0x00, 0x00] })), Status.MALFORMED_PACKET);
    assertClosedWith(bench, Status.MALFORMED_PACKET, 0x81);
    assert.equal(bench.messages.length, 0);
  });

  it("a packet over the Maximum Packet Size announced: DISCONNECT 0x95", () => {
    const bench = connected5({ maximumPacketSize: 100 });
    // 2 fixed header + 3 topic + 1 Property Length + payload
    assert.equal(bench.receive(publish5({ topic: "t", payload: "x".repeat(94) })), Status.OK, "100 bytes: at the maximum");
    assert.equal(bench.messages.length, 1);
    assert.equal(bench.receive(publish5({ topic: "t", payload: "x".repeat(95) })), Status.PACKET_TOO_LARGE);
    assertClosedWith(bench, Status.PACKET_TOO_LARGE, 0x95);
  });

  it("more QoS 2 flows than the Receive Maximum announced: DISCONNECT 0x93", () => {
    const bench = connected5({ receiveMaximum: 2 });
    bench.receive(publish5({ topic: "t", qos: 2, packetId: 1 }));
    bench.receive(publish5({ topic: "t", qos: 2, packetId: 2 }));
    assert.equal(bench.receive(publish5({ topic: "t", qos: 2, packetId: 2 })), Status.OK, "a resend is no new flow");
    assert.equal(bench.receive(publish5({ topic: "t", qos: 2, packetId: 3 })), Status.PROTOCOL_ERROR);
    assertClosedWith(bench, Status.PROTOCOL_ERROR, 0x93);
    assert.equal(bench.messages.length, 2);
  });

  it("resolves inbound Topic Aliases from the fixed table, and closes for a bad one", () => {
    const bench = connected5();
    bench.receive(publish5({ topic: "long/topic/name", payload: "1", properties: [prop.topicAlias(3)] }));
    bench.receive(publish5({ topic: "", payload: "2", properties: [prop.topicAlias(3)] }));
    assert.deepEqual(bench.messages.map((m) => m.topic), ["long/topic/name", "long/topic/name"]);
    assert.equal(bench.receive(publish5({ topic: "a", properties: [prop.topicAlias(9)] })), Status.PROTOCOL_ERROR);
    assertClosedWith(bench, Status.PROTOCOL_ERROR, 0x94);

    const unmapped = connected5();
    assert.equal(unmapped.receive(publish5({ topic: "", properties: [prop.topicAlias(1)] })), Status.PROTOCOL_ERROR);
    assertClosedWith(unmapped, Status.PROTOCOL_ERROR, 0x82);
  });

  it("forgets the aliases of the last connection", () => {
    const bench = connected5();
    bench.receive(publish5({ topic: "a", properties: [prop.topicAlias(1)] }));
    bench.exports.netDown(bench.now, 0);
    bench.advance(bench.eventsOf(Event.BACKOFF).at(-1)!.arg);
    bench.exports.netUp(bench.now);
    bench.receive(connack5());
    assert.equal(bench.receive(publish5({ topic: "", properties: [prop.topicAlias(1)] })), Status.PROTOCOL_ERROR);
  });
});

describe("MQTT 5 PUBLISH properties", () => {
  /** Stages topic, payload and a property block; returns publishWithProperties' result. */
  function publishWith(bench: ModuleBench, properties: number[], qos = 1): number {
    const topic = encoder.encode("t");
    const payload = encoder.encode("p");
    bench.stage(concat([topic, payload, Uint8Array.from(properties)]));
    return bench.exports.publishWithProperties(topic.length, payload.length, properties.length, qos, 0, bench.now);
  }

  it("copies the caller's block into the PUBLISH", () => {
    const bench = connected5();
    const properties = block(prop.contentType("text/plain"), prop.userProperty("a", "1"), prop.userProperty("a", "2"));
    assert.ok(publishWith(bench, properties) > 0);
    const sent = parsePublish5(bench.sentOfType(PacketType.PUBLISH)[0]);
    assert.deepEqual([...sent.properties], properties.slice(1));
    assert.equal(Buffer.from(sent.payload).toString(), "p");
  });

  it("refuses a bad block, a Topic Alias, and any block in 3.1.1", () => {
    const bench = connected5();
    assert.equal(publishWith(bench, [3, 0x03, 0x00, 0x05]), Status.INVALID_ARGUMENT, "truncated string");
    assert.equal(publishWith(bench, block(prop.topicAlias(1))), Status.INVALID_ARGUMENT);
    assert.equal(publishWith(bench, block(prop.receiveMaximum(1))), Status.INVALID_ARGUMENT, "not a PUBLISH property");
    const v311 = new ModuleBench();
    v311.connectTo();
    v311.receive(connack(false, 0));
    assert.equal(publishWith(v311, block(prop.contentType("x"))), Status.INVALID_ARGUMENT);
  });
});

describe("MQTT 5 outbound Topic Aliases (autoAssignTopicAlias)", () => {
  /** Each PUBLISH sent: its topic as sent and its Topic Alias (0: none). */
  function sentAliases(bench: ModuleBench): [string, number][] {
    return bench.sentOfType(PacketType.PUBLISH).map((p) => {
      const { topic, properties } = parsePublish5(p);
      return [topic, (decodeProperties(properties).topicAlias as number | undefined) ?? 0];
    });
  }

  it("maps a topic on first use, leaves it out after, replaces the least recently used, never above the broker's maximum", () => {
    const bench = connected5({ protocolFlags: 1, connack: [prop.topicAliasMaximum(2)] });
    for (const topic of ["a/b", "a/b", "c", "a/b", "d", "c"]) bench.publish(topic, "x", 0);
    assert.deepEqual(sentAliases(bench), [
      ["a/b", 1], ["", 1], ["c", 2], ["", 1],
      ["d", 2], // c was the least recently used
      ["c", 1], // a/b was by then
    ]);
    const payload = parsePublish5(bench.sentOfType(PacketType.PUBLISH)[1]).payload;
    assert.equal(Buffer.from(payload).toString(), "x");
  });

  it("sends no alias without the flag, or when the broker allows none", () => {
    const off = connected5({ connack: [prop.topicAliasMaximum(5)] });
    off.publish("a", "x", 0);
    off.publish("a", "x", 0);
    assert.deepEqual(sentAliases(off), [["a", 0], ["a", 0]]);
    const none = connected5({ protocolFlags: 1 });
    none.publish("a", "x", 0);
    none.publish("a", "x", 0);
    assert.deepEqual(sentAliases(none), [["a", 0], ["a", 0]]);
  });

  it("resends with the full topic and no alias; the aliases start again on the next connection", () => {
    const bench = connected5({ protocolFlags: 1, connack: [prop.topicAliasMaximum(2)] });
    bench.publish("a", "x", 1);
    bench.publish("a", "y", 1);
    bench.exports.netDown(bench.now, 0);
    bench.advance(bench.eventsOf(Event.BACKOFF).at(-1)!.arg);
    bench.exports.netUp(bench.now);
    bench.receive(connack5({ sessionPresent: true, properties: [prop.topicAliasMaximum(2)] }));
    bench.publish("a", "z", 1);
    assert.deepEqual(sentAliases(bench), [["a", 1], ["", 1], ["a", 0], ["a", 0], ["a", 1]]);
    assert.deepEqual(bench.sentOfType(PacketType.PUBLISH).map((p) => (p.flags & 8) !== 0), [false, false, true, true, false]);
  });
});
