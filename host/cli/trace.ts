/**
 * `-d` output: one readable line per MQTT packet sent or received, from the client's
 * "packet" events, in the style of mosquitto's debug log:
 *
 *     Client wasmqtt-1a2b sending CONNECT
 *     Client wasmqtt-1a2b received CONNACK
 *     Client wasmqtt-1a2b sending PUBLISH (d0, q1, r0, m1, 'a/b', ... (5 bytes))
 *     Client wasmqtt-1a2b received PUBACK (Mid: 1)
 *
 * The trace carries the fixed header, packet id and remaining length only; the topic of a
 * PUBLISH comes from what the command knows (the topic it publishes to) or from the
 * "message" event that follows a received PUBLISH.
 *
 * @example
 * const tracer = new PacketTracer(clientId, (line) => process.stderr.write(`${line}\n`), { publishTopic: "a/b" });
 * client.on("packet", (trace) => tracer.packet(trace));
 * client.on("message", (topic, payload) => tracer.message(topic, payload));
 */

import type { PacketTrace } from "../index.ts";

/** What a trace line can say about a PUBLISH beyond its header. */
export interface PublishDetail {
  topic: string;
  payloadBytes: number;
}

/** Packet types whose variable header starts with a packet id (MQTT 3.1.1 §2.3.1). */
const WITH_PACKET_ID = new Set<string>(["PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK"]);

/**
 * PUBLISH fixed-header flags as mosquitto prints them (MQTT 3.1.1 §3.3.1).
 *
 * @param flags the header's low four bits: DUP (bit 3), QoS (bits 2–1), RETAIN (bit 0)
 * @param packetId 0 for QoS 0
 * @returns e.g. "d0, q1, r0, m1"
 */
export function publishFlags(flags: number, packetId: number): string {
  return `d${(flags >> 3) & 1}, q${(flags >> 1) & 3}, r${flags & 1}, m${packetId}`;
}

/**
 * The payload size of a PUBLISH with this topic, from its remaining length
 * (MQTT 3.1.1 §3.3.2: topic as a 2-byte-length string, then a packet id when QoS > 0).
 *
 * @returns the payload size in bytes, or undefined when the topic cannot be this packet's
 */
export function publishPayloadBytes(trace: PacketTrace, topic: string): number | undefined {
  const qos = (trace.flags >> 1) & 3;
  const bytes = trace.remainingLength - 2 - Buffer.byteLength(topic) - (qos > 0 ? 2 : 0);
  return bytes >= 0 ? bytes : undefined;
}

/**
 * One trace line.
 *
 * @param clientId the client's id, first on every line
 * @param trace the "packet" event
 * @param detail for a PUBLISH: its topic and payload size, when known
 * @param note extra words for the parentheses (e.g. a SUBSCRIBE's filters)
 * @returns e.g. "Client wasmqtt-1a2b sending PUBLISH (d0, q1, r0, m1, 'a/b', ... (5 bytes))"
 */
export function formatPacket(clientId: string, trace: PacketTrace, detail?: PublishDetail, note?: string): string {
  const name = trace.type;
  const verb = trace.direction === "out" ? "sending" : "received";
  const parts: string[] = [];
  if (name === "PUBLISH") {
    parts.push(publishFlags(trace.flags, trace.packetId));
    if (detail === undefined) parts.push(`${trace.remainingLength} bytes after the fixed header`);
    else parts.push(`'${detail.topic}', ... (${detail.payloadBytes} bytes)`);
  } else if (WITH_PACKET_ID.has(name)) {
    parts.push(`Mid: ${trace.packetId}`);
  }
  if (note !== undefined) parts.push(note);
  return `Client ${clientId} ${verb} ${name}${parts.length > 0 ? ` (${parts.join(", ")})` : ""}`;
}

/** What a command knows about the packets it causes. */
export interface TracerContext {
  /** The topic of every PUBLISH this client sends (pub has exactly one). */
  publishTopic?: string;
  /** The filters of every SUBSCRIBE this client sends (sub sends all of them at once). */
  subscriptions?: { topic: string; qos: number }[];
}

/**
 * Writes a trace line per packet. A received PUBLISH is held until the "message" event
 * that follows it supplies the topic, or until the next packet or `flush()`.
 */
export class PacketTracer {
  #pending: PacketTrace | undefined;

  /**
   * @param clientId printed on every line
   * @param write called with each line (no newline)
   * @param context what the command knows about its own PUBLISH and SUBSCRIBE packets
   */
  constructor(
    private readonly clientId: string,
    private readonly write: (line: string) => void,
    private readonly context: TracerContext = {},
  ) {}

  /** Handles a "packet" event. */
  packet(trace: PacketTrace): void {
    this.flush();
    const name = trace.type;
    if (name === "PUBLISH" && trace.direction === "in") {
      this.#pending = trace;
      return;
    }
    this.write(formatPacket(this.clientId, trace, this.outgoingDetail(trace), this.note(trace)));
  }

  /** Handles a "message" event: completes the held PUBLISH line with its topic. */
  message(topic: string, payload: Uint8Array): void {
    const trace = this.#pending;
    if (trace === undefined) return;
    this.#pending = undefined;
    this.write(formatPacket(this.clientId, trace, { topic, payloadBytes: payload.length }));
  }

  /** Writes a held PUBLISH line without its topic (call before exiting). */
  flush(): void {
    const trace = this.#pending;
    if (trace === undefined) return;
    this.#pending = undefined;
    this.write(formatPacket(this.clientId, trace));
  }

  /** Topic and payload size of a PUBLISH this client sends, when its topic is known. */
  private outgoingDetail(trace: PacketTrace): PublishDetail | undefined {
    const topic = this.context.publishTopic;
    if (trace.type !== "PUBLISH" || topic === undefined) return undefined;
    const payloadBytes = publishPayloadBytes(trace, topic);
    return payloadBytes === undefined ? undefined : { topic, payloadBytes };
  }

  /** The filters of an outgoing SUBSCRIBE, as mosquitto lists them. */
  private note(trace: PacketTrace): string | undefined {
    const subscriptions = this.context.subscriptions;
    if (trace.type !== "SUBSCRIBE" || subscriptions === undefined) return undefined;
    return subscriptions.map(({ topic, qos }) => `Topic: ${topic}, QoS: ${qos}`).join(", ");
  }
}
