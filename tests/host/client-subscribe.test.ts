/**
 * SUBSCRIBE and UNSUBSCRIBE through the host API: several filters in one packet with
 * the granted QoS of each, a broker's downgrade and 0x80 failure per filter, wildcard
 * delivery, no messages after UNSUBSCRIBE, and the argument checks.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  fakeBroker,
  openClient,
  rejection,
  sleep,
  text,
  uniqueId,
  uniqueTopic,
  within,
} from "./support/client-helpers.ts";
import {
  PacketType,
  connack,
  defaultScript,
  parseSubscribe,
  scriptWith,
  suback,
  type Script,
} from "./support/fake-broker.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { mosquittoPub } from "./support/mosquitto-clients.ts";

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());


test("several filters go in one SUBSCRIBE and each gets its granted QoS", async (t) => {
  const base = uniqueTopic("subscribe/many");
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("many") });
  const filters = [
    { topic: `${base}/zero`, qos: 0 as const },
    { topic: `${base}/one/+`, qos: 1 as const },
    { topic: `${base}/two/#`, qos: 2 as const },
  ];
  const from = rec.mark();
  const granted = await client.subscribe(filters);
  assert.deepEqual(granted, filters);
  const subscribes = rec.packets(from).filter((p) => p.type === "SUBSCRIBE");
  assert.equal(subscribes.length, 1, `expected one SUBSCRIBE packet:\n${rec.summary(from)}`);
  assert.equal(subscribes[0].flags, 0x02);
  assert.equal(subscribes[0].remainingLength, 2 + filters.reduce((n, f) => n + 2 + Buffer.byteLength(f.topic) + 1, 0));

  // each delivery is capped by its filter's QoS
  await client.publish(`${base}/zero`, "a", { qos: 2 });
  await client.publish(`${base}/one/x`, "b", { qos: 2 });
  await client.publish(`${base}/two/x/y`, "c", { qos: 2 });
  const messages = await rec.waitForMessages(3, { from });
  assert.deepEqual(
    messages.map((m) => [m.topic, text(m.payload), m.meta.qos]),
    [[`${base}/zero`, "a", 0], [`${base}/one/x`, "b", 1], [`${base}/two/x/y`, "c", 2]],
  );
});

test("a list of filter strings takes the QoS of the options; + matches one level only", async (t) => {
  const base = uniqueTopic("subscribe/strings");
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("strings") });
  const granted = await client.subscribe([`${base}/a/#`, `${base}/b/+`], { qos: 1 });
  assert.deepEqual(granted, [{ topic: `${base}/a/#`, qos: 1 }, { topic: `${base}/b/+`, qos: 1 }]);
  await client.publish(`${base}/b/x/y`, "not matched", { qos: 1 });
  await client.publish(`${base}/a`, "parent of #", { qos: 1 }); // "a/#" matches "a" too (§4.7.1.2)
  await client.publish(`${base}/b/x`, "matched", { qos: 1 });
  const messages = await rec.waitForMessages(2);
  assert.deepEqual(messages.map((m) => text(m.payload)), ["parent of #", "matched"]);
});

test("a broker that grants less (max_qos 1) is reported per filter", async (t) => {
  const limited = await startMosquitto({ websockets: false, extraConfig: ["max_qos 1"] });
  t.after(() => limited.stop());
  const { client, rec } = await openClient(t, limited.url, { clientId: uniqueId("max-qos") });
  const granted = await client.subscribe([{ topic: "limited/a", qos: 2 }, { topic: "limited/b", qos: 0 }]);
  assert.deepEqual(granted, [{ topic: "limited/a", qos: 1 }, { topic: "limited/b", qos: 0 }]);
  await client.publish("limited/a", "x", { qos: 1 });
  const [message] = await rec.waitForMessages(1);
  assert.equal(message.meta.qos, 1);
});

test("a SUBACK failure (0x80) is reported for its filter only and the connection stays up", async (t) => {
  const fake = await fakeBroker(t, scriptWith({
    [PacketType.SUBSCRIBE]: (p, conn) => conn.send(suback(parseSubscribe(p).packetId, [0, 0x80, 2])),
  }));
  const { client, rec } = await openClient(t, fake.url, { clientId: "suback-failure" });
  const granted = await client.subscribe([
    { topic: "ok/zero", qos: 0 },
    { topic: "refused/#", qos: 1 },
    { topic: "ok/two", qos: 2 },
  ]);
  assert.deepEqual(granted, [
    { topic: "ok/zero", qos: 0 },
    { topic: "refused/#", qos: 128 },
    { topic: "ok/two", qos: 2 },
  ]);
  assert.equal(client.connected, true);
  await client.publish("ok/two", "still up", { qos: 1 });
  assert.equal(rec.errors().length, 0, rec.summary());
  assert.equal(fake.connectionCount, 1);
  const conn = fake.connections[0];
  const subscribe = parseSubscribe(conn.packets.find((p) => p.type === PacketType.SUBSCRIBE)!);
  assert.deepEqual(subscribe.filters, [
    { topic: "ok/zero", qos: 0 },
    { topic: "refused/#", qos: 1 },
    { topic: "ok/two", qos: 2 },
  ]);
});

test("after UNSUBSCRIBE no more messages arrive on that filter; the others still do", async (t) => {
  const base = uniqueTopic("subscribe/unsub");
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("unsub") });
  const { client: publisher } = await openClient(t, broker.url, { clientId: uniqueId("unsub-pub") });
  await client.subscribe([`${base}/gone`, `${base}/also-gone`, `${base}/kept`], { qos: 1 });
  await publisher.publish(`${base}/gone`, "before", { qos: 1 });
  await rec.waitForMessages(1, { topic: `${base}/gone` });

  const from = rec.mark();
  await client.unsubscribe(`${base}/gone`);
  await client.unsubscribe([`${base}/also-gone`]);
  // packet events are emitted a turn after the promise settles
  const traces = () => rec.packets(from).map((p) => `${p.direction} ${p.type}`).filter((p) => !p.includes("PING"));
  await rec.until("the UNSUBACK traces", () => traces().length >= 4, 2000, from);
  assert.deepEqual(traces(), ["out UNSUBSCRIBE", "in UNSUBACK", "out UNSUBSCRIBE", "in UNSUBACK"]);

  await publisher.publish(`${base}/gone`, "after", { qos: 1 });
  await publisher.publish(`${base}/also-gone`, "after", { qos: 1 });
  await publisher.publish(`${base}/kept`, "sentinel", { qos: 1 }); // same publisher: arrives after the others would
  const [sentinel] = await rec.waitForMessages(1, { from });
  assert.equal(sentinel.topic, `${base}/kept`, `got ${sentinel.topic} after unsubscribing`);
  assert.equal(rec.messages(from).length, 1);
});

test("subscribe() of filters awaiting their SUBACK: the same QoS joins the request (one SUBSCRIBE, both resolve), another is INVALID_STATE", async (t) => {
  const base = uniqueTopic("subscribe/join");
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("join") });
  const from = rec.mark();
  const filters = [`${base}/a`, `${base}/b`];
  const first = client.subscribe(filters, { qos: 1 });
  const joined = client.subscribe(filters, { qos: 1 });
  const other = await rejection(client.subscribe(filters, { qos: 2 }), "another QoS");
  assert.equal((other as { code?: string }).code, "INVALID_STATE");
  const granted = filters.map((topic) => ({ topic, qos: 1 }));
  assert.deepEqual(await within(5000, "the first subscribe()", first), granted);
  assert.deepEqual(await within(5000, "the joined subscribe()", joined), granted);
  await rec.until("the SUBACK trace", () => rec.packets(from).some((p) => p.type === "SUBACK"), 2000, from);
  assert.equal(rec.packets(from).filter((p) => p.type === "SUBSCRIBE").length, 1, "one SUBSCRIBE");
  const unsubscribed = client.unsubscribe(filters);
  assert.deepEqual(await within(5000, "the joined unsubscribe()", client.unsubscribe(filters)), filters.map((topic) => ({ topic })));
  assert.deepEqual(await unsubscribed, filters.map((topic) => ({ topic })));
});

test("invalid filters and QoS are refused before anything is sent", async (t) => {
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("bad-filter") });
  const from = rec.mark();
  for (const filter of ["a/#/b", "a#", "a/b+", "+a", "", "a\u0000b"]) {
    const error = await rejection(client.subscribe(filter, { qos: 1 }), `subscribe(${JSON.stringify(filter)})`);
    assert.equal(error.code, "INVALID_FILTER", `subscribe(${JSON.stringify(filter)}): ${error.code} ${error.message}`);
  }
  const mixed = await rejection(client.subscribe(["ok/#", "bad/#/x"], { qos: 1 }), "subscribe with one bad filter");
  assert.equal(mixed.code, "INVALID_FILTER");
  const qos = await rejection(client.subscribe("ok/#", { qos: 3 as 2 }), "subscribe with QoS 3");
  assert.equal(qos.code, "INVALID_QOS", `${qos.code} ${qos.message}`);
  const unsub = await rejection(client.unsubscribe("a/#/b"), "unsubscribe(a/#/b)");
  assert.equal(unsub.code, "INVALID_FILTER", `${unsub.code} ${unsub.message}`);
  assert.equal(rec.packets(from).length, 0, `packets were sent:\n${rec.summary(from)}`);
  assert.deepEqual(await client.subscribe("ok/#", { qos: 1 }), [{ topic: "ok/#", qos: 1 }]);
});

test("nodemcu: subscribing beyond the subscription table fails with SUBSCRIPTIONS_FULL", async (t) => {
  const base = uniqueTopic("subscribe/full");
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("full"), profile: "nodemcu" });
  const capacity = client.stats().subscriptions?.capacity ?? 6;
  for (let i = 0; i < capacity; i++) await client.subscribe(`${base}/${i}`, { qos: 1 });
  const error = await rejection(client.subscribe(`${base}/one-more`, { qos: 1 }), "one subscription too many");
  assert.equal(error.code, "SUBSCRIPTIONS_FULL", `${error.code} ${error.message}`);
  // unsubscribing frees a slot
  await client.unsubscribe(`${base}/0`);
  await client.subscribe(`${base}/one-more`, { qos: 1 });
  await client.publish(`${base}/one-more`, "fits", { qos: 1 });
  await rec.waitForMessages(1, { topic: `${base}/one-more` });
});

test("a SUBSCRIBE and an UNSUBSCRIBE left unanswered by a lost connection are sent again and resolve", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT);
    conn.send(connack(conn.index > 0, 0));
    if (conn.index === 0) {
      await conn.next(PacketType.SUBSCRIBE); // withhold SUBACK
      conn.destroy();
      return;
    }
    if (conn.index === 1) {
      const subscribe = parseSubscribe(await conn.next(PacketType.SUBSCRIBE)); // the resent one: answer it
      conn.send(suback(subscribe.packetId, subscribe.filters.map((f) => f.qos)));
      await conn.next(PacketType.UNSUBSCRIBE); // withhold UNSUBACK
      conn.destroy();
      return;
    }
    await defaultScript(conn);
  });
  const { client } = await openClient(t, fake.url, { clientId: "resubscriber", clean: false });
  const granted = await within(4000, "subscribe across the reconnect", client.subscribe([{ topic: "re/a", qos: 1 }, { topic: "re/b", qos: 2 }]));
  assert.deepEqual(granted, [{ topic: "re/a", qos: 1 }, { topic: "re/b", qos: 2 }]);
  await within(4000, "unsubscribe across the reconnect", client.unsubscribe("re/a"));
  assert.ok(fake.connectionCount >= 3);
  const resent = fake.connections[1].packets.find((p) => p.type === PacketType.SUBSCRIBE);
  assert.ok(resent, "the SUBSCRIBE was sent again on the second connection");
  assert.deepEqual(parseSubscribe(resent).filters, [{ topic: "re/a", qos: 1 }, { topic: "re/b", qos: 2 }]);
  assert.ok(fake.connections[2].packets.some((p) => p.type === PacketType.UNSUBSCRIBE), "the UNSUBSCRIBE was sent again");
});

/** Connection 1 answers the first SUBSCRIBE with a SUBACK of one return code, whatever its filter count; later connections behave. */
const shortSubackOnce: Script = async (conn) => {
  if (conn.index > 0) return defaultScript(conn);
  await conn.next(PacketType.CONNECT);
  conn.send(connack(false, 0));
  const subscribe = parseSubscribe(await conn.next(PacketType.SUBSCRIBE));
  conn.send(suback(subscribe.packetId, [1]));
  await defaultScript(conn);
};

test("a SUBACK with fewer return codes than filters: PROTOCOL_ERROR, then the whole SUBSCRIBE again and subscribe() resolves", async (t) => {
  const fake = await fakeBroker(t, shortSubackOnce);
  const { client, rec } = await openClient(t, fake.url, { clientId: uniqueId("short-suback") });
  const filters = [{ topic: "short/a", qos: 1 as const }, { topic: "short/b", qos: 2 as const }];
  const granted = await within(4000, "subscribe() across the reconnect", client.subscribe(filters));
  assert.deepEqual(granted, filters);
  await rec.waitForError("PROTOCOL_ERROR");
  const subscribes = fake.connections.flatMap((conn) => conn.packets.filter((p) => p.type === PacketType.SUBSCRIBE).map(parseSubscribe));
  assert.ok(subscribes.every((s) => s.filters.length > 0), `a SUBSCRIBE without a filter: ${JSON.stringify(subscribes)}`);
  assert.deepEqual(fake.connections[1].packets.filter((p) => p.type === PacketType.SUBSCRIBE).map((p) => parseSubscribe(p).filters), [filters]);
  assert.deepEqual(await within(4000, "subscribing the same filters again", client.subscribe(filters)), filters);
});

test("a SUBACK with fewer return codes than filters and reconnect off: subscribe() rejects naming PROTOCOL_ERROR", async (t) => {
  const fake = await fakeBroker(t, shortSubackOnce);
  const { client } = await openClient(t, fake.url, { clientId: uniqueId("short-suback-off"), reconnect: false });
  const error = await rejection(client.subscribe(["short/a", "short/b"], { qos: 1 }), "subscribe()");
  assert.equal(error.code, "CLIENT_STOPPED");
  assert.match(error.message, /PROTOCOL_ERROR/);
});

for (const clean of [true, false]) {
  test(`nodemcu: a burst of 40 QoS 2 messages from a peer arrives exactly once with no disconnect (${clean ? "clean" : "persistent"} session)`, async (t) => {
    const topic = uniqueTopic("burst/qos2");
    const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("burst"), profile: "nodemcu", clean });
    assert.deepEqual(await client.subscribe(topic, { qos: 2 }), [{ topic, qos: 2 }]);
    const from = rec.mark();
    const payloads = Array.from({ length: 40 }, (_, i) => `m${String(i).padStart(2, "0")}`);
    // one line one message, as fast as mosquitto_pub's own 20 flows in flight allow
    await mosquittoPub(broker, ["-t", topic, "-q", "2", "-l"], payloads.join("\n") + "\n");
    await rec.waitForMessages(40, { from, timeoutMs: 10_000 });
    await sleep(200); // room for a duplicate to show up
    const received = rec.messages(from).map((m) => text(m.payload));
    assert.deepEqual([...received].sort(), payloads, "each message exactly once");
    assert.deepEqual(rec.all("offline", from), [], rec.summary(from));
    assert.deepEqual(rec.errors(from), []);
    const stats = client.stats();
    assert.equal(stats.protocolErrors, 0);
    assert.equal(stats.reconnects, 0);
    assert.equal(stats.inboundQos2.used, 0);
  });
}
