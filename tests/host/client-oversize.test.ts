/**
 * Messages larger than the receive buffer, against Mosquitto, on the nodemcu profile
 * (1536-byte receive buffer): a 20 KB retained message on a subscribed topic and 20 KB
 * live QoS 1 / QoS 2 messages are skipped and acknowledged, reported once each by
 * "message-dropped", and the connection stays up; the next small message arrives, and
 * the broker never sends the big ones again (checked past a keepalive and across a
 * reconnect with the persistent session).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect } from "../../host/index.ts";
import { FAST, openClient, openMqttJs, sleep, text, uniqueId, uniqueTopic, within, Recorder, type ClientOptions, type Opened } from "./support/client-helpers.ts";
import { publish } from "./support/mqtt-packets.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());

const BIG = new Uint8Array(20 * 1024).fill(0x5a);
/** The nodemcu profile with a persistent session and a 2 s keepalive. */
const NODEMCU = { ...FAST, profile: "nodemcu", clean: false } as ClientOptions;

/** The size on the wire of a PUBLISH of `BIG` to `topic` at `qos`. */
function wireSize(topic: string, qos: 0 | 1 | 2): number {
  return publish({ topic, payload: BIG, qos, packetId: qos > 0 ? 1 : undefined }).length;
}

/**
 * Ends the client, waits past a keepalive first, then reconnects with the same persistent
 * session: a big message the module had not acknowledged would come again, with DUP.
 * Returns the reconnected client, already checked for no drop.
 */
async function expectNoResend(t: { after(fn: () => unknown): void }, opened: Opened, clientId: string, dropped: number): Promise<void> {
  await sleep(2500); // past the 2 s keepalive: a PINGREQ/PINGRESP round, no resend in the session
  assert.equal(opened.rec.all("message-dropped").length, dropped, opened.rec.summary());
  assert.equal(opened.client.stats().rx.oversizeDropped, dropped);
  assert.equal(opened.rec.all("offline").length, 0, opened.rec.summary());
  assert.equal(opened.client.connected, true);
  assert.equal(opened.client.stats().inboundQos2.used, 0, "a QoS 2 flow did not complete");
  await within(3000, "end()", opened.client.end());
  const again = await within(5000, "reconnect", connect(broker.url, { ...NODEMCU, clientId }));
  const rec = new Recorder(again);
  t.after(() => again.end());
  assert.equal(again.sessionPresent, true);
  await sleep(1000);
  assert.deepEqual(rec.all("message-dropped"), [], "the broker sent a big message again");
  assert.equal(again.stats().rx.oversizeDropped, 0);
  assert.equal(again.stats().packetsReceived, 1, `only the CONNACK, got: ${rec.summary()}`);
}

test("a 20 KB retained message on a subscribed topic is skipped, acknowledged and reported once; the connection stays up", async (t) => {
  const topic = uniqueTopic("oversize/retained");
  const publisher = await openMqttJs(t, broker.url);
  await publisher.publishAsync(topic, Buffer.from(BIG), { qos: 1, retain: true });

  const clientId = uniqueId("oversize-retained");
  const opened = await openClient(t, broker.url, { ...NODEMCU, clientId });
  assert.deepEqual(await opened.client.subscribe(topic, { qos: 1 }), [{ topic, qos: 1 }]);
  const [droppedTopic, size, meta] = await opened.rec.waitFor("message-dropped");
  assert.deepEqual([droppedTopic, size, meta], [topic, wireSize(topic, 1), { qos: 1, retain: true, dup: false }]);

  const from = opened.rec.mark();
  await publisher.publishAsync(topic, "small", { qos: 1 });
  const [next] = await opened.rec.waitForMessages(1, { from });
  assert.deepEqual([next.topic, text(next.payload)], [topic, "small"]);
  assert.equal(opened.client.stats().rx.lastDroppedSize, wireSize(topic, 1));
  assert.equal(opened.client.stats().rx.lastDroppedTopicLength, Buffer.byteLength(topic));
  await expectNoResend(t, opened, clientId, 1);
});

test("20 KB live QoS 1 and QoS 2 messages are skipped and acknowledged, each reported once; the next message arrives", async (t) => {
  const topic = uniqueTopic("oversize/live");
  const publisher = await openMqttJs(t, broker.url);
  const clientId = uniqueId("oversize-live");
  const opened = await openClient(t, broker.url, { ...NODEMCU, clientId });
  assert.deepEqual(await opened.client.subscribe(topic, { qos: 2 }), [{ topic, qos: 2 }]);

  await publisher.publishAsync(topic, Buffer.from(BIG), { qos: 1 });
  await publisher.publishAsync(topic, Buffer.from(BIG), { qos: 2 });
  await publisher.publishAsync(topic, "small", { qos: 1 });
  const [next] = await opened.rec.waitForMessages(1);
  assert.deepEqual([next.topic, text(next.payload)], [topic, "small"]);
  assert.deepEqual(opened.rec.all("message-dropped").map((e) => e.args), [
    [topic, wireSize(topic, 1), { qos: 1, retain: false, dup: false }],
    [topic, wireSize(topic, 2), { qos: 2, retain: false, dup: false }],
  ]);
  await opened.rec.waitForPacket("out", "PUBCOMP"); // the QoS 2 flow of the skipped message completes
  await expectNoResend(t, opened, clientId, 2);
});
