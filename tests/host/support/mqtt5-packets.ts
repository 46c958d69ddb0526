/**
 * MQTT 5.0 packets a test broker sends, built byte by byte (MQTT 5.0 §3), and readers for
 * what the client sends. Property blocks are given as their raw properties (identifier,
 * value bytes); `block` adds the Property Length.
 */
import { PacketType, type Packet, concat, packet } from "./mqtt-packets.ts";

const u16 = (n: number): number[] => [n >> 8, n & 0xff];
const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const text = (s: string): number[] => {
  const bytes = Buffer.from(s, "utf8");
  return [...u16(bytes.length), ...bytes];
};

/** Properties by identifier (§2.2.2.2), each returning its bytes. */
export const prop = {
  sessionExpiryInterval: (n: number) => [0x11, ...u32(n)],
  receiveMaximum: (n: number) => [0x21, ...u16(n)],
  maximumPacketSize: (n: number) => [0x27, ...u32(n)],
  topicAliasMaximum: (n: number) => [0x22, ...u16(n)],
  topicAlias: (n: number) => [0x23, ...u16(n)],
  maximumQos: (n: number) => [0x24, n],
  retainAvailable: (n: number) => [0x25, n],
  serverKeepAlive: (n: number) => [0x13, ...u16(n)],
  assignedClientIdentifier: (s: string) => [0x12, ...text(s)],
  reasonString: (s: string) => [0x1f, ...text(s)],
  contentType: (s: string) => [0x03, ...text(s)],
  userProperty: (name: string, value: string) => [0x26, ...text(name), ...text(value)],
  payloadFormatIndicator: (n: number) => [0x01, n],
  messageExpiryInterval: (n: number) => [0x02, ...u32(n)],
  responseTopic: (s: string) => [0x08, ...text(s)],
  correlationData: (bytes: number[]) => [0x09, ...u16(bytes.length), ...bytes],
  willDelayInterval: (n: number) => [0x18, ...u32(n)],
  authenticationMethod: (s: string) => [0x15, ...text(s)],
  authenticationData: (bytes: number[]) => [0x16, ...u16(bytes.length), ...bytes],
  serverReference: (s: string) => [0x1c, ...text(s)],
};

/** A property block: the Property Length (a one-byte Variable Byte Integer here), then the properties. */
export function block(...properties: number[][]): number[] {
  const content = properties.flat();
  if (content.length > 127) throw new Error("block: keep test blocks under 128 bytes");
  return [content.length, ...content];
}

/** CONNACK (§3.2): flags, Reason Code, properties. */
export function connack5(options: { sessionPresent?: boolean; reasonCode?: number; properties?: number[][] } = {}): Uint8Array {
  return packet(PacketType.CONNACK << 4, [options.sessionPresent ? 1 : 0, options.reasonCode ?? 0, ...block(...(options.properties ?? []))]);
}

/** PUBACK / PUBREC / PUBREL / PUBCOMP (§3.4–§3.7) with a Reason Code (and an empty property block when `properties` is given). */
export function ack5(type: number, packetId: number, reasonCode: number, properties?: number[][]): Uint8Array {
  const flags = type === PacketType.PUBREL ? 0x02 : 0;
  const rest = properties === undefined ? [] : block(...properties);
  return packet((type << 4) | flags, [...u16(packetId), reasonCode, ...rest]);
}

/** SUBACK (§3.9): packet id, properties, a Reason Code per filter. */
export function suback5(packetId: number, codes: number[], properties: number[][] = []): Uint8Array {
  return packet(PacketType.SUBACK << 4, [...u16(packetId), ...block(...properties), ...codes]);
}

/** UNSUBACK (§3.11): packet id, properties, a Reason Code per filter. */
export function unsuback5(packetId: number, codes: number[], properties: number[][] = []): Uint8Array {
  return packet(PacketType.UNSUBACK << 4, [...u16(packetId), ...block(...properties), ...codes]);
}

/** DISCONNECT from the server (§3.14). */
export function disconnect5(reasonCode: number, properties: number[][] = []): Uint8Array {
  return packet(PacketType.DISCONNECT << 4, [reasonCode, ...block(...properties)]);
}

/** AUTH from the server (§3.15): a Reason Code and properties. */
export function auth5(reasonCode: number, properties: number[][] = []): Uint8Array {
  return packet(15 << 4, [reasonCode, ...block(...properties)]);
}

/** PUBLISH (§3.3) with properties. */
export function publish5(fields: { topic: string; payload?: string | Uint8Array; qos?: number; packetId?: number; properties?: number[][]; rawProperties?: number[] }): Uint8Array {
  const qos = fields.qos ?? 0;
  const head = [...text(fields.topic), ...(qos > 0 ? u16(fields.packetId ?? 1) : []), ...(fields.rawProperties ?? block(...(fields.properties ?? [])))];
  const payload = typeof fields.payload === "string" ? Buffer.from(fields.payload) : (fields.payload ?? new Uint8Array(0));
  return packet((PacketType.PUBLISH << 4) | (qos << 1), concat([Uint8Array.from(head), payload]));
}

/** A packet's properties: the bytes of the block that starts at `offset` of its body, without the Property Length (a one-byte length here). */
export function propertiesAt(p: Packet, offset: number): Uint8Array {
  const len = p.body[offset];
  if (len > 127) throw new Error("propertiesAt: block over 127 bytes");
  return p.body.subarray(offset + 1, offset + 1 + len);
}

/** CONNECT (§3.1.2): Protocol Version and the properties (the block after Keep Alive). */
export function parseConnect5(p: Packet): { version: number; flags: number; keepalive: number; properties: Uint8Array } {
  return { version: p.body[6], flags: p.body[7], keepalive: (p.body[8] << 8) | p.body[9], properties: propertiesAt(p, 10) };
}

/** A 5.0 PUBLISH from the client: topic, packet id, properties, payload. */
export function parsePublish5(p: Packet): { topic: string; packetId: number | undefined; properties: Uint8Array; payload: Uint8Array } {
  const topicLen = (p.body[0] << 8) | p.body[1];
  const topic = Buffer.from(p.body.subarray(2, 2 + topicLen)).toString("utf8");
  const qos = (p.flags >> 1) & 3;
  let at = 2 + topicLen;
  const packetId = qos > 0 ? (p.body[at] << 8) | p.body[at + 1] : undefined;
  if (qos > 0) at += 2;
  const properties = propertiesAt(p, at);
  return { topic, packetId, properties, payload: p.body.subarray(at + 1 + properties.length) };
}
