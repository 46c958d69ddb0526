/**
 * Sessions and offline operation through the host API: a persistent session collects
 * QoS 1 messages while the client is away, publishes made offline are held and sent in
 * order once the broker is reachable, a full outbox refuses with OUTBOX_FULL, and
 * subscriptions made offline or lost with the broker's session are restored.
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
  text,
  uniqueId,
  uniqueTopic,
  until,
  within,
  Recorder,
  type ClientOptions,
} from "./support/client-helpers.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { startFaultProxy, type FaultProxy } from "../../host/net/fault-proxy.ts";
import { mosquittoPub } from "./support/mosquitto-clients.ts";

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());

/** A fault proxy in front of the file's broker, closed when the test ends. */
async function proxy(t: { after(fn: () => unknown): void }): Promise<FaultProxy> {
  const p = await startFaultProxy(broker.port);
  t.after(() => p.close());
  return p;
}

/** Cuts the client off: refuses new connections and drops the current one. */
function cut(p: FaultProxy): void {
  p.refuse(true);
  p.dropAll();
}

test("persistent session: QoS 1 messages published while the client was away arrive on reconnect", async (t) => {
  const clientId = uniqueId("persistent");
  const topic = uniqueTopic("session/offline");
  const first = await within(5000, "first connect", connect(broker.url, { ...FAST, clientId, clean: false } as ClientOptions));
  assert.deepEqual(await first.subscribe(topic, { qos: 1 }), [{ topic, qos: 1 }]);
  await within(3000, "end()", first.end());

  const sent = ["one", "two", "three", "four", "five"];
  for (const m of sent) await mosquittoPub(broker, ["-t", topic, "-q", "1", "-m", m]);
  await mosquittoPub(broker, ["-t", topic, "-q", "0", "-m", "qos0-not-queued"]);
  await mosquittoPub(broker, ["-t", topic, "-q", "1", "-m", "last"]);

  // Mosquitto sends the queued messages right behind the CONNACK, often in the same
  // read; a handler attached as soon as connect() resolves must still get every one
  const second = await within(5000, "second connect", connect(broker.url, { ...FAST, clientId, clean: false } as ClientOptions));
  const received: { topic: string; payload: string; qos: number }[] = [];
  second.on("message", (topic: string, payload: Uint8Array, meta: { qos: number }) => received.push({ topic, payload: text(payload), qos: meta.qos }));
  const rec = new Recorder(second);
  t.after(() => second.end());
  assert.equal(second.sessionPresent, true);
  await until("the queued messages", () => received.length >= 6, 4000, () => JSON.stringify(received));
  assert.deepEqual(received.map((m) => m.payload), [...sent, "last"]);
  assert.deepEqual(received.map((m) => m.qos), [1, 1, 1, 1, 1, 1]);
  // the session kept the subscription: new messages arrive without subscribing again
  await mosquittoPub(broker, ["-t", topic, "-q", "1", "-m", "live"]);
  await until("the live message", () => received.length >= 7, 3000);
  assert.equal(received[6].payload, "live");
  assert.equal(rec.errors().length, 0, rec.summary());
});

test("publishes made while the broker is unreachable are held and all delivered, in order", async (t) => {
  const p = await proxy(t);
  const topic = uniqueTopic("session/outbox");
  const subscriber = await openMqttJs(t, broker.url, { clientId: uniqueId("observer") });
  const seen = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 2 });

  const { client, rec } = await openClient(t, p.url, { clientId: uniqueId("offline-pub"), clean: false });
  await client.publish(topic, "online", { qos: 1 });
  const from = rec.mark();
  cut(p);
  await rec.waitFor("offline", { from });
  assert.equal(client.connected, false);

  const messages = Array.from({ length: 12 }, (_, i) => ({ payload: `offline-${i}`, qos: (i % 3) as 0 | 1 | 2 }));
  messages.push({ payload: hex(allByteValues()), qos: 2 });
  // QoS 0 resolves once queued; QoS 1/2 only when acknowledged, so not while offline
  let acknowledged = 0;
  const publishes = messages.map((m) => client.publish(topic, m.payload, { qos: m.qos }));
  publishes.forEach((done, i) => done.then(() => (acknowledged += messages[i].qos > 0 ? 1 : 0), () => {}));
  await new Promise((resolve) => setTimeout(resolve, 300)); // several reconnect attempts, all refused
  assert.ok(p.stats.refused >= 1, "the client kept trying to reconnect");
  assert.equal(acknowledged, 0, "a QoS 1/2 publish completed while offline");
  assert.ok(client.stats().outbox.used > 0, "the offline publishes are held in the outbox");

  const reconnected = rec.mark();
  p.refuse(false);
  await within(5000, "offline publishes completed", Promise.all(publishes));
  // the client sent them in the order they were made
  const wire = rec.packets(reconnected).filter((x) => x.direction === "out" && x.type === "PUBLISH");
  assert.deepEqual(wire.map((x) => (x.flags >> 1) & 3), messages.map((m) => m.qos), rec.summary(reconnected));
  await until("every message at the subscriber", () => seen.length >= 1 + messages.length, 3000, () => JSON.stringify(seen.map((s) => s.payload.toString())));
  assert.equal(seen[0].payload.toString(), "online");
  // Mosquitto forwards QoS 0/1 on PUBLISH but QoS 2 only on PUBREL, so order is kept per kind
  const kind = (qos: number) => (qos === 2 ? 2 : 0);
  for (const k of [0, 2]) {
    assert.deepEqual(
      seen.slice(1).filter((s) => kind(s.qos) === k).map((s) => s.payload.toString()),
      messages.filter((m) => kind(m.qos) === k).map((m) => m.payload),
      `order of the ${k === 2 ? "QoS 2" : "QoS 0/1"} messages`,
    );
  }
  assert.deepEqual(seen.slice(1).map((s) => s.payload.toString()).sort(), messages.map((m) => m.payload).sort());
  assert.equal(client.stats().outbox.used, 0);
  assert.ok(client.stats().reconnects >= 1);
});

test("nodemcu: a full outbox refuses publish with OUTBOX_FULL, counts it, and the held ones still go out", async (t) => {
  const p = await proxy(t);
  const topic = uniqueTopic("session/full");
  const subscriber = await openMqttJs(t, broker.url, { clientId: uniqueId("full-observer") });
  const seen = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 1 });

  const { client, rec } = await openClient(t, p.url, { clientId: uniqueId("full"), clean: false, profile: "nodemcu" });
  const from = rec.mark();
  cut(p);
  await rec.waitFor("offline", { from });

  const before = client.stats();
  assert.equal(before.outbox.rejected, 0);
  const payload = new Uint8Array(200).fill(0x5a);
  const accepted: Promise<unknown>[] = [];
  let refusal: { code?: string } | undefined;
  for (let i = 0; i < 100 && refusal === undefined; i++) {
    const attempt = client.publish(topic, payload, { qos: 1 });
    // a refusal is immediate; an accepted publish stays pending while offline
    const outcome = await Promise.race([
      attempt.then(() => "resolved", (error: { code?: string }) => error),
      new Promise((resolve) => setTimeout(() => resolve("pending"), 20)),
    ]);
    if (outcome === "pending") accepted.push(attempt);
    else if (outcome === "resolved") assert.fail("a QoS 1 publish completed while offline");
    else refusal = outcome as { code?: string };
  }
  assert.ok(refusal, "100 publishes of 200 bytes never filled a nodemcu outbox");
  assert.equal(refusal.code, "OUTBOX_FULL", JSON.stringify(refusal));
  const full = client.stats();
  assert.equal(full.outbox.rejected, 1);
  assert.ok(accepted.length >= 5, `only ${accepted.length} publishes fit`);
  assert.ok(full.outbox.used <= full.outbox.capacity && full.outbox.used > full.outbox.capacity / 2, JSON.stringify(full.outbox));
  assert.equal(full.outbox.highWater, full.outbox.used);
  const again = await rejection(client.publish(topic, payload, { qos: 0 }), "QoS 0 publish into a full outbox");
  assert.equal(again.code, "OUTBOX_FULL");
  assert.equal(client.stats().outbox.rejected, 2);

  p.refuse(false);
  await within(6000, "held publishes completed", Promise.all(accepted));
  await until("held messages at the subscriber", () => seen.length >= accepted.length, 3000);
  assert.equal(seen.length, accepted.length);
  assert.equal(client.stats().outbox.used, 0);
  await client.publish(topic, "room again", { qos: 1 });
  await until("the publish after draining", () => seen.length === accepted.length + 1, 3000);
});

test("subscribe while offline is sent once connected; a broker that lost the session gets the filters again", async (t) => {
  const p = await proxy(t);
  const base = uniqueTopic("session/resubscribe");
  const { client, rec } = await openClient(t, p.url, { clientId: uniqueId("resub"), clean: true });
  await client.subscribe(`${base}/early`, { qos: 1 });
  const from = rec.mark();
  cut(p);
  await rec.waitFor("offline", { from });

  const pending = client.subscribe(`${base}/late`, { qos: 1 });
  p.refuse(false);
  assert.deepEqual(await within(4000, "offline subscribe", pending), [{ topic: `${base}/late`, qos: 1 }]);
  await rec.waitFor("connect", { from });
  assert.equal(client.sessionPresent, false);

  // clean session: the broker forgot "early"; the client must have subscribed it again
  await mosquittoPub(broker, ["-t", `${base}/early`, "-q", "1", "-m", "early"]);
  await mosquittoPub(broker, ["-t", `${base}/late`, "-q", "1", "-m", "late"]);
  const messages = await rec.waitForMessages(2, { from });
  assert.deepEqual(messages.map((m) => text(m.payload)), ["early", "late"]);
});

test("end() while offline rejects the publishes still held with CLIENT_STOPPED and emits close", async (t) => {
  const p = await proxy(t);
  const { client, rec } = await openClient(t, p.url, { clientId: uniqueId("end-offline") });
  const from = rec.mark();
  cut(p);
  await rec.waitFor("offline", { from });
  const held = [client.publish("held/1", "a", { qos: 1 }), client.publish("held/2", "b", { qos: 2 })];
  await within(3000, "end()", client.end());
  for (const [i, publish] of held.entries()) {
    const error = await rejection(publish, `held publish ${i}`);
    assert.equal(error.code, "CLIENT_STOPPED", `${error.code} ${error.message}`);
  }
  await rec.waitFor("close", { from });
  const after = await rejection(client.publish("held/3", "c", { qos: 1 }), "publish after end()");
  assert.equal(after.code, "CLIENT_STOPPED");
  const connections = p.stats.connections;
  p.refuse(false);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(p.stats.connections, connections, "the ended client connected again");
});
