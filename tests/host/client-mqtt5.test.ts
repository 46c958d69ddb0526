/**
 * MQTT 5.0 through a real Mosquitto (2.0 speaks 5.0): wasmqtt connected with
 * protocolVersion 5 publishing and subscribing at QoS 0/1/2 with mosquitto_sub /
 * mosquitto_pub -V mqttv5 and MQTT.js v5; PUBLISH properties both ways; subscription
 * options; session expiry; the broker keeping what exceeds our Maximum Packet Size.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { collectMqttJs, openClient, openMqttJs, sleep, uniqueId, uniqueTopic, until } from "./support/client-helpers.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { mosquittoPub, mosquittoSubStart } from "./support/mosquitto-clients.ts";

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());

const V5 = { protocolVersion: 5 } as const;

for (const qos of [0, 1, 2] as const) {
  test(`QoS ${qos}: wasmqtt v5 → mosquitto_sub -V mqttv5, with user properties (a name twice) and content type`, async (t) => {
    const topic = uniqueTopic(`mqtt5/to-sub/q${qos}`);
    const sub = mosquittoSubStart(broker, ["-V", "mqttv5", "-t", topic, "-q", String(qos), "-F", "%q|%C|%P|%p"], { count: 1, timeoutMs: 4000 });
    await sub.ready;
    const { client } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("v5-pub") });
    await client.publish(topic, "hello", { qos, properties: { contentType: "text/plain", userProperties: { unit: "C", tag: ["a", "b"] } } });
    const result = await sub.done;
    assert.equal(result.timedOut, false, "mosquitto_sub got nothing");
    assert.deepEqual(result.lines, [`${qos}|text/plain|unit:C tag:a tag:b|hello`]);
  });

  test(`QoS ${qos}: mosquitto_pub -V mqttv5 → wasmqtt v5, its properties in meta.properties`, async (t) => {
    const topic = uniqueTopic(`mqtt5/from-pub/q${qos}`);
    const { client, rec } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("v5-sub") });
    const [granted] = await client.subscribe(topic, { qos: 2 });
    assert.deepEqual(granted, { topic, qos: 2, reasonCode: 2 });
    await mosquittoPub(broker, [
      "-V", "mqttv5", "-t", topic, "-q", String(qos), "-m", "hi",
      "-D", "publish", "user-property", "k", "1", "-D", "publish", "user-property", "k", "2", "-D", "publish", "content-type", "x/y",
    ]);
    const [message] = await rec.waitForMessages(1, { topic });
    assert.equal(message.meta.qos, qos);
    assert.equal(message.payload.toString(), "hi");
    assert.deepEqual(message.meta.properties, { userProperties: { k: ["1", "2"] }, contentType: "x/y" });
  });
}

test("publish() resolves with Mosquitto's ack: Reason Code 0 with a subscriber, 0x10 (No matching subscribers) without; QoS 2 the PUBCOMP's", async (t) => {
  const topic = uniqueTopic("mqtt5/acks");
  const { client } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("v5-acks") });
  assert.deepEqual(await client.publish(topic, "nobody", { qos: 1 }), { reasonCode: 0x10 });
  assert.deepEqual(await client.publish(topic, "nobody", { qos: 2 }), { reasonCode: 0 }, "the PUBCOMP's; Mosquitto puts 0x10 in the PUBREC");
  await client.subscribe(topic, { qos: 1 });
  assert.deepEqual(await client.publish(topic, "someone", { qos: 1 }), { reasonCode: 0 });
  assert.equal(await client.publish(topic, "q0", { qos: 0 }), undefined);
  const { client: old } = await openClient(t, broker.url, { clientId: uniqueId("v311-acks") });
  assert.equal(await old.publish(topic, "3.1.1", { qos: 1 }), undefined, "3.1.1: undefined");
});

test("unsubscribe() resolves with Mosquitto's UNSUBACK Reason Code per filter: 0 for a subscription, 0x11 for none", async (t) => {
  const topic = uniqueTopic("mqtt5/unsuback");
  const { client } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("v5-unsuback") });
  await client.subscribe(topic, { qos: 1 });
  assert.deepEqual(await client.unsubscribe([topic, `${topic}/never`]), [
    { topic, reasonCode: 0 },
    { topic: `${topic}/never`, reasonCode: 0x11 },
  ]);
  const { client: old } = await openClient(t, broker.url, { clientId: uniqueId("v311-unsuback") });
  assert.deepEqual(await old.unsubscribe(topic), [{ topic }], "3.1.1: the filters, no codes");
});

test("connackProperties after connect: Mosquitto's limits and the Assigned Client Identifier for an empty client id", async (t) => {
  const { client } = await openClient(t, broker.url, { ...V5, clientId: "" });
  const properties = client.connackProperties;
  assert.ok(properties !== undefined);
  assert.equal(typeof properties.assignedClientIdentifier, "string");
  assert.ok((properties.assignedClientIdentifier as string).length > 0);
  assert.equal(typeof properties.topicAliasMaximum, "number");
  const { client: old } = await openClient(t, broker.url, { clientId: uniqueId("v311") });
  assert.equal(old.connackProperties, undefined, "3.1.1 has none");
});

test("an MQTT.js v5 subscriber gets wasmqtt's user properties, response topic and correlation data", async (t) => {
  const topic = uniqueTopic("mqtt5/mqttjs");
  const subscriber = await openMqttJs(t, broker.url, { protocolVersion: 5, clientId: uniqueId("mqttjs") });
  const received: { properties: unknown }[] = [];
  subscriber.on("message", (_topic, _payload, packet) => received.push({ properties: packet.properties }));
  await subscriber.subscribeAsync(topic, { qos: 1 });
  const { client } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("v5-pub") });
  await client.publish(topic, "x", {
    qos: 1,
    properties: { userProperties: { a: ["1", "2"] }, responseTopic: "reply/here", correlationData: Buffer.from([1, 2, 3]), payloadFormatIndicator: true },
  });
  await until("MQTT.js got the message", () => received.length === 1);
  const properties = received[0].properties as Record<string, unknown>;
  assert.deepEqual({ ...(properties.userProperties as object) }, { a: ["1", "2"] });
  assert.equal(properties.responseTopic, "reply/here");
  assert.deepEqual([...(properties.correlationData as Buffer)], [1, 2, 3]);
  assert.equal(properties.payloadFormatIndicator, true);
});

test("No Local: a subscription gets others' publishes, not the client's own", async (t) => {
  const topic = uniqueTopic("mqtt5/nl");
  const { client, rec } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("nl") });
  await client.subscribe([{ topic, qos: 1, nl: true }]);
  await client.publish(topic, "own", { qos: 1 });
  await mosquittoPub(broker, ["-V", "mqttv5", "-t", topic, "-q", "1", "-m", "other"]);
  const [message] = await rec.waitForMessages(1, { topic });
  assert.equal(message.payload.toString(), "other");
  await sleep(200);
  assert.deepEqual(rec.messages(0, topic).map((m) => m.payload.toString()), ["other"]);
});

test("Retain Handling 2: no retained message at subscribe time; 0 sends it", async (t) => {
  const topic = uniqueTopic("mqtt5/rh");
  await mosquittoPub(broker, ["-t", topic, "-r", "-q", "1", "-m", "kept"]);
  const { client, rec } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("rh") });
  await client.subscribe(topic, { qos: 1, rh: 2 });
  await sleep(300);
  assert.equal(rec.messages(0, topic).length, 0, "Retain Handling 2 sent the retained message");
  const other = uniqueTopic("mqtt5/rh0");
  await mosquittoPub(broker, ["-t", other, "-r", "-q", "1", "-m", "kept"]);
  await client.subscribe(other, { qos: 1, rh: 0 });
  const [message] = await rec.waitForMessages(1, { topic: other });
  assert.equal(message.meta.retain, true);
  await mosquittoPub(broker, ["-t", topic, "-r", "-n"]);
  await mosquittoPub(broker, ["-t", other, "-r", "-n"]);
});

test("Session Expiry Interval: the session is present after a reconnect within it, and gone with 0", async (t) => {
  const clientId = uniqueId("expiry");
  const kept = { ...V5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
  const first = await openClient(t, broker.url, kept);
  assert.equal(first.client.sessionPresent, false);
  await first.client.end();
  const second = await openClient(t, broker.url, kept);
  assert.equal(second.client.sessionPresent, true);
  assert.equal(second.client.connackProperties?.sessionExpiryInterval ?? 60, 60);
  await second.client.end();

  const shortId = uniqueId("no-expiry");
  const gone = { ...V5, clientId: shortId, clean: false, properties: { sessionExpiryInterval: 0 } };
  await (await openClient(t, broker.url, gone)).client.end();
  const again = await openClient(t, broker.url, gone);
  assert.equal(again.client.sessionPresent, false, "Session Expiry Interval 0 ends the session with the connection");
});

test("the broker drops a message above our announced Maximum Packet Size; the connection stays up", async (t) => {
  const topic = uniqueTopic("mqtt5/mps");
  const { client, rec } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("mps"), properties: { maximumPacketSize: 200 } });
  let offline = 0;
  client.on("offline", () => offline++);
  await client.subscribe(topic, { qos: 1 });
  await mosquittoPub(broker, ["-V", "mqttv5", "-t", topic, "-q", "1", "-m", "x".repeat(500)]);
  await mosquittoPub(broker, ["-V", "mqttv5", "-t", topic, "-q", "1", "-m", "small"]);
  const [message] = await rec.waitForMessages(1, { topic });
  assert.equal(message.payload.toString(), "small");
  await sleep(200);
  assert.equal(rec.messages(0, topic).length, 1);
  assert.equal(offline, 0);
  assert.equal(client.connected, true);
  assert.equal(client.stats().rx.oversizeDropped, 0, "nothing reached the module to skip");
});

test("end({ reasonCode: 4 }) makes the broker publish the will", async (t) => {
  const willTopic = uniqueTopic("mqtt5/will");
  const watcher = await openMqttJs(t, broker.url, { protocolVersion: 5, clientId: uniqueId("watch") });
  const got = collectMqttJs(watcher);
  await watcher.subscribeAsync(willTopic, { qos: 1 });
  const { client } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("will"), will: { topic: willTopic, payload: "gone", qos: 1 } });
  await client.end({ reasonCode: 4 });
  await until("the will arrived", () => got.length === 1);
  assert.equal(got[0].payload.toString(), "gone");
});

test("autoAssignTopicAlias: Mosquitto resolves the aliases, mosquitto_sub sees every topic in full", async (t) => {
  const root = uniqueTopic("mqtt5/alias");
  const topics = [`${root}/a`, `${root}/a`, `${root}/b`, `${root}/a`, `${root}/b`];
  const sub = mosquittoSubStart(broker, ["-V", "mqttv5", "-t", `${root}/#`, "-q", "1", "-v"], { count: topics.length, timeoutMs: 4000 });
  await sub.ready;
  const { client, rec } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("alias"), autoAssignTopicAlias: true });
  for (const [i, topic] of topics.entries()) await client.publish(topic, `m${i}`, { qos: 1 });
  const result = await sub.done;
  assert.deepEqual(result.lines, topics.map((topic, i) => `${topic} m${i}`));
  const elided = rec.packets().filter((p) => p.direction === "out" && p.type === "PUBLISH").map((p) => p.remainingLength);
  assert.ok(elided[1] < elided[0], `the second PUBLISH to the same topic is shorter (${elided.join(", ")})`);
  assert.equal(typeof client.connackProperties?.topicAliasMaximum, "number");
});

test("subscribe properties: the Subscription Identifier comes back in meta.properties", async (t) => {
  const topic = uniqueTopic("mqtt5/subid");
  const { client, rec } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("subid") });
  await client.subscribe(topic, { qos: 1, properties: { subscriptionIdentifier: 4242 } });
  await client.subscribe(`${topic}-other/#`, { qos: 1 });
  await mosquittoPub(broker, ["-V", "mqttv5", "-t", topic, "-q", "1", "-m", "x"]);
  await mosquittoPub(broker, ["-V", "mqttv5", "-t", `${topic}-other/deeper`, "-q", "1", "-m", "y"]);
  const [first] = await rec.waitForMessages(1, { topic });
  assert.equal(first.meta.properties?.subscriptionIdentifier, 4242);
  const [second] = await rec.waitForMessages(1, { topic: `${topic}-other/deeper` });
  assert.equal(second.meta.properties?.subscriptionIdentifier, undefined, "the other subscription has none");
  await assert.rejects(client.subscribe("x", { properties: { contentType: "a" } as object }), /unknown option `properties.contentType`/);
});
