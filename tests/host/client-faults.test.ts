/**
 * Faults through the host API: keepalive (PINGREQ when idle, a silent broker or a
 * black-holed link detected and reconnected), the will on abrupt loss, a broker
 * restart while publishing, and a fake broker sending malformed, unexpected, oversized
 * or oddly chunked input, after which the client reconnects and works.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect } from "../../host/index.ts";
import {
  FAST,
  allByteValues,
  collectMqttJs,
  hex,
  openClient,
  openMqttJs,
  rejection,
  sleep,
  text,
  uniqueId,
  uniqueTopic,
  until,
  within,
  type ClientOptions,
  type Opened,
  fakeBroker,
} from "./support/client-helpers.ts";
import {
  PacketType,
  concat,
  connack,
  defaultScript,
  encodeRemainingLength,
  packetIdOf,
  parseSubscribe,
  publish,
  pubrel,
  scriptWith,
  suback,
  type FakeBroker,
  type FakeConnection,
  type Script,
} from "./support/fake-broker.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { startFaultProxy } from "../../host/net/fault-proxy.ts";
import { mosquittoSubStart } from "./support/mosquitto-clients.ts";

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());


/** Subscribes and publishes once more (fake broker: acknowledged, not echoed), proving the client works after a fault. */
async function stillWorks({ client, rec }: Opened, topic: string): Promise<void> {
  const granted = await within(4000, "subscribe after the fault", client.subscribe(topic, { qos: 1 }));
  assert.deepEqual(granted, [{ topic, qos: 1 }]);
  const from = rec.mark();
  await within(4000, "publish after the fault", client.publish(topic, "after the fault", { qos: 1 }));
  const puback = await rec.waitForPacket("in", "PUBACK", { from }); // traces follow a turn after the promise
  const sent = rec.packets(from).find((p) => p.direction === "out" && p.type === "PUBLISH");
  assert.equal(sent?.packetId, puback.packetId, rec.summary(from));
  assert.equal(sent?.flags, 0x02, "a fresh QoS 1 PUBLISH, no DUP");
  assert.equal(client.connected, true);
}

// ---- keepalive -------------------------------------------------------------------

test("keepalive: an idle client sends PINGREQ after the keepalive period and gets PINGRESP", async (t) => {
  const fake = await fakeBroker(t, defaultScript);
  const connectedAt = Date.now();
  const { rec } = await openClient(t, fake.url, { clientId: "idle", keepalive: 1 });
  const conn = await fake.waitForConnection(1);
  await conn.waitForPacket(PacketType.PINGREQ, 2500);
  const after = Date.now() - connectedAt;
  assert.ok(after >= 900, `PINGREQ after only ${after} ms of a 1 s keepalive`);
  const ping = conn.packets.find((p) => p.type === PacketType.PINGREQ)!;
  assert.deepEqual([...ping.bytes], [0xc0, 0x00]);
  await rec.waitForPacket("out", "PINGREQ");
  await rec.waitForPacket("in", "PINGRESP");
  // the connection stays up across several periods
  await sleep(1200);
  assert.ok(conn.packets.filter((p) => p.type === PacketType.PINGREQ).length >= 2);
  assert.equal(fake.connectionCount, 1);
  assert.equal(rec.errors().length, 0, rec.summary());
});

test("keepalive: a broker that stops answering is detected (KEEPALIVE_TIMEOUT), then the client reconnects", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    if (conn.index === 0) await scriptWith({ [PacketType.PINGREQ]: () => {} })(conn); // silent from the first PINGREQ on
    else await defaultScript(conn);
  });
  const opened = await openClient(t, fake.url, { clientId: "unanswered", keepalive: 1 });
  const { rec } = opened;
  const started = Date.now();
  const { error, index } = await rec.waitForErrorEntry("KEEPALIVE_TIMEOUT", { timeoutMs: 4000 });
  const took = Date.now() - started;
  assert.ok(took >= 1500 && took < 3500, `detected after ${took} ms with a 1 s keepalive`);
  assert.ok(error instanceof Error);
  const [reason] = (await rec.waitFor("offline")) as [{ code?: string }];
  assert.equal(reason.code, "KEEPALIVE_TIMEOUT");
  await within(2000, "the silent connection closed by the client", fake.connections[0].closed);
  await fake.waitForConnection(2, 2000);
  await rec.waitFor("connect", { from: index + 1, what: "connect event after the reconnect" });
  await stillWorks(opened, "keepalive/after");
});

test("keepalive: a black-holed link to Mosquitto is detected, and the client is back once it is lifted", async (t) => {
  const p = await startFaultProxy(broker.port);
  t.after(() => p.close());
  const opened = await openClient(t, p.url, { clientId: uniqueId("blackhole"), keepalive: 1, connectTimeout: 800 });
  const { client, rec } = opened;
  const topic = uniqueTopic("faults/blackhole");
  await client.subscribe(topic, { qos: 1 });
  p.blackhole(true);
  const from = rec.mark();
  await rec.waitForError("KEEPALIVE_TIMEOUT", { from, timeoutMs: 4000 });
  await rec.waitFor("offline", { from });
  assert.equal(client.connected, false);
  assert.ok(p.stats.bytesDiscarded > 0, "the PINGREQ went into the black hole");

  p.blackhole(false);
  p.dropAll();
  await rec.waitFor("connect", { from, timeoutMs: 4000 });
  await client.publish(topic, "back", { qos: 1 });
  const [message] = await rec.waitForMessages(1, { from, topic });
  assert.equal(text(message.payload), "back");
});

// ---- will ------------------------------------------------------------------------

test("the will is published when the connection is lost abruptly, and not after end()", async (t) => {
  const p = await startFaultProxy(broker.port);
  t.after(() => p.close());
  const willTopic = uniqueTopic("faults/will");
  const willPayload = allByteValues();
  const watcher = mosquittoSubStart(broker, ["-t", willTopic, "-N", "-q", "1"], { count: 1, timeoutMs: 4000 });
  await watcher.ready;
  const { rec } = await openClient(t, p.url, {
    clientId: uniqueId("will"),
    will: { topic: willTopic, payload: willPayload, qos: 1, retain: false },
    reconnect: false,
  } as ClientOptions);
  const from = rec.mark();
  p.refuse(true);
  p.dropAll(); // the broker sees the TCP connection die without DISCONNECT
  const result = await watcher.done;
  assert.equal(result.timedOut, false, "no will message arrived");
  assert.equal(hex(result.stdout), hex(willPayload));
  await rec.waitFor("offline", { from });

  // a clean end sends DISCONNECT: the broker must discard the will
  const quietTopic = uniqueTopic("faults/no-will");
  const quiet = mosquittoSubStart(broker, ["-t", quietTopic, "-N"], { count: 1, timeoutMs: 1000 });
  await quiet.ready;
  const { client } = await openClient(t, broker.url, {
    clientId: uniqueId("no-will"),
    will: { topic: quietTopic, payload: "should not be sent", qos: 1, retain: false },
  } as ClientOptions);
  await within(3000, "end()", client.end());
  const none = await quiet.done;
  assert.equal(none.timedOut, true);
  assert.equal(none.stdout.length, 0, `will published after end(): ${none.stdout.toString()}`);
});

// ---- broker restart --------------------------------------------------------------

test("a broker restart while publishing loses none of the QoS 1 and 2 messages", async (t) => {
  const durable = await startMosquitto({ websockets: false, persistence: true });
  t.after(() => durable.stop());
  const topic = uniqueTopic("faults/restart");
  const subscriber = await openMqttJs(t, durable.url, { clientId: uniqueId("restart-sub"), clean: false, reconnectPeriod: 100 });
  const seen = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 2 });

  const { client, rec } = await openClient(t, durable.url, { clientId: uniqueId("restart-pub"), clean: false });
  const sent: string[] = [];
  const publishes: Promise<unknown>[] = [];
  for (let i = 0; i < 40; i++) {
    const payload = `m${i}`;
    sent.push(payload);
    publishes.push(client.publish(topic, payload, { qos: i % 2 === 0 ? 1 : 2 }));
    if (i === 15) await durable.restart();
    else await sleep(10);
  }
  const pending = new Set(sent);
  publishes.forEach((done, i) => done.then(() => pending.delete(sent[i]), () => {}));
  await until("every publish completed", () => pending.size === 0, 10_000, () =>
    `pending: ${[...pending].join(", ")}\nstats: ${JSON.stringify(client.stats())}\nevents:\n${rec.summary()}`,
  );
  await until("every message at the subscriber", () => sent.every((m) => seen.some((s) => s.payload.toString() === m)), 5000, () => {
    const got = new Set(seen.map((s) => s.payload.toString()));
    return `missing: ${sent.filter((m) => !got.has(m)).join(", ")}`;
  });
  assert.ok(rec.all("offline").length >= 1, "the restart was not noticed");
  assert.ok(client.stats().reconnects >= 1);
  assert.equal(client.stats().outbox.used, 0);
});

// ---- malformed and unexpected input (fake broker) ----------------------------------

/** Connection 1 gets a CONNACK and then `bad`; later connections behave. */
function misbehaveOnce(bad: (conn: FakeConnection) => Promise<void> | void): Script {
  return async (conn) => {
    if (conn.index > 0) return defaultScript(conn);
    await conn.next(PacketType.CONNECT);
    conn.send(connack(false, 0));
    await bad(conn);
    await defaultScript(conn);
  };
}

/** Expects `code` as an "error" event, the bad connection closed, a reconnect, and a working client. */
async function expectRecovery(fake: FakeBroker, opened: Opened, code: string): Promise<void> {
  const { client, rec } = opened;
  const { error, index } = await rec.waitForErrorEntry(code);
  assert.equal(error.code, code);
  const [reason] = (await rec.waitFor("offline")) as [{ code?: string }];
  assert.equal(reason.code, code);
  await within(2000, "the client closed the bad connection", fake.connections[0].closed);
  await fake.waitForConnection(2, 3000);
  await rec.waitFor("connect", { from: index + 1, what: "connect event after the reconnect" });
  assert.ok(client.stats().protocolErrors >= 1, `protocolErrors ${client.stats().protocolErrors}`);
  await stillWorks(opened, "recovered/topic");
}

const u16 = (n: number) => [n >> 8, n & 0xff];
const MALFORMED: [name: string, code: string, bytes: number[]][] = [
  ["a remaining length of five bytes", "MALFORMED_PACKET", [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ["reserved packet type 0", "MALFORMED_PACKET", [0x00, 0x00]],
  ["reserved packet type 15", "MALFORMED_PACKET", [0xf0, 0x00]],
  ["a PUBLISH with a + wildcard in its topic", "MALFORMED_PACKET", [...publish({ topic: "a/+", payload: "x" })]],
  ["a PUBLISH with a # wildcard in its topic", "MALFORMED_PACKET", [...publish({ topic: "a/#", payload: "x", qos: 1, packetId: 3 })]],
  ["a PUBLISH whose topic is invalid UTF-8", "MALFORMED_PACKET", [0x30, 6, 0, 2, 0xc3, 0x28, 0x78, 0x79]],
  ["a PUBLISH whose topic contains U+0000", "MALFORMED_PACKET", [0x30, 5, 0, 3, 0x61, 0x00, 0x62]],
  ["a PUBLISH whose topic length runs past the packet", "MALFORMED_PACKET", [0x30, 4, 0, 9, 0x61, 0x62]],
  ["a PUBLISH with QoS 3", "MALFORMED_PACKET", [0x36, 5, 0, 1, 0x61, 0, 1]],
  ["a QoS 1 PUBLISH with packet id 0", "MALFORMED_PACKET", [0x32, 5, 0, 1, 0x61, 0, 0]],
  ["a PUBREL with flags 0", "MALFORMED_PACKET", [0x60, 2, ...u16(1)]],
  ["a PUBACK of three bytes", "MALFORMED_PACKET", [0x40, 3, 0, 1, 0]],
  ["a PINGRESP with a body", "MALFORMED_PACKET", [0xd0, 1, 0]],
  ["a SUBACK with header flags", "MALFORMED_PACKET", [0x92, 3, 0, 1, 0]],
  ["a second CONNACK", "PROTOCOL_ERROR", [...connack(false, 0)]],
  ["a SUBSCRIBE sent by the server", "PROTOCOL_ERROR", [0x82, 6, 0, 1, 0, 1, 0x61, 0]],
  ["a CONNECT sent by the server", "PROTOCOL_ERROR", [0x10, 0]],
];

for (const [name, code, bytes] of MALFORMED) {
  test(`malformed input: ${name} → ${code}, reconnect, works again`, async (t) => {
    const fake = await fakeBroker(t, misbehaveOnce((conn) => conn.send(bytes)));
    const opened = await openClient(t, fake.url, { clientId: uniqueId("malformed") });
    await expectRecovery(fake, opened, code);
  });
}

test("malformed input: a SUBACK with return code 3 → MALFORMED_PACKET, reconnect, works again", async (t) => {
  const fake = await fakeBroker(t, misbehaveOnce(async (conn) => {
    const subscribe = parseSubscribe(await conn.next(PacketType.SUBSCRIBE));
    conn.send(suback(subscribe.packetId, [3]));
  }));
  const opened = await openClient(t, fake.url, { clientId: uniqueId("bad-suback") });
  opened.client.subscribe("bad/suback", { qos: 1 }).catch(() => {}); // its fate is not the point here
  await expectRecovery(fake, opened, "MALFORMED_PACKET");
});

test("malformed CONNACK (three bytes) rejects connect() with MALFORMED_PACKET", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT);
    conn.send([0x20, 3, 0, 0, 0]);
  });
  const error = await rejection(connect(fake.url, { ...FAST, clientId: "bad-connack" } as ClientOptions), "connect()");
  assert.equal(error.code, "MALFORMED_PACKET", `${error.code} ${error.message}`);
});

test("malformed CONNACK on a reconnect → error MALFORMED_PACKET, then the next attempt succeeds", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT);
    if (conn.index === 0) {
      conn.send(connack(false, 0));
      await sleep(100);
      conn.destroy();
    } else if (conn.index === 1) {
      conn.send([0x20, 1, 0]); // CONNACK of one byte
    } else {
      conn.send(connack(false, 0));
      await defaultScript(conn);
    }
  });
  const opened = await openClient(t, fake.url, { clientId: uniqueId("bad-reconnack") });
  const { index } = await opened.rec.waitForErrorEntry("MALFORMED_PACKET");
  await fake.waitForConnection(3, 3000);
  await opened.rec.waitFor("connect", { from: index + 1, what: "connect after the bad CONNACK" });
  await stillWorks(opened, "reconnack/after");
});

test("nodemcu: more unreleased inbound QoS 2 messages than slots: each delivered once, no disconnect, the overflow counted", async (t) => {
  let slots = 0;
  const fake = await fakeBroker(t, misbehaveOnce(async (conn) => {
    const subscribe = parseSubscribe(await conn.next(PacketType.SUBSCRIBE)); // sent once the test knows the slot count
    conn.send(suback(subscribe.packetId, [2]));
    // one QoS 2 PUBLISH more than the client can hold, none released yet
    for (let i = 1; i <= slots + 1; i++) conn.send(publish({ topic: `q2/${i}`, payload: "held", qos: 2, packetId: i }));
    for (let i = 1; i <= slots + 1; i++) await conn.next(PacketType.PUBREC);
    for (let i = 1; i <= slots + 1; i++) conn.send(pubrel(i));
    for (let i = 1; i <= slots + 1; i++) await conn.next(PacketType.PUBCOMP);
  }));
  const opened = await openClient(t, fake.url, { clientId: uniqueId("qos2-slots"), profile: "nodemcu", connectTimeout: 2000 });
  slots = opened.client.stats().inboundQos2.capacity;
  assert.equal(slots, 32);
  await opened.client.subscribe("q2/#", { qos: 2 });
  const topics = Array.from({ length: slots + 1 }, (_, i) => `q2/${i + 1}`);
  await opened.rec.waitForMessages(slots + 1);
  await until("every PUBCOMP", () => fake.connections[0].packets.filter((p) => p.type === PacketType.PUBCOMP).length === slots + 1);
  assert.deepEqual(opened.rec.messages().map((m) => m.topic), topics);
  assert.deepEqual(opened.rec.all("offline"), [], opened.rec.summary());
  assert.equal(fake.connectionCount, 1);
  const stats = opened.client.stats();
  assert.equal(stats.inboundQos2.overflow, 1);
  assert.equal(stats.inboundQos2.used, 0);
  assert.equal(stats.protocolErrors, 0);
});

for (const [profile, capacity] of [["desktop", 16384], ["nodemcu", 1536]] as const) {
  test(`${profile}: a packet of exactly the rx capacity (${capacity}) is delivered; a PUBLISH one byte more is skipped, a SUBACK is PACKET_TOO_LARGE`, async (t) => {
    const topic = "big/packet";
    /** A QoS 0 PUBLISH of exactly `size` bytes on the wire. */
    const payloadLength = (size: number) => {
      const lengthBytes = [1, 2, 3].find((n) => encodeRemainingLength(size - 1 - n).length === n)!;
      return size - 1 - lengthBytes - 2 - topic.length;
    };
    const sized = (size: number, fill: number) => {
      const bytes = publish({ topic, payload: new Uint8Array(payloadLength(size)).fill(fill) });
      assert.equal(bytes.length, size);
      return bytes;
    };
    const fake = await fakeBroker(t, misbehaveOnce(async (conn) => {
      conn.send(sized(capacity, 0x11));
      await sleep(50);
      conn.send(sized(capacity + 1, 0x22));
      conn.send(publish({ topic: "after/big", payload: "small" }));
      await sleep(50);
      conn.send(suback(1, new Array<number>(capacity).fill(0)));
    }));
    const opened = await openClient(t, fake.url, { clientId: uniqueId("big"), profile });
    assert.equal(opened.client.stats().rx.capacity, capacity);
    const [message, after] = await opened.rec.waitForMessages(2);
    assert.equal(message.payload.length, payloadLength(capacity));
    assert.ok(message.payload.every((b) => b === 0x11));
    assert.equal(after.topic, "after/big");
    assert.deepEqual(opened.rec.all("message-dropped").map((e) => e.args), [[topic, capacity + 1, { qos: 0, retain: false, dup: false }]]);
    assert.equal(opened.rec.all("offline").length, 0, "the skipped PUBLISH closed the connection");
    await expectRecovery(fake, opened, "PACKET_TOO_LARGE");
    assert.equal(opened.rec.messages().length, 2, "the oversized packet was delivered");
    assert.equal(opened.client.stats().rx.highWater <= capacity, true);
    assert.equal(opened.client.stats().rx.oversizeDropped, 1);
  });
}

// ---- chunking of the receive path --------------------------------------------------

test("input split into one-byte writes: CONNACK, PUBLISH QoS 0/1/2 and PUBREL all parse", async (t) => {
  const big = allByteValues(); // a 2-byte remaining length
  const writeByteByByte = async (conn: FakeConnection, bytes: Uint8Array) => {
    for (const b of bytes) {
      conn.send([b]);
      await sleep(1);
    }
  };
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT);
    await writeByteByByte(conn, concat([
      connack(false, 0),
      publish({ topic: "split/0", payload: big }),
      publish({ topic: "split/1", payload: "one", qos: 1, packetId: 0x1234 }),
      publish({ topic: "split/2", payload: "two", qos: 2, packetId: 0x0102 }),
    ]));
    await conn.next(PacketType.PUBREC);
    await writeByteByByte(conn, pubrel(0x0102));
    await defaultScript(conn);
  });
  const opened = await openClient(t, fake.url, { clientId: "one-byte" });
  const messages = await opened.rec.waitForMessages(3, { timeoutMs: 5000 });
  assert.deepEqual(messages.map((m) => [m.topic, m.meta.qos]), [["split/0", 0], ["split/1", 1], ["split/2", 2]]);
  assert.equal(hex(messages[0].payload), hex(big));
  assert.deepEqual(messages.slice(1).map((m) => text(m.payload)), ["one", "two"]);
  const conn = fake.connections[0];
  await conn.waitForPacket(PacketType.PUBCOMP);
  assert.equal(packetIdOf(conn.packets.find((p) => p.type === PacketType.PUBACK)!), 0x1234);
  assert.equal(packetIdOf(conn.packets.find((p) => p.type === PacketType.PUBREC)!), 0x0102);
  assert.equal(packetIdOf(conn.packets.find((p) => p.type === PacketType.PUBCOMP)!), 0x0102);
  assert.equal(opened.rec.errors().length, 0, opened.rec.summary());
  await stillWorks(opened, "split/after");
});

for (const profile of ["desktop", "nodemcu"] as const) {
  test(`${profile}: 60 packets in one write (more than a nodemcu rx buffer) are all handled in order`, async (t) => {
    const count = 60;
    const qosOf = (i: number) => (i % 10 === 9 ? 2 : i % 2) as 0 | 1 | 2;
    const packets = Array.from({ length: count }, (_, i) =>
      publish({ topic: `burst/${i}`, payload: `payload number ${i} `.repeat(3), qos: qosOf(i), packetId: qosOf(i) ? 100 + i : undefined }),
    );
    const qos2Ids = packets.map((_, i) => i).filter((i) => qosOf(i) === 2).map((i) => 100 + i);
    const fake = await fakeBroker(t, async (conn) => {
      await conn.next(PacketType.CONNECT);
      conn.send(concat([connack(false, 0), ...packets]));
      for (let n = 0; n < qos2Ids.length; n++) await conn.next(PacketType.PUBREC);
      conn.send(concat(qos2Ids.map(pubrel)));
      await defaultScript(conn);
    });
    const opened = await openClient(t, fake.url, { clientId: uniqueId("burst"), profile });
    const messages = await opened.rec.waitForMessages(count, { timeoutMs: 5000 });
    assert.deepEqual(messages.map((m) => m.topic), packets.map((_, i) => `burst/${i}`));
    assert.deepEqual(messages.map((m) => m.meta.qos), packets.map((_, i) => qosOf(i)));
    const conn = fake.connections[0];
    await until("every PUBCOMP", () => conn.packets.filter((p) => p.type === PacketType.PUBCOMP).length === qos2Ids.length);
    const idsOf = (type: number) => conn.packets.filter((p) => p.type === type).map(packetIdOf);
    assert.deepEqual(idsOf(PacketType.PUBACK), packets.map((_, i) => i).filter((i) => qosOf(i) === 1).map((i) => 100 + i));
    assert.deepEqual(idsOf(PacketType.PUBREC), qos2Ids);
    assert.deepEqual(idsOf(PacketType.PUBCOMP), qos2Ids);
    assert.equal(opened.rec.errors().length, 0, opened.rec.summary());
    assert.equal(fake.connectionCount, 1);
    const stats = opened.client.stats();
    assert.ok(stats.rx.highWater <= stats.rx.capacity);
    assert.equal(stats.messagesDelivered, count);
  });
}
