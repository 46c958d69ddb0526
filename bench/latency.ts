/**
 * QoS 1 ping-pong latency through Mosquitto: one client subscribed to its own topic at
 * QoS 1 publishes a message at QoS 1 and waits until it arrived back (and its PUBACK came)
 * before the next. One round gives p50 and p99 of its round trips in milliseconds.
 *
 * @example
 * const { p50, p99 } = await pingPongRound("wasmqtt", broker.url, 1000);
 */
import mqtt from "mqtt";
import { performance } from "node:perf_hooks";
import { connect } from "../host/index.ts";
import { percentile } from "./stats.ts";

/** The clients whose latency is measured. */
export const LATENCY_PEERS = ["wasmqtt", "MQTT.js"] as const;
export type LatencyPeer = (typeof LATENCY_PEERS)[number];

/** A client that publishes to and hears from one topic. */
interface Echo {
  publish(): Promise<unknown>;
  onMessage(listener: () => void): void;
  close(): Promise<void>;
}

let roundNumber = 0;

async function openEcho(peer: LatencyPeer, url: string, topic: string): Promise<Echo> {
  const payload = Buffer.from("ping");
  if (peer === "wasmqtt") {
    const client = await connect(url, { profile: "desktop", keepalive: 60 });
    await client.subscribe(topic, { qos: 1 });
    return {
      publish: () => client.publish(topic, payload, { qos: 1 }),
      onMessage: (listener) => client.on("message", listener),
      close: () => client.end(),
    };
  }
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, keepalive: 60 });
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    publish: () => client.publishAsync(topic, payload, { qos: 1 }),
    onMessage: (listener) => client.on("message", listener),
    close: () => client.endAsync(),
  };
}

/** `pings` round trips of `peer`; resolves with their p50 and p99 in milliseconds. */
export async function pingPongRound(peer: LatencyPeer, url: string, pings: number): Promise<{ p50: number; p99: number }> {
  const echo = await openEcho(peer, url, `bench/ping/${peer}/${roundNumber++}`);
  let arrived: () => void = () => {};
  echo.onMessage(() => arrived());
  const samples: number[] = [];
  for (let i = 0; i < pings; i++) {
    const back = new Promise<void>((resolve) => (arrived = resolve));
    const start = performance.now();
    await Promise.all([echo.publish(), back]);
    samples.push(performance.now() - start);
  }
  await echo.close();
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}
