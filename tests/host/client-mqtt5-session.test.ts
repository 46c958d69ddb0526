/**
 * MQTT 5.0 through a real Mosquitto: what the broker does with time and with the
 * properties of CONNECT, DISCONNECT and the will — Will Properties and the Will Delay
 * Interval (the will published after it, and not when the client is back within it), the
 * Message Expiry Interval, the Session Expiry Interval running out or changed by the
 * DISCONNECT, request/response with Response Topic and Correlation Data, Retain Handling 1,
 * Retain As Published, outbound Topic Aliases across a reconnect, and the Assigned Client
 * Identifier as the client's id. The waits here are the broker's intervals (whole
 * seconds), kept to 1 s.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { openClient, sleep, uniqueId, uniqueTopic } from "./support/client-helpers.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { startFaultProxy } from "../../host/net/fault-proxy.ts";
import { mosquittoPub } from "./support/mosquitto-clients.ts";

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());

const V5 = { protocolVersion: 5 } as const;

test("Will Delay Interval: a reconnect within it sends no will; a connection gone for longer sends it, with its Will Properties", async (t) => {
  const p = await startFaultProxy(broker.port);
  t.after(() => p.close());
  const willTopic = uniqueTopic("mqtt5/will-delay");
  const watcher = await openClient(t, broker.url, { ...V5, clientId: uniqueId("will-watch") });
  await watcher.client.subscribe(willTopic, { qos: 1 });
  const { rec } = await openClient(t, p.url, {
    ...V5,
    clientId: uniqueId("will-delay"),
    clean: false,
    properties: { sessionExpiryInterval: 60 }, // the will waits for the delay, not for the session's end
    will: {
      topic: willTopic,
      payload: "gone",
      qos: 1,
      properties: {
        willDelayInterval: 1,
        contentType: "text/plain",
        payloadFormatIndicator: true,
        responseTopic: "reply/to",
        correlationData: Uint8Array.of(7, 8, 9),
        messageExpiryInterval: 300,
        userProperties: { site: "lab", tag: ["a", "b"] },
      },
    },
  });

  const from = rec.mark();
  p.dropAll(); // lost without a DISCONNECT; the client is back within ~200 ms
  await rec.waitFor("connect", { from });
  await sleep(2000); // twice the Will Delay Interval
  assert.equal(watcher.rec.messages(0, willTopic).length, 0, "the will was published although the client came back within the delay");

  p.refuse(true);
  const lostAt = Date.now();
  p.dropAll();
  const [will] = await watcher.rec.waitForMessages(1, { topic: willTopic, timeoutMs: 5000 });
  const waited = Date.now() - lostAt;
  assert.ok(waited >= 900, `the will came ${waited} ms after the connection was lost, before its 1 s delay`);
  assert.equal(Buffer.from(will.payload).toString(), "gone");
  const { messageExpiryInterval, ...properties } = will.meta.properties ?? {};
  assert.deepEqual(properties, {
    contentType: "text/plain",
    payloadFormatIndicator: true,
    responseTopic: "reply/to",
    correlationData: Buffer.from([7, 8, 9]),
    userProperties: { site: "lab", tag: ["a", "b"] },
  });
  assert.ok(typeof messageExpiryInterval === "number" && messageExpiryInterval > 0 && messageExpiryInterval <= 300, `messageExpiryInterval ${String(messageExpiryInterval)}`);
});

test("Message Expiry Interval: a message queued for an offline session expires; one without it is delivered", async (t) => {
  const topic = uniqueTopic("mqtt5/expiry");
  const clientId = uniqueId("expiring");
  const kept = { ...V5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
  const first = await openClient(t, broker.url, kept);
  await first.client.subscribe(topic, { qos: 1 });
  await first.client.end();
  const { client: publisher } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("expiry-pub") });
  await publisher.publish(topic, "short-lived", { qos: 1, properties: { messageExpiryInterval: 1 } });
  await publisher.publish(topic, "kept", { qos: 1, properties: { messageExpiryInterval: 60 } });
  await sleep(2000);
  const { client, rec } = await openClient(t, broker.url, kept);
  assert.equal(client.sessionPresent, true);
  const [message] = await rec.waitForMessages(1, { topic });
  assert.equal(Buffer.from(message.payload).toString(), "kept");
  const left = message.meta.properties?.messageExpiryInterval as number;
  assert.ok(left > 0 && left <= 60, `the broker forwards what is left of the interval (${left})`);
  await sleep(200);
  assert.deepEqual(rec.messages(0, topic).map((m) => Buffer.from(m.payload).toString()), ["kept"]);
});

test("Session Expiry Interval: the session is gone once the interval has passed", async (t) => {
  const clientId = uniqueId("expires");
  const options = { ...V5, clientId, clean: false, properties: { sessionExpiryInterval: 1 } };
  await (await openClient(t, broker.url, options)).client.end();
  const within = await openClient(t, broker.url, options);
  assert.equal(within.client.sessionPresent, true, "present within the interval");
  await within.client.end();
  await sleep(2500);
  const later = await openClient(t, broker.url, options);
  assert.equal(later.client.sessionPresent, false, "present after the interval");
});

test("end({ properties: { sessionExpiryInterval: 0 } }) ends the session a CONNECT asked to keep", async (t) => {
  const clientId = uniqueId("dc-expiry");
  const options = { ...V5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
  await (await openClient(t, broker.url, options)).client.end();
  const kept = await openClient(t, broker.url, options);
  assert.equal(kept.client.sessionPresent, true);
  await kept.client.end({ properties: { sessionExpiryInterval: 0, reasonString: "done", userProperties: { why: "test" } } });
  const after = await openClient(t, broker.url, options);
  assert.equal(after.client.sessionPresent, false, "the DISCONNECT's Session Expiry Interval 0 ended it");
  await assert.rejects(
    (await openClient(t, broker.url, { ...V5, clientId: uniqueId("no-expiry") })).client.end({ properties: { sessionExpiryInterval: 5 } }),
    /Session Expiry Interval above 0 after a CONNECT without one/,
  );
});

test("request/response: the responder answers on the Response Topic with the Correlation Data", async (t) => {
  const requests = uniqueTopic("mqtt5/requests");
  const responder = await openClient(t, broker.url, { ...V5, clientId: uniqueId("responder") });
  const answered: Promise<unknown>[] = [];
  responder.client.on("message", (_topic, payload, meta) => {
    const { responseTopic, correlationData } = meta.properties ?? {};
    answered.push(responder.client.publish(responseTopic as string, `re: ${payload.toString()}`, { qos: 1, properties: { correlationData: correlationData as Uint8Array } }));
  });
  await responder.client.subscribe(requests, { qos: 1 });
  const replies = uniqueTopic("mqtt5/replies");
  const requester = await openClient(t, broker.url, { ...V5, clientId: uniqueId("requester") });
  await requester.client.subscribe(replies, { qos: 1 });
  await requester.client.publish(requests, "ping", { qos: 1, properties: { responseTopic: replies, correlationData: Uint8Array.of(1, 2, 3, 4) } });
  await requester.client.publish(requests, "pong", { qos: 1, properties: { responseTopic: replies, correlationData: "second" } });
  const answers = await requester.rec.waitForMessages(2, { topic: replies });
  assert.deepEqual(
    answers.map((m) => [Buffer.from(m.payload).toString(), [...(m.meta.properties?.correlationData as Uint8Array)]]),
    [["re: ping", [1, 2, 3, 4]], ["re: pong", [...Buffer.from("second")]]],
  );
  await Promise.all(answered);
});

test("Retain Handling 1: the retained message for a new subscription, not again when it is renewed", async (t) => {
  const topic = uniqueTopic("mqtt5/rh1");
  await mosquittoPub(broker, ["-t", topic, "-r", "-q", "1", "-m", "kept"]);
  t.after(() => mosquittoPub(broker, ["-t", topic, "-r", "-n"]));
  const { client, rec } = await openClient(t, broker.url, { ...V5, clientId: uniqueId("rh1") });
  await client.subscribe(topic, { qos: 1, rh: 1 });
  const [message] = await rec.waitForMessages(1, { topic });
  assert.equal(message.meta.retain, true);
  const from = rec.mark();
  await client.subscribe(topic, { qos: 1, rh: 1 });
  await sleep(300);
  assert.equal(rec.messages(from, topic).length, 0, "Retain Handling 1 sent it again for an existing subscription");
  await client.subscribe(topic, { qos: 1, rh: 0 });
  await rec.waitForMessages(1, { from, topic });
});

test("an empty client id: clientId and options.clientId become the broker's Assigned Client Identifier", async (t) => {
  const { client } = await openClient(t, broker.url, { ...V5, clientId: "" });
  const assigned = client.connackProperties?.assignedClientIdentifier;
  assert.equal(typeof assigned, "string");
  assert.ok((assigned as string).length > 0);
  assert.equal(client.clientId, assigned);
  assert.equal(client.options.clientId, assigned);
});

test("Retain As Published: a live retained message keeps its RETAIN flag for rap: true, loses it otherwise", async (t) => {
  const topic = uniqueTopic("mqtt5/rap");
  t.after(() => mosquittoPub(broker, ["-t", topic, "-r", "-n"]));
  const kept = await openClient(t, broker.url, { ...V5, clientId: uniqueId("rap") });
  await kept.client.subscribe([{ topic, qos: 1, rap: true }]);
  const plain = await openClient(t, broker.url, { ...V5, clientId: uniqueId("no-rap") });
  await plain.client.subscribe([{ topic, qos: 1 }]);
  await mosquittoPub(broker, ["-V", "mqttv5", "-t", topic, "-r", "-q", "1", "-m", "live"]);
  const [asPublished] = await kept.rec.waitForMessages(1, { topic });
  const [cleared] = await plain.rec.waitForMessages(1, { topic });
  assert.equal(asPublished.meta.retain, true);
  assert.equal(cleared.meta.retain, false);
});

test("autoAssignTopicAlias through a reconnect: the wire trace shows the full topic on the first use, the alias after, the full topic again on the new connection", async (t) => {
  const p = await startFaultProxy(broker.port);
  t.after(() => p.close());
  const topic = uniqueTopic("mqtt5/alias-reconnect");
  const watcher = await openClient(t, broker.url, { ...V5, clientId: uniqueId("alias-watch") });
  await watcher.client.subscribe(topic, { qos: 1 });
  const { client, rec } = await openClient(t, p.url, { ...V5, clientId: uniqueId("alias-rc"), autoAssignTopicAlias: true });
  await client.publish(topic, "1", { qos: 1 });
  await client.publish(topic, "2", { qos: 1 });
  const from = rec.mark();
  p.dropAll();
  await rec.waitFor("connect", { from });
  await client.publish(topic, "3", { qos: 1 });
  await client.publish(topic, "4", { qos: 1 });
  const lengths = rec.packets().filter((p) => p.direction === "out" && p.type === "PUBLISH").map((p) => p.remainingLength);
  const full = lengths[0];
  const aliased = full - Buffer.byteLength(topic);
  assert.deepEqual(lengths, [full, aliased, full, aliased], "full topic + alias, alias alone; again after the reconnect");
  const messages = await watcher.rec.waitForMessages(4, { topic });
  assert.deepEqual(messages.map((m) => Buffer.from(m.payload).toString()), ["1", "2", "3", "4"]);
});
