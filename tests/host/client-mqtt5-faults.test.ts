/**
 * MQTT 5.0 against the scripted fake broker (support/fake-broker.ts): a broker's Receive
 * Maximum honoured, a PUBACK Reason Code rejecting its publish, and the DISCONNECT with a
 * Reason Code the client sends before closing for bad input (MQTT 5.0 §4.13): inbound
 * Topic Alias 0, above our maximum, or mapping none; AUTH surfaced then refused; PUBLISHes
 * queued before a CONNACK with lower limits; DISCONNECT properties both ways. Also the
 * host API's refusals of MQTT 5 options.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeProperties } from "../../host/properties.ts";
import { createClient } from "../../host/client.ts";
import { FAST, Recorder, endQuietly, fakeBroker, openClient, rejection, uniqueId, until } from "./support/client-helpers.ts";
import { type FakeConnection, PacketType, type Packet } from "./support/fake-broker.ts";
import { ack5, auth5, connack5, disconnect5, parseConnect5, parsePublish5, prop, propertiesAt, publish5, suback5, unsuback5 } from "./support/mqtt5-packets.ts";

const V5 = { protocolVersion: 5 } as const;

/** Accepts the CONNECT with a 5.0 CONNACK carrying `properties`. */
async function accept(conn: FakeConnection, properties: number[][] = []): Promise<Packet> {
  const connect = await conn.next(PacketType.CONNECT);
  conn.send(connack5({ properties }));
  return connect;
}

/** The Reason Codes of the DISCONNECTs the client sent on a connection. */
function disconnectCodes(conn: FakeConnection): number[] {
  return conn.packets.filter((p) => p.type === PacketType.DISCONNECT).map((p) => (p.body.length > 0 ? p.body[0] : 0));
}

test("Receive Maximum 2 from the broker: never 3 PUBLISHes in flight, all complete", async (t) => {
  let mostInFlight = 0;
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn, [prop.receiveMaximum(2)]);
    const publishes = (): Packet[] => conn.packets.filter((p) => p.type === PacketType.PUBLISH);
    let acked = 0;
    while (acked < 6) {
      await conn.next(PacketType.PUBLISH);
      await new Promise((resolve) => setTimeout(resolve, 50)); // room for a PUBLISH beyond the quota to arrive
      const arrived = publishes();
      mostInFlight = Math.max(mostInFlight, arrived.length - acked);
      for (const p of arrived.slice(acked)) conn.send(ack5(PacketType.PUBACK, parsePublish5(p).packetId!, 0));
      for (let i = acked + 1; i < arrived.length; i++) await conn.next(PacketType.PUBLISH); // consumed above
      acked = arrived.length;
    }
  });
  const { client } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("quota") });
  await Promise.all(Array.from({ length: 6 }, (_, i) => client.publish("q", `m${i}`, { qos: 1 })));
  assert.equal(mostInFlight, 2);
  const connection = fake.connections[0];
  assert.equal(connection.packets.filter((p) => p.type === PacketType.PUBLISH).length, 6);
});

test("a PUBACK with Reason Code 0x87 rejects that publish with PUBLISH_REFUSED and reasonCode 0x87; the next one succeeds", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    const first = parsePublish5(await conn.next(PacketType.PUBLISH));
    conn.send(ack5(PacketType.PUBACK, first.packetId!, 0x87, [prop.reasonString("not for you")]));
    const second = parsePublish5(await conn.next(PacketType.PUBLISH));
    conn.send(ack5(PacketType.PUBACK, second.packetId!, 0));
  });
  const { client } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("refused") });
  const error = (await rejection(client.publish("r", "x", { qos: 1 }), "refused publish")) as Error & { code?: string; reasonCode?: number };
  assert.equal(error.code, "PUBLISH_REFUSED");
  assert.equal(error.reasonCode, 0x87);
  assert.match(error.message, /0x87: not for you/);
  await client.publish("r", "y", { qos: 1 });
  assert.equal(client.connected, true);
});

test("a malformed property: the client sends DISCONNECT 0x81, closes, reports reasonCode 0x81, reconnects", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    if (conn.index === 0) conn.send(publish5({ topic: "t", rawProperties: [2, 0x00, 0x00] })); // identifier 0 does not exist
  });
  const { rec } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("malformed5") });
  const error = (await rec.waitForError("MALFORMED_PACKET")) as Error & { reasonCode?: number };
  assert.equal(error.reasonCode, 0x81);
  await fake.connections[0].closed;
  assert.deepEqual(disconnectCodes(fake.connections[0]), [0x81]);
  await fake.waitForConnection(2, 3000);
  assert.equal(rec.messages().length, 0);
});

test("a packet over our Maximum Packet Size: DISCONNECT 0x95, announced in CONNECT", async (t) => {
  let announced: unknown;
  const fake = await fakeBroker(t, async (conn) => {
    const connect = await accept(conn);
    announced = decodeProperties(parseConnect5(connect).properties).maximumPacketSize;
    if (conn.index === 0) conn.send(publish5({ topic: "t", payload: "x".repeat(300) }));
  });
  const { rec } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("mps5"), properties: { maximumPacketSize: 256 } });
  const error = (await rec.waitForError("PACKET_TOO_LARGE")) as Error & { reasonCode?: number };
  assert.equal(error.reasonCode, 0x95);
  assert.equal(announced, 256);
  await fake.connections[0].closed;
  assert.deepEqual(disconnectCodes(fake.connections[0]), [0x95]);
});

test("a server DISCONNECT is reported with its Reason Code and Reason String", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    if (conn.index === 0) conn.send([0xe0, 0x0a, 0x8b, 0x08, 0x1f, 0x00, 0x05, ...Buffer.from("bye!!")]);
  });
  const { rec } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("server-dc") });
  const error = (await rec.waitForError("DISCONNECTED")) as Error & { reasonCode?: number };
  assert.equal(error.reasonCode, 0x8b);
  assert.match(error.message, /0x8b: bye!!/);
});

test("MQTT 5 options are refused by name in 3.1.1 and when out of range", async (t) => {
  const fake = await fakeBroker(t);
  await assert.rejects(openClient(t, fake.url, { protocolVersion: 3 as 5 }), /protocolVersion 3 must be 4/);
  await assert.rejects(openClient(t, fake.url, { properties: { sessionExpiryInterval: 1 } }), /properties need protocolVersion: 5/);
  await assert.rejects(openClient(t, fake.url, { will: { topic: "w", payload: "x", properties: { willDelayInterval: 1 } } }), /will.properties need protocolVersion: 5/);
  await assert.rejects(openClient(t, fake.url, { ...V5, will: { topic: "w", payload: "x", properties: { topicAlias: 1 } as object } }), /will.properties: unknown property `topicAlias`/);
  await assert.rejects(openClient(t, fake.url, { ...V5, properties: { receiveMaximum: 0 } }), /properties.receiveMaximum 0/);
  await assert.rejects(openClient(t, fake.url, { ...V5, properties: { sessionExpiry: 1 } as object }), /unknown option `properties.sessionExpiry`; known options: `properties.sessionExpiryInterval`/);
  const { client } = await openClient(t, fake.url, { clientId: uniqueId("v311") });
  await assert.rejects(client.publish("t", "x", { properties: { contentType: "a" } }), /publish properties need protocolVersion: 5/);
  await assert.rejects(client.subscribe([{ topic: "t", nl: true }]), /need protocolVersion: 5/);
  await assert.rejects(client.end({ reasonCode: 4 }), /MQTT 3.1.1 has none/);
  const fake5 = await fakeBroker(t, async (conn) => {
    await accept(conn);
  });
  const { client: v5 } = await openClient(t, fake5.url, { ...V5, clientId: uniqueId("v5") });
  await assert.rejects(v5.publish("t", "x", { properties: { topicAlias: 1 } as object }), /unknown property `topicAlias`/);
  await assert.rejects(v5.subscribe("t", { rh: 3 as 2 }), /rh 3/);
});

test("a CONNACK refusal rejects connect() with the 3.1.1 code of its meaning, the Reason Code and the Reason String", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT);
    conn.send(connack5({ reasonCode: 0x86, properties: [prop.reasonString("who are you")] }));
  });
  const error = (await rejection(openClient(t, fake.url, { ...V5, clientId: uniqueId("refused5") }), "connect")) as Error & { code?: string; reasonCode?: number };
  assert.equal(error.code, "CONNACK_BAD_USERNAME_OR_PASSWORD");
  assert.equal(error.reasonCode, 0x86);
  assert.match(error.message, /CONNACK Reason Code 0x86: who are you/);
});

for (const [label, properties, topic, reason, code] of [
  ["Topic Alias 0", [[0x23, 0, 0]], "t", 0x94, "PROTOCOL_ERROR"],
  ["a Topic Alias above the maximum we announced", [prop.topicAlias(3)], "t", 0x94, "PROTOCOL_ERROR"],
  ["an empty topic with a Topic Alias that maps none", [prop.topicAlias(1)], "", 0x82, "PROTOCOL_ERROR"],
] as const) {
  test(`${label}: the client sends DISCONNECT 0x${reason.toString(16)} and reports it`, async (t) => {
    const fake = await fakeBroker(t, async (conn) => {
      await accept(conn);
      if (conn.index === 0) conn.send(publish5({ topic, payload: "x", properties: properties.map((p) => [...p]) }));
    });
    const { rec } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("alias-in"), properties: { topicAliasMaximum: 2 } });
    const error = (await rec.waitForError(code)) as Error & { reasonCode?: number };
    assert.equal(error.reasonCode, reason);
    await fake.connections[0].closed;
    assert.deepEqual(disconnectCodes(fake.connections[0]), [reason]);
    assert.equal(rec.messages().length, 0);
  });
}

test("an AUTH from the broker: the auth event with its Reason Code and properties, then DISCONNECT 0x82 (we sent no Authentication Method, §4.12)", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    if (conn.index === 0) {
      conn.send(auth5(0x18, [prop.authenticationMethod("SCRAM-SHA-1"), prop.authenticationData([9, 9]), prop.reasonString("more"), prop.userProperty("k", "v")]));
    }
  });
  const { rec } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("auth") });
  const [packet] = await rec.waitFor("auth");
  const { properties, reasonCode } = packet as { reasonCode: number; properties: Record<string, unknown> };
  assert.equal(reasonCode, 0x18);
  assert.deepEqual(properties, { authenticationMethod: "SCRAM-SHA-1", authenticationData: Buffer.from([9, 9]), reasonString: "more", userProperties: { k: "v" } });
  const error = (await rec.waitForError("PROTOCOL_ERROR")) as Error & { reasonCode?: number };
  assert.equal(error.reasonCode, 0x82);
  await fake.connections[0].closed;
  assert.deepEqual(disconnectCodes(fake.connections[0]), [0x82]);
});

test("PUBLISHes queued before a CONNACK whose limits forbid them are refused with their code and never sent", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT);
    conn.send(connack5({ properties: [prop.maximumPacketSize(64), prop.maximumQos(1), prop.retainAvailable(0)] }));
    const fits = parsePublish5(await conn.next(PacketType.PUBLISH));
    conn.send(ack5(PacketType.PUBACK, fits.packetId!, 0));
  });
  const client = await createClient(fake.url, { ...FAST, ...V5, clientId: uniqueId("queued") });
  t.after(() => endQuietly(client));
  const rec = new Recorder(client);
  const tooLarge = client.publish("t", "x".repeat(100), { qos: 1 });
  const qos2 = client.publish("t", "y", { qos: 2 });
  await client.publish("t", "r", { qos: 0, retain: true }); // QoS 0 resolves once queued
  const fits = client.publish("t", "fits", { qos: 1 });
  await client.connect();
  assert.equal((await rejection(tooLarge, "too large")).code, "PACKET_TOO_LARGE");
  const refusedQos = await rejection(qos2, "QoS 2");
  assert.equal(refusedQos.code, "QOS_NOT_SUPPORTED");
  assert.match(refusedQos.message, /Maximum QoS 1; it was not sent/);
  const retained = await rec.waitForError("RETAIN_NOT_SUPPORTED");
  assert.match(retained.message, /a QoS 0 PUBLISH, queued before the broker's CONNACK, exceeds its Retain Available 0/);
  await fits;
  const sent = fake.connections[0].packets.filter((p) => p.type === PacketType.PUBLISH).map((p) => Buffer.from(parsePublish5(p).payload).toString());
  assert.deepEqual(sent, ["fits"]);
});

test("end({ reasonCode, properties }) sends them in the DISCONNECT; a server DISCONNECT's properties are on the error", async (t) => {
  let received: Packet | undefined;
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    if (conn.index === 0) conn.send(disconnect5(0x98, [prop.reasonString("maintenance"), prop.userProperty("back", "soon"), prop.serverReference("other:1883")]));
    else received = await conn.next(PacketType.DISCONNECT);
  });
  const { client, rec } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("dc-props") });
  const error = (await rec.waitForError("DISCONNECTED")) as Error & { reasonCode?: number; properties?: Record<string, unknown> };
  assert.equal(error.reasonCode, 0x98);
  assert.deepEqual(error.properties, { reasonString: "maintenance", userProperties: { back: "soon" }, serverReference: "other:1883" });
  await until("the second connection", () => fake.connections.length === 2 && client.connected);
  await client.end({ reasonCode: 0x04, properties: { reasonString: "bye", userProperties: { a: ["1", "2"] } } });
  await until("the DISCONNECT arrived", () => received !== undefined);
  assert.equal(received!.body[0], 0x04);
  assert.deepEqual(decodeProperties(propertiesAt(received!, 1)), { reasonString: "bye", userProperties: { a: ["1", "2"] } });
});

test("a SUBACK's Reason String and User Properties come with what subscribe() resolves", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    const subscribe = await conn.next(PacketType.SUBSCRIBE);
    const packetId = (subscribe.body[0] << 8) | subscribe.body[1];
    conn.send(suback5(packetId, [1, 0x87], [prop.reasonString("b is private"), prop.userProperty("k", "1"), prop.userProperty("k", "2")]));
  });
  const { client } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("suback-props") });
  const properties = { reasonString: "b is private", userProperties: { k: ["1", "2"] } };
  assert.deepEqual(await client.subscribe([{ topic: "a", qos: 1 }, { topic: "b", qos: 1 }]), [
    { topic: "a", qos: 1, reasonCode: 1, properties },
    { topic: "b", qos: 128, reasonCode: 0x87, properties },
  ]);
});

test("a QoS 1/2 publish resolves with its terminal ack: Reason Code and properties; a plain ack with one shared { reasonCode }", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    const first = parsePublish5(await conn.next(PacketType.PUBLISH));
    conn.send(ack5(PacketType.PUBACK, first.packetId!, 0, [prop.reasonString("stored"), prop.userProperty("node", "b1")]));
    const second = parsePublish5(await conn.next(PacketType.PUBLISH));
    conn.send(Uint8Array.from([0x40, 2, second.packetId! >> 8, second.packetId! & 0xff])); // Reason Code and properties left out (§3.4.2.1)
    const third = parsePublish5(await conn.next(PacketType.PUBLISH));
    conn.send(ack5(PacketType.PUBACK, third.packetId!, 0));
    const fourth = parsePublish5(await conn.next(PacketType.PUBLISH));
    conn.send(ack5(PacketType.PUBACK, fourth.packetId!, 0x10));
    const fifth = parsePublish5(await conn.next(PacketType.PUBLISH));
    conn.send(ack5(PacketType.PUBREC, fifth.packetId!, 0, [prop.reasonString("received")]));
    await conn.next(PacketType.PUBREL);
    conn.send(ack5(PacketType.PUBCOMP, fifth.packetId!, 0, [prop.userProperty("done", "yes")]));
  });
  const { client } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("acks") });
  assert.deepEqual(await client.publish("a", "1", { qos: 1 }), { reasonCode: 0, properties: { reasonString: "stored", userProperties: { node: "b1" } } });
  const plain = await client.publish("a", "2", { qos: 1 });
  assert.deepEqual(plain, { reasonCode: 0 });
  assert.ok(Object.isFrozen(plain), "frozen");
  assert.equal(await client.publish("a", "3", { qos: 1 }), plain, "the same object for every plain ack");
  assert.deepEqual(await client.publish("a", "4", { qos: 1 }), { reasonCode: 0x10 }, "No matching subscribers");
  assert.deepEqual(await client.publish("a", "5", { qos: 2 }), { reasonCode: 0, properties: { userProperties: { done: "yes" } } }, "QoS 2: the PUBCOMP's");
  assert.equal(await client.publish("a", "6", { qos: 0 }), undefined, "QoS 0: undefined");
});

test("unsubscribe() resolves with each filter's UNSUBACK Reason Code (0x11: no subscription existed) and its properties", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    const subscribe = await conn.next(PacketType.SUBSCRIBE);
    conn.send(suback5((subscribe.body[0] << 8) | subscribe.body[1], [1]));
    const unsubscribe = await conn.next(PacketType.UNSUBSCRIBE);
    conn.send(unsuback5((unsubscribe.body[0] << 8) | unsubscribe.body[1], [0, 0x11], [prop.reasonString("b was not subscribed")]));
    const plain = await conn.next(PacketType.UNSUBSCRIBE);
    conn.send(unsuback5((plain.body[0] << 8) | plain.body[1], [0x11]));
  });
  const { client } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("unsuback") });
  await client.subscribe("a", { qos: 1 });
  const properties = { reasonString: "b was not subscribed" };
  assert.deepEqual(await client.unsubscribe(["a", "b"]), [
    { topic: "a", reasonCode: 0, properties },
    { topic: "b", reasonCode: 0x11, properties },
  ]);
  assert.deepEqual(await client.unsubscribe("c"), [{ topic: "c", reasonCode: 0x11 }]);
});

test("an UNSUBACK whose Reason Codes do not match the UNSUBSCRIBE's filters one for one closes with PROTOCOL_ERROR; the resend is answered", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    const unsubscribe = await conn.next(PacketType.UNSUBSCRIBE);
    const packetId = (unsubscribe.body[0] << 8) | unsubscribe.body[1];
    conn.send(unsuback5(packetId, conn.index === 0 ? [0] : [0x11, 0x11]));
  });
  const { client, rec } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("unsuback-count") });
  const unsubscribed = client.unsubscribe(["a", "b"]);
  await rec.waitForError("PROTOCOL_ERROR");
  assert.deepEqual(await unsubscribed, [{ topic: "a", reasonCode: 0x11 }, { topic: "b", reasonCode: 0x11 }]);
  assert.deepEqual(disconnectCodes(fake.connections[0]), [0x82]);
});

// Each malformed-property class of MQTT 5.0 §2.2.2 in a broker's PUBLISH: the raw property
// block (Property Length first) and the Reason Code the client must DISCONNECT with.
for (const [label, rawProperties, reason] of [
  ["an unknown property identifier", [2, 0x05, 0x00], 0x81],
  ["a property a PUBLISH may not carry (Session Expiry Interval)", [5, 0x11, 0, 0, 0, 1], 0x81],
  ["a single-use property twice (Content Type)", [8, 0x03, 0, 1, 0x61, 0x03, 0, 1, 0x62], 0x82],
  ["a truncated value (Message Expiry Interval of 2 bytes)", [3, 0x02, 0, 1], 0x81],
  ["a Variable Byte Integer of 5 bytes (Subscription Identifier)", [6, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x01], 0x81],
  ["a Subscription Identifier of 0", [2, 0x0b, 0x00], 0x82],
  ["a Payload Format Indicator of 2", [2, 0x01, 0x02], 0x82],
  ["invalid UTF-8 in a string property (Content Type)", [4, 0x03, 0, 1, 0xff], 0x81],
  ["a Property Length beyond the packet", [40, 0x01, 0x01], 0x81],
] as const) {
  test(`malformed properties, ${label}: DISCONNECT 0x${reason.toString(16)}, reported with that reasonCode`, async (t) => {
    const fake = await fakeBroker(t, async (conn) => {
      await accept(conn);
      if (conn.index === 0) conn.send(publish5({ topic: "t", rawProperties: [...rawProperties] }));
    });
    const { rec } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("bad-props") });
    const error = (await rec.waitForError(reason === 0x81 ? "MALFORMED_PACKET" : "PROTOCOL_ERROR")) as Error & { reasonCode?: number };
    assert.equal(error.reasonCode, reason);
    await fake.connections[0].closed;
    assert.deepEqual(disconnectCodes(fake.connections[0]), [reason]);
    assert.equal(rec.messages().length, 0, "nothing of a bad PUBLISH is delivered");
  });
}

test("subscribe and unsubscribe User Properties go in the SUBSCRIBE / UNSUBSCRIBE, again in the resend after a reconnect", async (t) => {
  const subscribes: Packet[] = [];
  const unsubscribes: Packet[] = [];
  const fake = await fakeBroker(t, async (conn) => {
    await accept(conn);
    const subscribe = await conn.next(PacketType.SUBSCRIBE);
    subscribes.push(subscribe);
    if (conn.index === 0) return conn.close(); // unanswered: sent again on the next connection
    conn.send(suback5((subscribe.body[0] << 8) | subscribe.body[1], [1]));
    const unsubscribe = await conn.next(PacketType.UNSUBSCRIBE);
    unsubscribes.push(unsubscribe);
    conn.send(Uint8Array.from([0xb0, 4, unsubscribe.body[0], unsubscribe.body[1], 0, 0]));
  });
  const { client } = await openClient(t, fake.url, { ...V5, clientId: uniqueId("sub-props") });
  const granted = await client.subscribe("a/b", { qos: 1, properties: { subscriptionIdentifier: 9, userProperties: { app: "x", k: ["1", "2"] } } });
  assert.equal(granted[0].qos, 1);
  await client.unsubscribe("a/b", { properties: { userProperties: { why: "done" } } });
  assert.equal(subscribes.length, 2, "sent, then sent again after the reconnect");
  for (const subscribe of subscribes) {
    assert.deepEqual(decodeProperties(propertiesAt(subscribe, 2)), { subscriptionIdentifier: 9, userProperties: { app: "x", k: ["1", "2"] } });
  }
  assert.deepEqual(decodeProperties(propertiesAt(unsubscribes[0], 2)), { userProperties: { why: "done" } });
  await assert.rejects(client.subscribe("c", { properties: { userProperties: { big: "x".repeat(100) } } }), /take 108 bytes encoded: more than a subscription slot/);
  await assert.rejects(client.unsubscribe("c", { properties: { reasonString: "x" } as object }), /unknown option `properties.reasonString`/);
});
