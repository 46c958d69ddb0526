/**
 * MQTT 5.0 against the scripted fake broker (support/fake-broker.ts): a broker's Receive
 * Maximum honoured, a PUBACK Reason Code rejecting its publish, and the DISCONNECT with a
 * Reason Code the client sends before closing for bad input (MQTT 5.0 §4.13). Also the
 * host API's refusals of MQTT 5 options.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeProperties } from "../../host/properties.ts";
import { fakeBroker, openClient, rejection, uniqueId } from "./support/client-helpers.ts";
import { type FakeConnection, PacketType, type Packet } from "./support/fake-broker.ts";
import { ack5, connack5, parseConnect5, parsePublish5, prop, publish5 } from "./support/mqtt5-packets.ts";

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
