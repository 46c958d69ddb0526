/**
 * Publish throughput against a local Mosquitto, wasmqtt beside MQTT.js with the same
 * inputs: N messages of a given size at QoS 0, 1 and 2, pipelined in windows of WINDOW
 * publishes (issued at once, then awaited: the window fits the desktop outbox), timed
 * from the first publish until every QoS flow completed and a subscriber on the same
 * broker received the last message.
 *
 * Usage: node --import tsx bench/throughput.ts [--messages 20000] [--size 64] [--profile desktop]
 * Prints one row per client and QoS: messages per second and MB/s of payload.
 */
import mqtt from "mqtt";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { connect, type Profile } from "../host/index.ts";
import { startMosquitto } from "../host/mosquitto.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "20000" },
    size: { type: "string", default: "64" },
    profile: { type: "string", default: "desktop" },
  },
});
const count = Number(values.messages);
const payload = new Uint8Array(Number(values.size)).fill(0x61);
const profile = values.profile as Profile;
/** Publishes in flight at once, for both clients. */
const WINDOW = 100;

const broker = await startMosquitto({ websockets: false, extraConfig: ["max_inflight_messages 0", "max_queued_messages 0"] });
try {
  console.log(`${count} messages of ${payload.length} B to Mosquitto on 127.0.0.1:${broker.port}`);
  console.log("client          qos   msg/s     MB/s");
  for (const qos of [0, 1, 2] as const) {
    print("wasmqtt", qos, await timeWasmqtt(qos));
    print("MQTT.js", qos, await timeMqttJs(qos));
  }
} finally {
  await broker.stop();
}

function print(client: string, qos: number, ms: number): void {
  const rate = (count / ms) * 1000;
  console.log(`${client.padEnd(15)} ${qos}   ${rate.toFixed(0).padStart(7)}  ${((rate * payload.length) / 1e6).toFixed(2).padStart(7)}`);
}

/** Resolves when a subscriber has received `count` messages on `topic`. */
async function receiver(topic: string): Promise<{ done: Promise<void>; end: () => Promise<void> }> {
  const subscriber = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  await subscriber.subscribeAsync(topic, { qos: 2 });
  let received = 0;
  const done = new Promise<void>((resolve) => {
    subscriber.on("message", () => {
      if (++received === count) resolve();
    });
  });
  return { done, end: () => subscriber.endAsync() };
}

async function timeWasmqtt(qos: 0 | 1 | 2): Promise<number> {
  const topic = `bench/wasmqtt/${qos}`;
  const sink = await receiver(topic);
  const client = await connect(broker.url, { profile, keepalive: 60 });
  const start = performance.now();
  for (let sent = 0; sent < count; sent += WINDOW) {
    const window = Math.min(WINDOW, count - sent);
    await Promise.all(Array.from({ length: window }, () => client.publish(topic, payload, { qos })));
  }
  await sink.done;
  const elapsed = performance.now() - start;
  await client.end();
  await sink.end();
  return elapsed;
}

async function timeMqttJs(qos: 0 | 1 | 2): Promise<number> {
  const topic = `bench/mqttjs/${qos}`;
  const sink = await receiver(topic);
  const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, keepalive: 60 });
  const start = performance.now();
  for (let sent = 0; sent < count; sent += WINDOW) {
    const window = Math.min(WINDOW, count - sent);
    await Promise.all(Array.from({ length: window }, () => client.publishAsync(topic, Buffer.from(payload), { qos })));
  }
  await sink.done;
  const elapsed = performance.now() - start;
  await client.endAsync();
  await sink.end();
  return elapsed;
}
