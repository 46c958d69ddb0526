/**
 * Codec speed, the module through the host against mqtt-packet (MQTT.js's codec): generate
 * and parse of a QoS 0 PUBLISH `test`/`test` and of a 1 KiB QoS 1 PUBLISH.
 *
 * wasmqtt runs as a program uses it: a connected client on a transport that goes nowhere
 * (`LoopbackTransport`: answers CONNECT with a CONNACK, drops what is sent). "generate" is
 * `publish()` (staging, encoding, the transmit ring, `netSend`); at QoS 1 each batch of
 * publishes is acknowledged by PUBACKs fed back through the transport, so the mqtt-packet
 * side parses the same PUBACKs. "parse" feeds pre-encoded PUBLISHes to the transport's
 * `onData` (`rxCommit`, decoding, the topic string and payload copy, the "message" event;
 * at QoS 1 the PUBACK the module sends). mqtt-packet's side is `generate()` of a packet
 * object and `parser().parse()` with a "packet" listener.
 *
 * @example
 * const rates = await codecRound("generate", "qos0", 100_000, false); // { wasmqtt, "mqtt-packet" } ops/s
 */
import mqttPacket from "mqtt-packet";
import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import { connect } from "../host/index.ts";
import type { Transport, TransportHandlers } from "../host/transport.ts";
import { PacketReader, PacketType, encodePublish, packetIdOf, writeAck } from "./raw.ts";
import { connack } from "../tests/host/support/mqtt-packets.ts";

export type CodecOperation = "generate" | "parse";
export type CodecCase = "qos0" | "qos1-1KiB";
export const CODEC_CASES: readonly { operation: CodecOperation; packet: CodecCase; label: string }[] = [
  { operation: "generate", packet: "qos0", label: "generate QoS 0 PUBLISH test/test" },
  { operation: "generate", packet: "qos1-1KiB", label: "generate QoS 1 PUBLISH 1 KiB (+ its PUBACK parsed)" },
  { operation: "parse", packet: "qos0", label: "parse QoS 0 PUBLISH test/test" },
  { operation: "parse", packet: "qos1-1KiB", label: "parse QoS 1 PUBLISH 1 KiB (+ its PUBACK generated)" },
];

/** PUBLISHes in one batch: acknowledged together (generate at QoS 1), fed as one chunk (parse). */
const BATCH = 8;
/** Batches parsed before the client's queued "message" events are let out. */
const EMIT_EVERY = 64;
const KIB = new Uint8Array(1024).fill(0x61);

/** A transport to nowhere: CONNACKs the CONNECT, then drops what is sent, acknowledging QoS 1 PUBLISHes on `flushAcks()`. */
class LoopbackTransport implements Transport {
  handlers: TransportHandlers | undefined;
  private connected = false;
  private acks = Buffer.alloc(4 * 64);
  private ackBytes = 0;
  private readonly reader = new PacketReader((header, bytes, bodyStart) => {
    if ((header & 0xf6) !== (PacketType.PUBLISH | 0x02)) return; // only QoS 1 PUBLISHes get a PUBACK
    if (this.ackBytes + 4 > this.acks.length) this.acks = Buffer.concat([this.acks, Buffer.alloc(this.acks.length)]);
    writeAck(this.acks, this.ackBytes, PacketType.PUBACK, packetIdOf(header, bytes, bodyStart));
    this.ackBytes += 4;
  });
  acknowledge = false;

  open(handlers: TransportHandlers): void {
    this.handlers = handlers;
    setImmediate(() => handlers.onOpen());
  }

  send(bytes: Uint8Array): number {
    if (!this.connected) {
      this.connected = true;
      setImmediate(() => this.handlers?.onData(connack(false, 0)));
    } else if (this.acknowledge) {
      this.reader.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    }
    return bytes.length;
  }

  /** Feeds the PUBACKs of the QoS 1 PUBLISHes sent since the last call. */
  flushAcks(): void {
    if (this.ackBytes === 0) return;
    const chunk = this.acks.subarray(0, this.ackBytes);
    this.ackBytes = 0;
    this.handlers?.onData(chunk);
  }

  close(): void {}
}

/** A PUBLISH as mqtt-packet wants it. */
function packetObject(packet: CodecCase, messageId: number): mqttPacket.IPublishPacket {
  return packet === "qos0"
    ? { cmd: "publish", topic: "test", payload: "test", qos: 0, retain: false, dup: false }
    : { cmd: "publish", topic: "test", payload: Buffer.from(KIB.buffer), qos: 1, retain: false, dup: false, messageId };
}

/** `BATCH` pre-encoded PUBLISHes of the case, ids 1…BATCH. */
function encodedBatch(packet: CodecCase): Buffer {
  return Buffer.concat(Array.from({ length: BATCH }, (_, i) => (packet === "qos0" ? encodePublish("test", Buffer.from("test"), 0, 0) : encodePublish("test", KIB, 1, i + 1))));
}

/** One timed round of `ops` operations per codec (mqtt-packet first when asked); resolves with each one's operations per second. */
export async function codecRound(
  operation: CodecOperation,
  packet: CodecCase,
  ops: number,
  mqttPacketFirst: boolean,
): Promise<{ wasmqtt: number; "mqtt-packet": number }> {
  const first = mqttPacketFirst ? mqttPacketRound(operation, packet, ops) : 0;
  const wasmqtt = await wasmqttRound(operation, packet, ops);
  return { wasmqtt, "mqtt-packet": mqttPacketFirst ? first : mqttPacketRound(operation, packet, ops) };
}

async function wasmqttRound(operation: CodecOperation, packet: CodecCase, ops: number): Promise<number> {
  const transport = new LoopbackTransport();
  const client = await connect("mqtt://127.0.0.1:1", { profile: "desktop", keepalive: 0, transport });
  const batches = Math.ceil(ops / BATCH);
  let elapsed: number;
  if (operation === "generate") {
    transport.acknowledge = packet !== "qos0";
    const payload = packet === "qos0" ? "test" : KIB;
    const qos = packet === "qos0" ? 0 : 1;
    const start = performance.now();
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < BATCH; i++) void client.publish("test", payload, { qos });
      transport.flushAcks();
    }
    elapsed = performance.now() - start;
  } else {
    const chunk = encodedBatch(packet);
    let received = 0;
    const all = batches * BATCH;
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    client.on("message", () => {
      if (++received === all) done();
    });
    const start = performance.now();
    for (let b = 0; b < batches; b++) {
      transport.handlers!.onData(chunk);
      if (b % EMIT_EVERY === EMIT_EVERY - 1) await nextTurn(); // let the "message" events out, as a program's event loop would
    }
    await finished;
    elapsed = performance.now() - start;
  }
  await client.end();
  await nextTurn();
  return ((batches * BATCH) / elapsed) * 1000;
}

function mqttPacketRound(operation: CodecOperation, packet: CodecCase, ops: number): number {
  const batches = Math.ceil(ops / BATCH);
  const parser = mqttPacket.parser();
  let parsed = 0;
  parser.on("packet", () => parsed++);
  let start: number;
  if (operation === "generate") {
    const puback = Buffer.alloc(4);
    start = performance.now();
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < BATCH; i++) {
        mqttPacket.generate(packetObject(packet, i + 1));
        if (packet !== "qos0") {
          writeAck(puback, 0, PacketType.PUBACK, i + 1);
          parser.parse(puback);
        }
      }
    }
  } else {
    const chunk = encodedBatch(packet);
    start = performance.now();
    for (let b = 0; b < batches; b++) {
      parser.parse(chunk);
      if (packet !== "qos0") for (let i = 0; i < BATCH; i++) mqttPacket.generate({ cmd: "puback", messageId: i + 1 });
    }
    if (parsed !== batches * BATCH) throw new Error(`mqtt-packet parsed ${parsed} of ${batches * BATCH} packets`);
  }
  return ((batches * BATCH) / (performance.now() - start)) * 1000;
}
