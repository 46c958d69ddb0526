/**
 * Interop through a real Mosquitto, both ways, at QoS 0/1/2 with binary payloads:
 * wasmqtt with mosquitto_pub/mosquitto_sub and with MQTT.js.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import {
  allByteValues,
  collectMqttJs,
  hex,
  openClient,
  openMqttJs,
  text,
  uniqueId,
  uniqueTopic,
  until,
} from "./support/client-helpers.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { mosquittoPub, mosquittoSubStart } from "./support/mosquitto-clients.ts";

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());

/** All 256 byte values followed by random bytes: a payload no text handling survives. */
function binaryPayload(extra = 300): Uint8Array {
  return new Uint8Array(Buffer.concat([allByteValues(), randomBytes(extra)]));
}

for (const qos of [0, 1, 2] as const) {
  test(`QoS ${qos}: wasmqtt → mosquitto_sub, binary payload byte-exact`, async (t) => {
    const topic = uniqueTopic(`interop/to-sub/q${qos}`);
    const payload = binaryPayload();
    const sub = mosquittoSubStart(broker, ["-t", topic, "-q", String(qos), "-N"], { count: 1, timeoutMs: 4000 });
    await sub.ready;
    const { client } = await openClient(t, broker.url, { clientId: uniqueId("to-sub") });
    await client.publish(topic, payload, { qos });
    const result = await sub.done;
    assert.equal(result.timedOut, false, "mosquitto_sub got nothing");
    assert.equal(hex(result.stdout), hex(payload));
  });

  test(`QoS ${qos}: mosquitto_pub → wasmqtt, binary payload byte-exact`, async (t) => {
    const topic = uniqueTopic(`interop/from-pub/q${qos}`);
    const payload = binaryPayload();
    const file = path.join(broker.dir, `payload-${qos}.bin`);
    writeFileSync(file, payload);
    const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("from-pub") });
    await client.subscribe(topic, { qos: 2 });
    await mosquittoPub(broker, ["-t", topic, "-q", String(qos), "-f", file]);
    const [message] = await rec.waitForMessages(1, { topic });
    assert.equal(hex(message.payload), hex(payload));
    assert.equal(message.meta.qos, qos);
    assert.equal(message.meta.retain, false);
  });

  test(`QoS ${qos}: wasmqtt ⇄ MQTT.js both ways, binary payloads byte-exact`, async (t) => {
    const base = uniqueTopic(`interop/mqttjs/q${qos}`);
    const peer = await openMqttJs(t, broker.url, { clientId: uniqueId("mqttjs") });
    const seen = collectMqttJs(peer);
    await peer.subscribeAsync(`${base}/to-mqttjs`, { qos });
    const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("wasmqtt") });
    assert.deepEqual(await client.subscribe(`${base}/to-wasmqtt`, { qos }), [{ topic: `${base}/to-wasmqtt`, qos }]);

    const up = binaryPayload(1000);
    await client.publish(`${base}/to-mqttjs`, up, { qos });
    await until("MQTT.js receives", () => seen.length >= 1);
    assert.equal(seen[0].topic, `${base}/to-mqttjs`);
    assert.equal(hex(seen[0].payload), hex(up));
    assert.equal(seen[0].qos, qos);

    const down = binaryPayload(1000);
    await peer.publishAsync(`${base}/to-wasmqtt`, Buffer.from(down), { qos });
    const [message] = await rec.waitForMessages(1, { topic: `${base}/to-wasmqtt` });
    assert.equal(hex(message.payload), hex(down));
    assert.equal(message.meta.qos, qos);
  });
}

test("retained messages cross both ways: mosquitto_pub -r → wasmqtt, wasmqtt retain → MQTT.js", async (t) => {
  const base = uniqueTopic("interop/retained");
  await mosquittoPub(broker, ["-t", `${base}/from-pub`, "-q", "1", "-r", "-m", "kept by the broker"]);
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("retained") });
  await client.subscribe(`${base}/from-pub`, { qos: 1 });
  const [message] = await rec.waitForMessages(1);
  assert.equal(text(message.payload), "kept by the broker");
  assert.equal(message.meta.retain, true);

  await client.publish(`${base}/from-wasmqtt`, allByteValues(), { qos: 1, retain: true });
  const peer = await openMqttJs(t, broker.url, { clientId: uniqueId("retained-peer") });
  const seen = collectMqttJs(peer);
  await peer.subscribeAsync(`${base}/from-wasmqtt`, { qos: 1 });
  await until("MQTT.js receives the retained message", () => seen.length >= 1);
  assert.equal(seen[0].retain, true);
  assert.equal(hex(seen[0].payload), hex(allByteValues()));
});

test("UTF-8 topic names cross both ways: mosquitto_pub → wasmqtt and wasmqtt → mosquitto_sub -v", async (t) => {
  const topic = `${uniqueTopic("interop/ütf")}/€/日本`;
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("utf8") });
  await client.subscribe(`${topic}/in`, { qos: 1 });
  await mosquittoPub(broker, ["-t", `${topic}/in`, "-q", "1", "-m", "grüße"]);
  const [message] = await rec.waitForMessages(1);
  assert.equal(message.topic, `${topic}/in`);
  assert.equal(text(message.payload), "grüße");

  const sub = mosquittoSubStart(broker, ["-t", `${topic}/out`, "-v"], { count: 1, timeoutMs: 4000 });
  await sub.ready;
  await client.publish(`${topic}/out`, "€100", { qos: 1 });
  assert.deepEqual((await sub.done).lines, [`${topic}/out €100`]);
});

test("a 200-message QoS 1 stream from MQTT.js reaches wasmqtt complete and in order", async (t) => {
  const topic = uniqueTopic("interop/stream");
  const { client, rec } = await openClient(t, broker.url, { clientId: uniqueId("stream") });
  await client.subscribe(topic, { qos: 1 });
  const peer = await openMqttJs(t, broker.url, { clientId: uniqueId("streamer") });
  const sent = Array.from({ length: 200 }, (_, i) => `message ${i}`);
  await Promise.all(sent.map((m) => peer.publishAsync(topic, m, { qos: 1 })));
  const messages = await rec.waitForMessages(200, { topic, timeoutMs: 6000 });
  assert.deepEqual(messages.map((m) => text(m.payload)), sent);
  assert.ok(messages.every((m) => m.meta.qos === 1 && !m.meta.dup));
});
