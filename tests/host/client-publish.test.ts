/**
 * PUBLISH through the host API: QoS 0/1/2 both ways with binary payloads and the packet
 * flows behind them, retained messages set and cleared, DUP and packet ids on resend
 * after a lost connection, inbound QoS 2 delivered exactly once, and the argument checks.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import {
  allByteValues,
  hex,
  openClient,
  rejection,
  text,
  uniqueId,
  uniqueTopic,
  within,
  type Trace,
  fakeBroker,
} from "./support/client-helpers.ts";
import {
  PacketType,
  connack,
  defaultScript,
  packetIdOf,
  parsePublish,
  parseSubscribe,
  publish,
  puback,
  pubrel,
  scriptWith,
  suback,
  type FakeConnection,
  type Script,
} from "./support/fake-broker.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());


/** The traces of one packet id as "direction TYPE" strings, in order. */
function flow(traces: Trace[], packetId: number): string[] {
  return traces.filter((p) => p.packetId === packetId && p.type !== "SUBSCRIBE" && p.type !== "SUBACK").map((p) => `${p.direction} ${p.type}`);
}

for (const qos of [0, 1, 2] as const) {
  test(`QoS ${qos}: all 256 byte values go out and come back byte-exact, with the QoS ${qos} packet flow`, async (t) => {
    const topic = uniqueTopic(`publish/qos${qos}`);
    const { client: subscriber, rec: subRec } = await openClient(t, broker.url, { clientId: uniqueId("sub") });
    const granted = await subscriber.subscribe(topic, { qos: 2 });
    assert.deepEqual(granted, [{ topic, qos: 2 }]);
    const { client: publisher, rec: pubRec } = await openClient(t, broker.url, { clientId: uniqueId("pub") });
    const payload = allByteValues();

    const from = pubRec.mark();
    await within(3000, "publish()", publisher.publish(topic, payload, { qos }));
    const [message] = await subRec.waitForMessages(1, { topic });
    assert.equal(hex(message.payload), hex(payload));
    assert.deepEqual({ ...message.meta }, { qos, retain: false, dup: false });

    // the publish resolved only after the whole QoS flow (its traces follow a turn later)
    const expected = [[], ["out PUBLISH", "in PUBACK"], ["out PUBLISH", "in PUBREC", "out PUBREL", "in PUBCOMP"]][qos];
    await pubRec.waitForPacket("out", "PUBLISH", { from });
    const publishOut = pubRec.packets(from).find((p) => p.direction === "out" && p.type === "PUBLISH")!;
    if (qos > 0) await pubRec.until("publisher QoS flow traced", () => flow(pubRec.packets(from), publishOut.packetId).length >= expected.length, 2000, from);
    const out = pubRec.packets(from);
    assert.equal(publishOut.flags, qos << 1);
    assert.equal(publishOut.remainingLength, 2 + topic.length + (qos > 0 ? 2 : 0) + 256);
    if (qos === 0) assert.equal(publishOut.packetId, 0);
    else assert.deepEqual(flow(out, publishOut.packetId), expected);

    // and the subscriber's side of the flow
    const subFlow = [[], ["in PUBLISH", "out PUBACK"], ["in PUBLISH", "out PUBREC", "in PUBREL", "out PUBCOMP"]][qos];
    if (qos > 0) {
      const publishIn = subRec.packets().find((p) => p.direction === "in" && p.type === "PUBLISH")!;
      await subRec.until("subscriber QoS flow", () => flow(subRec.packets(), publishIn.packetId).length >= subFlow.length);
      assert.deepEqual(flow(subRec.packets(), publishIn.packetId), subFlow);
    }
  });
}

test("the subscription QoS caps the delivery QoS; string payloads go as UTF-8", async (t) => {
  const topic = uniqueTopic("publish/downgrade");
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("downgrade") });
  assert.deepEqual(await client.subscribe(topic, { qos: 0 }), [{ topic, qos: 0 }]);
  await client.publish(topic, "grüße €", { qos: 2 });
  const [message] = await rec.waitForMessages(1, { topic });
  assert.equal(message.meta.qos, 0);
  assert.equal(hex(message.payload), Buffer.from("grüße €", "utf8").toString("hex"));
});

test("a 6000-byte payload, 100 pipelined QoS 1 publishes (in order) and 40 pipelined QoS 2 publishes all arrive", async (t) => {
  const topic = uniqueTopic("publish/bulk");
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("bulk") });
  await client.subscribe(topic, { qos: 1 });
  const big = randomBytes(6000);
  await within(3000, "big publish", client.publish(topic, big, { qos: 1 }));
  const [first] = await rec.waitForMessages(1, { topic });
  assert.equal(hex(first.payload), hex(big));

  const from = rec.mark();
  const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
  await within(5000, "100 publishes", Promise.all(sent.map((m) => client.publish(topic, m, { qos: 1 }))));
  const got = await rec.waitForMessages(100, { topic, from, timeoutMs: 5000 });
  assert.deepEqual(got.map((m) => text(m.payload)), sent);

  // QoS 2 through the in-flight window (16 on desktop) too
  const from2 = rec.mark();
  const sent2 = Array.from({ length: 40 }, (_, i) => `q2-${i}`);
  await within(5000, "40 QoS 2 publishes", Promise.all(sent2.map((m) => client.publish(topic, m, { qos: 2 }))));
  const got2 = await rec.waitForMessages(40, { topic, from: from2, timeoutMs: 5000 });
  assert.deepEqual(got2.map((m) => text(m.payload)).sort(), [...sent2].sort());
  const stats = client.stats();
  assert.equal(stats.inflight.used, 0);
  assert.equal(stats.outbox.used, 0, "every acknowledged PUBLISH left the outbox");
  assert.ok(stats.outbox.highWater > 0 && stats.outbox.highWater <= stats.outbox.capacity);
});

test("retain: a new subscriber gets the retained message flagged; an empty retained payload clears it", async (t) => {
  const base = uniqueTopic("publish/retain");
  const topic = `${base}/value`;
  const { client: live, rec: liveRec } = await openClient(t, broker.url, { clientId: uniqueId("live") });
  await live.subscribe(`${base}/#`, { qos: 1 });
  const { client: publisher } = await openClient(t, broker.url, { clientId: uniqueId("retainer") });
  const payload = allByteValues();
  await publisher.publish(topic, payload, { qos: 1, retain: true });

  // a subscriber that was there already gets it as a live message, retain clear (§3.3.1.3)
  const [liveMessage] = await liveRec.waitForMessages(1, { topic });
  assert.equal(liveMessage.meta.retain, false);

  const { client: late, rec: lateRec } = await openClient(t, broker.url, { clientId: uniqueId("late") });
  await late.subscribe(topic, { qos: 1 });
  const [retained] = await lateRec.waitForMessages(1, { topic });
  assert.equal(retained.meta.retain, true);
  assert.equal(retained.meta.qos, 1);
  assert.equal(hex(retained.payload), hex(payload));

  await publisher.publish(topic, new Uint8Array(0), { qos: 1, retain: true });
  const { client: later, rec: laterRec } = await openClient(t, broker.url, { clientId: uniqueId("later") });
  await later.subscribe(`${base}/#`, { qos: 1 });
  // a retained message would come right after the SUBACK, before this one
  await publisher.publish(`${base}/sentinel`, "after", { qos: 1 });
  const [sentinel] = await laterRec.waitForMessages(1);
  assert.equal(sentinel.topic, `${base}/sentinel`, "the cleared retained message was delivered");
  assert.equal(laterRec.messages(0, topic).length, 0);
});

test("publish rejects an invalid topic or QoS with a stable code and the client keeps working", async (t) => {
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("invalid") });
  for (const topic of ["a/+", "a/#", "+", "", "a\u0000b"]) {
    const error = await rejection(client.publish(topic, "x", { qos: 1 }), `publish(${JSON.stringify(topic)})`);
    assert.equal(error.code, "INVALID_TOPIC", `publish(${JSON.stringify(topic)}): ${error.code} ${error.message}`);
  }
  const error = await rejection(client.publish("ok/topic", "x", { qos: 3 as 2 }), "publish with QoS 3");
  assert.equal(error.code, "INVALID_QOS", `${error.code} ${error.message}`);
  assert.equal(client.stats().outbox.used, 0, "nothing was queued");

  const topic = uniqueTopic("publish/still-works");
  await client.subscribe(topic, { qos: 1 });
  await client.publish(topic, "fine", { qos: 1 });
  await rec.waitForMessages(1, { topic });
  assert.equal(rec.errors().length, 0, `unexpected errors:\n${rec.summary()}`);
});

test("a payload too large for the profile is refused at publish(), nothing is sent", async (t) => {
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("too-big"), profile: "nodemcu" });
  const from = rec.mark();
  const error = await rejection(client.publish("big/one", new Uint8Array(4000), { qos: 1 }), "publish of 4000 bytes on nodemcu");
  assert.ok(error.code === "PACKET_TOO_LARGE" || error.code === "INVALID_ARGUMENT", `${error.code} ${error.message}`);
  assert.equal(rec.packets(from).filter((p) => p.type === "PUBLISH").length, 0);
  await client.publish("big/one", new Uint8Array(200), { qos: 1 });
});

// ---- resend after a lost connection (fake broker) ------------------------------

/**
 * A script that answers CONNECT, then on the first connection lets `firstConnection`
 * decide when to drop it; later connections behave normally (session present).
 */
function dropFirst(firstConnection: (conn: FakeConnection) => Promise<void>): Script {
  return async (conn) => {
    await conn.next(PacketType.CONNECT);
    conn.send(connack(conn.index > 0, 0));
    if (conn.index === 0) {
      await firstConnection(conn);
      conn.destroy();
      return;
    }
    await defaultScript(conn);
  };
}

for (const qos of [1, 2] as const) {
  test(`QoS ${qos}: PUBLISHes left unacknowledged by a lost connection are resent with DUP, same ids, same order`, async (t) => {
    const fake = await fakeBroker(t, dropFirst(async (conn) => {
      for (let i = 0; i < 3; i++) await conn.next(PacketType.PUBLISH); // withhold every ack
    }));
    const { client, rec } = await openClient(t, fake.url, { clientId: "resender", clean: false });
    const payloads = [allByteValues(), Uint8Array.of(1), Uint8Array.of(2)];
    const done = Promise.all(payloads.map((p, i) => client.publish(`dup/${i}`, p, { qos })));
    await within(4000, "publishes completed after the reconnect", done);

    const [firstConn, secondConn] = fake.connections;
    const before = firstConn.packets.filter((p) => p.type === PacketType.PUBLISH).map(parsePublish);
    const resent = secondConn.packets.filter((p) => p.type === PacketType.PUBLISH).map(parsePublish);
    assert.equal(before.length, 3);
    assert.deepEqual(before.map((p) => p.dup), [false, false, false]);
    assert.deepEqual(resent.map((p) => p.dup), [true, true, true]);
    assert.deepEqual(resent.map((p) => p.packetId), before.map((p) => p.packetId));
    assert.deepEqual(resent.map((p) => p.topic), ["dup/0", "dup/1", "dup/2"]);
    assert.deepEqual(resent.map((p) => p.qos), [qos, qos, qos]);
    assert.deepEqual(resent.map((p) => hex(p.payload)), payloads.map(hex));
    assert.ok(rec.all("reconnect").length >= 1 || rec.all("connect").length >= 1, `no reconnect seen:\n${rec.summary()}`);
    assert.equal(client.stats().outbox.used, 0);
  });
}

test("QoS 2: a PUBREL left without PUBCOMP is resent after reconnect, the PUBLISH is not", async (t) => {
  let packetId = 0;
  const fake = await fakeBroker(t, dropFirst(async (conn) => {
    const p = parsePublish(await conn.next(PacketType.PUBLISH));
    packetId = p.packetId!;
    conn.send(publishAck(PacketType.PUBREC, packetId));
    await conn.next(PacketType.PUBREL); // withhold PUBCOMP
  }));
  const { client } = await openClient(t, fake.url, { clientId: "pubrel-resender", clean: false });
  await within(4000, "QoS 2 publish completed after the reconnect", client.publish("dup/pubrel", "x", { qos: 2 }));
  const secondConn = fake.connections[1];
  assert.ok(secondConn, "the client reconnected");
  const types = secondConn.packets.slice(1).map((p) => p.type);
  assert.ok(!types.includes(PacketType.PUBLISH), `the PUBLISH was sent again: ${types}`);
  const resentPubrel = secondConn.packets.find((p) => p.type === PacketType.PUBREL);
  assert.ok(resentPubrel);
  assert.equal(resentPubrel.flags, 0x02);
  assert.equal(packetIdOf(resentPubrel), packetId);
});

test(
  "QoS 2: after a PUBREL resent on reconnect is completed, the in-flight slot is free and later publishes go out",
  async (t) => {
    const fake = await fakeBroker(t, dropFirst(async (conn) => {
      const p = parsePublish(await conn.next(PacketType.PUBLISH));
      conn.send(publishAck(PacketType.PUBREC, p.packetId!));
      await conn.next(PacketType.PUBREL); // withhold PUBCOMP
    }));
    const { client } = await openClient(t, fake.url, { clientId: "pubrel-slot", clean: false });
    await within(4000, "QoS 2 publish completed after the reconnect", client.publish("slot/first", "x", { qos: 2 }));
    assert.equal(client.stats().inflight.used, 0, `in-flight after the flow completed: ${client.stats().inflight.used}`);
    await within(2000, "a QoS 1 publish after it", client.publish("slot/after", "y", { qos: 1 }));
    await within(2000, "a QoS 2 publish after it", client.publish("slot/after", "z", { qos: 2 }));
    assert.equal(client.stats().inflight.used, 0);
  },
);

test("a broker answering QoS 2 with PUBACK (a downgrade to QoS 1): every publish settles, in-flight returns to 0, nothing is resent", async (t) => {
  const fake = await fakeBroker(t, scriptWith({
    [PacketType.PUBLISH]: (p, conn) => {
      const { packetId } = parsePublish(p);
      if (packetId !== undefined) conn.send(puback(packetId));
    },
  }));
  const { client, rec } = await openClient(t, fake.url, { clientId: uniqueId("downgrade"), clean: false });
  for (let i = 0; i < 20; i++) await within(2000, `QoS 2 publish ${i} of 20 in a row`, client.publish("down/row", `m${i}`, { qos: 2 }));
  const together = Array.from({ length: 20 }, (_, i) => client.publish("down/together", `m${i}`, { qos: 2 }));
  await within(4000, "20 QoS 2 publishes at once (more than the in-flight slots)", Promise.all(together));
  const stats = client.stats();
  assert.equal(stats.inflight.used, 0);
  assert.equal(stats.outbox.used, 0);
  assert.equal(stats.qos2Downgraded, 40);
  assert.equal(fake.connections[0].packets.filter((p) => p.type === PacketType.PUBREL).length, 0);

  const from = rec.mark();
  fake.connections[0].destroy();
  await rec.waitFor("connect", { from });
  await within(2000, "a QoS 1 publish on the new connection", client.publish("down/after", "after", { qos: 1 }));
  const resent = fake.connections[1].packets.filter((p) => p.type === PacketType.PUBLISH).map(parsePublish);
  assert.deepEqual(resent.map((p) => [p.topic, p.dup]), [["down/after", false]], "a completed publish was sent again");
});

/** PUBACK/PUBREC/PUBCOMP bytes. */
function publishAck(type: number, packetId: number): Uint8Array {
  return Uint8Array.of(type << 4, 2, packetId >> 8, packetId & 0xff);
}

// ---- inbound QoS 2 exactly once (fake broker) ------------------------------------

test("inbound QoS 2: a PUBLISH resent before PUBREL is delivered once; the id is reusable after PUBCOMP", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT);
    conn.send(connack(false, 0));
    conn.send(suback(parseSubscribe(await conn.next(PacketType.SUBSCRIBE)).packetId, [2]));
    conn.send(publish({ topic: "q2/x", payload: "first", qos: 2, packetId: 9 }));
    await conn.next(PacketType.PUBREC);
    conn.send(publish({ topic: "q2/x", payload: "first", qos: 2, packetId: 9, dup: true }));
    await conn.next(PacketType.PUBREC);
    conn.send(pubrel(9));
    await conn.next(PacketType.PUBCOMP);
    conn.send(publish({ topic: "q2/x", payload: "second", qos: 2, packetId: 9 }));
    await conn.next(PacketType.PUBREC);
    conn.send(pubrel(9));
    await conn.next(PacketType.PUBCOMP);
    await defaultScript(conn);
  });
  const { client, rec } = await openClient(t, fake.url, { clientId: "exactly-once" });
  await client.subscribe("q2/#", { qos: 2 });
  const conn = await fake.waitForConnection(1);
  await within(3000, "second PUBCOMP", (async () => {
    while (conn.packets.filter((p) => p.type === PacketType.PUBCOMP).length < 2) await new Promise((r) => setTimeout(r, 5));
  })());
  await rec.waitForMessages(2);
  const messages = rec.messages();
  assert.deepEqual(messages.map((m) => text(m.payload)), ["first", "second"]);
  assert.deepEqual(messages.map((m) => m.meta.qos), [2, 2]);
  const pubrecs = conn.packets.filter((p) => p.type === PacketType.PUBREC).map(packetIdOf);
  assert.deepEqual(pubrecs, [9, 9, 9], "every PUBLISH, the duplicate too, is answered with PUBREC");
  assert.equal(client.stats().messagesDelivered, 2);
});

test("inbound QoS 2 across a reconnect: the broker's resend after PUBREC is not delivered again", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT);
    conn.send(connack(conn.index > 0, 0));
    if (conn.index === 0) {
      conn.send(publish({ topic: "q2/resume", payload: allByteValues(), qos: 2, packetId: 5 }));
      await conn.next(PacketType.PUBREC);
      conn.destroy();
      return;
    }
    conn.send(publish({ topic: "q2/resume", payload: allByteValues(), qos: 2, packetId: 5, dup: true }));
    await conn.next(PacketType.PUBREC);
    conn.send(pubrel(5));
    await conn.next(PacketType.PUBCOMP);
    conn.send(publish({ topic: "q2/resume", payload: "next", qos: 1, packetId: 6 }));
    await defaultScript(conn);
  });
  const { client, rec } = await openClient(t, fake.url, { clientId: "exactly-once-resume", clean: false });
  await rec.waitForMessages(2, { timeoutMs: 4000 });
  const second = await fake.waitForConnection(2);
  await second.waitForPacket(PacketType.PUBACK);
  const messages = rec.messages();
  assert.deepEqual(messages.map((m) => m.topic), ["q2/resume", "q2/resume"]);
  assert.equal(hex(messages[0].payload), hex(allByteValues()));
  assert.equal(text(messages[1].payload), "next");
  assert.equal(packetIdOf(second.packets.find((p) => p.type === PacketType.PUBCOMP)!), 5);
  assert.equal(client.stats().messagesDelivered, 2);
});
