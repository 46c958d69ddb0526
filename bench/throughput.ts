/**
 * End-to-end publish throughput through one Mosquitto, side by side: wasmqtt, MQTT.js and
 * the raw limit (bench/raw.ts) publish the same messages at QoS 0, 1 and 2 in windows of
 * {@link WINDOW} publishes (issued at once, then awaited), timed from the first publish
 * until the subscriber — a raw socket in a child process (bench/sink.ts), subscribed at
 * the same QoS — saw the last one. The publisher's CPU (`process.cpuUsage()`, this
 * process, which runs nothing else during a round) is reported per message.
 *
 * @example
 * const sink = await Sink.start();
 * const figures = await timeRound(peers.wasmqtt, broker, sink, 1, 10000, payload);
 */
import mqtt from "mqtt";
import { type ChildProcess, fork } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { connect } from "../host/index.ts";
import { PacketReader, PacketType, encodePublish, packetIdOf, rawConnect, writeAck } from "./raw.ts";

/** Publishes in flight at once, for every peer. */
export const WINDOW = 100;

/** One round's figures. */
export interface RoundFigures {
  msgPerSec: number;
  cpuUsPerMsg: number;
}

/** A connected publisher for one round. */
interface Publisher {
  /** Publishes `count` messages in windows of {@link WINDOW}, each window awaited. */
  publishAll(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A publishing client under test. */
export interface Peer {
  name: string;
  open(url: string, port: number, topic: string, qos: 0 | 1 | 2, payload: Uint8Array): Promise<Publisher>;
}

/**
 * wasmqtt, desktop profile (16 QoS 1/2 flows in flight). Its outbox is bounded (MQTT.js
 * buffers without limit): a publish the outbox has no room for — QoS 0 faster than the
 * socket drains — waits for room (`whenFull: "wait"`).
 */
export const wasmqttPeer: Peer = wasmqttWith("wasmqtt", {});

/**
 * wasmqtt with one QoS 1/2 flow in flight (`maxInflight: 1`): stop and wait. Each
 * acknowledgement is answered by the next PUBLISH, which carries the TCP ACK, so a broker
 * with Nagle's algorithm on never holds a second acknowledgement behind the first.
 */
export const wasmqttStopAndWaitPeer: Peer = wasmqttWith("wasmqtt maxInflight 1", { maxInflight: 1 });

function wasmqttWith(name: string, options: { maxInflight?: number }): Peer {
  return {
    name,
    async open(url, _port, topic, qos, payload) {
      const client = await connect(url, { profile: "desktop", keepalive: 60, ...options });
      const publish = () => client.publish(topic, payload, { qos, whenFull: "wait" });
      return {
        async publishAll(count) {
          for (let sent = 0; sent < count; sent += WINDOW) {
            const window = Math.min(WINDOW, count - sent);
            const flows: Promise<unknown>[] = [];
            for (let i = 0; i < window; i++) flows.push(publish());
            await Promise.all(flows);
          }
        },
        close: () => client.end(),
      };
    },
  };
}

export const mqttJsPeer: Peer = {
  name: "MQTT.js",
  async open(url, _port, topic, qos, payload) {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, keepalive: 60 });
    const bytes = Buffer.from(payload);
    return {
      async publishAll(count) {
        for (let sent = 0; sent < count; sent += WINDOW) {
          const window = Math.min(WINDOW, count - sent);
          const flows: Promise<unknown>[] = [];
          for (let i = 0; i < window; i++) flows.push(client.publishAsync(topic, bytes, { qos }));
          await Promise.all(flows);
        }
      },
      close: () => client.endAsync(),
    };
  },
};

/**
 * The limit: a window of pre-encoded PUBLISHes (packet ids 1…WINDOW, reused once the
 * window completed) written in one write; QoS 1 waits for the window's PUBACKs, QoS 2
 * answers each PUBREC with a PUBREL (one write per chunk read) and waits for the PUBCOMPs.
 */
export const rawPeer: Peer = {
  name: "raw",
  async open(_url, port, topic, qos, payload) {
    const window = Buffer.concat(Array.from({ length: WINDOW }, (_, i) => encodePublish(topic, payload, qos, i + 1)));
    const single = encodePublish(topic, payload, qos, 1).length;
    let completed = 0;
    let windowDone: () => void = () => {};
    let pubrels = Buffer.alloc(4 * WINDOW);
    let pubrelBytes = 0;
    const reader = new PacketReader((header, bytes, bodyStart) => {
      const type = header & 0xf0;
      if ((qos === 1 && type === PacketType.PUBACK) || (qos === 2 && type === PacketType.PUBCOMP)) {
        if (++completed === target) windowDone();
      } else if (type === PacketType.PUBREC) {
        if (pubrelBytes + 4 > pubrels.length) pubrels = Buffer.concat([pubrels, Buffer.alloc(pubrels.length)]);
        writeAck(pubrels, pubrelBytes, PacketType.PUBREL, packetIdOf(header, bytes, bodyStart));
        pubrelBytes += 4;
      }
    });
    let target = 0;
    const socket = await rawConnect(port, `bench-raw-${process.pid}`, reader);
    socket.on("data", () => {
      if (pubrelBytes === 0) return;
      socket.write(Buffer.from(pubrels.subarray(0, pubrelBytes)));
      pubrelBytes = 0;
    });
    return {
      async publishAll(count) {
        for (let sent = 0; sent < count; sent += WINDOW) {
          const n = Math.min(WINDOW, count - sent);
          const bytes = n === WINDOW ? window : window.subarray(0, n * single);
          if (qos === 0) {
            if (!socket.write(bytes)) await new Promise((resolve) => socket.once("drain", resolve));
            continue;
          }
          completed = 0;
          target = n;
          const done = new Promise<void>((resolve) => (windowDone = resolve));
          socket.write(bytes);
          await done;
        }
      },
      async close() {
        await new Promise<void>((resolve) => socket.end(resolve));
        socket.destroy();
      },
    };
  },
};

/** The subscriber child process (bench/sink.ts). */
export class Sink {
  private readonly replies: ((message: { ready?: boolean; done?: boolean; received?: number }) => void)[] = [];

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (message) => this.replies.shift()?.(message as { ready?: boolean }));
  }

  static async start(): Promise<Sink> {
    const child = fork(fileURLToPath(new URL("./sink.ts", import.meta.url)), { execArgv: ["--import", "tsx"], stdio: "inherit" });
    return new Sink(child);
  }

  /** Starts a round: resolves once subscribed, with `received`: the last message's arrival (rejects after `timeoutMs`). */
  async expect(port: number, topic: string, qos: number, count: number, timeoutMs: number): Promise<{ received: Promise<void> }> {
    const ready = this.next();
    const done = this.next();
    this.child.send({ port, topic, qos, count });
    await ready;
    const received = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the subscriber did not see ${count} messages on ${topic} within ${timeoutMs} ms`)), timeoutMs);
      void done.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return { received };
  }

  stop(): void {
    this.child.send({ exit: true });
  }

  private next(): Promise<unknown> {
    return new Promise((resolve) => this.replies.push(resolve));
  }
}

let roundNumber = 0;

/** One round of one peer: connect, subscribe the sink, publish `count` messages, time until the sink saw them all. */
export async function timeRound(
  peer: Peer,
  broker: { url: string; port: number },
  sink: Sink,
  qos: 0 | 1 | 2,
  count: number,
  payload: Uint8Array,
): Promise<RoundFigures> {
  const topic = `bench/${peer.name}/${qos}/${roundNumber++}`;
  const { received } = await sink.expect(broker.port, topic, qos, count, 60_000);
  const publisher = await peer.open(broker.url, broker.port, topic, qos, payload);
  const cpu = process.cpuUsage();
  const start = performance.now();
  await publisher.publishAll(count);
  await received;
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  await publisher.close();
  return { msgPerSec: (count / elapsed) * 1000, cpuUsPerMsg: (used.user + used.system) / count };
}
