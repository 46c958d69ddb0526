/**
 * Test-side MQTT 3.1.1 packet helpers: a stream splitter, builders for the packets a
 * broker sends, and parsers for the packets a client sends.
 *
 * Deliberately independent of `assembly/`: the fake broker must not share a codec with
 * the code it is testing, or a bug in one would hide in the other.
 */

/** Control packet types (MQTT 3.1.1 §2.2.1). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

/** One of the {@link PacketType} values. */
export type PacketTypeCode = (typeof PacketType)[keyof typeof PacketType];

/** A complete control packet as it appeared on the wire. */
export interface Packet {
  /** Packet type, the high nibble of the first byte. */
  type: number;
  /** Flags, the low nibble of the first byte. */
  flags: number;
  /** The whole packet: fixed header, variable header and payload. */
  bytes: Uint8Array;
  /** Variable header and payload: the `remainingLength` bytes after the fixed header. */
  body: Uint8Array;
}

/** Largest value the four-byte Remaining Length can hold (MQTT 3.1.1 §2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** Encodes `remainingLength` as the 1–4 byte variable length integer of §2.2.3. */
export function encodeRemainingLength(remainingLength: number): number[] {
  if (!Number.isInteger(remainingLength) || remainingLength < 0 || remainingLength > MAX_REMAINING_LENGTH) {
    throw new RangeError(`remaining length out of range: ${remainingLength}`);
  }
  const out: number[] = [];
  let value = remainingLength;
  do {
    let digit = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) digit |= 0x80;
    out.push(digit);
  } while (value > 0);
  return out;
}

/** Result of {@link decodeRemainingLength}: the value and how many bytes encoded it. */
export interface RemainingLength {
  value: number;
  size: number;
}

/**
 * Decodes a Remaining Length starting at `offset`.
 * Returns `undefined` when more bytes are needed; throws on a fifth length byte.
 */
export function decodeRemainingLength(bytes: Uint8Array, offset: number): RemainingLength | undefined {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i++) {
    if (offset + i >= bytes.length) return undefined;
    const digit = bytes[offset + i];
    value += (digit & 0x7f) * multiplier;
    if ((digit & 0x80) === 0) return { value, size: i + 1 };
    multiplier *= 128;
  }
  throw new Error("malformed remaining length: more than 4 bytes");
}

/**
 * Splits a byte stream into whole packets, whatever the chunk boundaries are.
 * Feed every received chunk to {@link PacketSplitter.push}.
 */
export class PacketSplitter {
  private pending: Uint8Array = new Uint8Array(0);

  /** Appends `chunk` and returns every packet that is now complete, in order. */
  push(chunk: Uint8Array): Packet[] {
    this.pending = concat([this.pending, chunk]);
    const packets: Packet[] = [];
    for (;;) {
      const length = decodeRemainingLength(this.pending, 1);
      if (length === undefined) break;
      const headerSize = 1 + length.size;
      const total = headerSize + length.value;
      if (this.pending.length < total) break;
      const bytes = this.pending.slice(0, total);
      packets.push({ type: bytes[0] >> 4, flags: bytes[0] & 0x0f, bytes, body: bytes.subarray(headerSize) });
      this.pending = this.pending.subarray(total);
    }
    return packets;
  }

  /** Number of buffered bytes that do not yet form a whole packet. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}

/** Builds a packet from its first byte and body, computing the Remaining Length. */
export function packet(firstByte: number, body: ArrayLike<number> = []): Uint8Array {
  const header = Uint8Array.from([firstByte, ...encodeRemainingLength(body.length)]);
  return concat([header, Uint8Array.from(body)]);
}

/** CONNACK (§3.2): `returnCode` 0 accepts, 1–5 refuse. */
export function connack(sessionPresent: boolean, returnCode: number): Uint8Array {
  return packet(PacketType.CONNACK << 4, [sessionPresent ? 1 : 0, returnCode]);
}

/** SUBACK (§3.9): one return code per filter, 0x80 for failure. */
export function suback(packetId: number, codes: number[]): Uint8Array {
  return packet(PacketType.SUBACK << 4, [...u16(packetId), ...codes]);
}

/** UNSUBACK (§3.11). */
export function unsuback(packetId: number): Uint8Array {
  return packet(PacketType.UNSUBACK << 4, u16(packetId));
}

/** PUBACK (§3.4). */
export function puback(packetId: number): Uint8Array {
  return packet(PacketType.PUBACK << 4, u16(packetId));
}

/** PUBREC (§3.5). */
export function pubrec(packetId: number): Uint8Array {
  return packet(PacketType.PUBREC << 4, u16(packetId));
}

/** PUBREL (§3.6): fixed header flags must be 0b0010. */
export function pubrel(packetId: number): Uint8Array {
  return packet((PacketType.PUBREL << 4) | 0x02, u16(packetId));
}

/** PUBCOMP (§3.7). */
export function pubcomp(packetId: number): Uint8Array {
  return packet(PacketType.PUBCOMP << 4, u16(packetId));
}

/** PINGRESP (§3.13). */
export function pingresp(): Uint8Array {
  return packet(PacketType.PINGRESP << 4);
}

/** Fields of a PUBLISH packet (§3.3). */
export interface PublishFields {
  topic: string;
  payload?: Uint8Array | string;
  qos?: 0 | 1 | 2;
  retain?: boolean;
  dup?: boolean;
  /** Required when `qos` > 0. */
  packetId?: number;
}

/** PUBLISH (§3.3). Throws when `qos` > 0 and no `packetId` is given. */
export function publish(fields: PublishFields): Uint8Array {
  const qos = fields.qos ?? 0;
  const flags = (fields.dup ? 0x08 : 0) | (qos << 1) | (fields.retain ? 0x01 : 0);
  const header = utf8String(fields.topic);
  if (qos > 0) {
    if (fields.packetId === undefined) throw new Error("publish: qos > 0 needs a packetId");
    header.push(...u16(fields.packetId));
  }
  const body = concat([Uint8Array.from(header), toBytes(fields.payload ?? new Uint8Array(0))]);
  return packet((PacketType.PUBLISH << 4) | flags, body);
}

/** What {@link parseConnect} reads from a CONNECT packet (§3.1). */
export interface ConnectFields {
  protocolName: string;
  protocolLevel: number;
  cleanSession: boolean;
  keepalive: number;
  clientId: string;
  username?: string;
}

/** Reads the fields of a CONNECT packet that tests usually check. */
export function parseConnect(p: Packet): ConnectFields {
  const { protocolName, protocolLevel, cleanSession, keepalive, clientId, username } = parseConnectDetails(p);
  return { protocolName, protocolLevel, cleanSession, keepalive, clientId, username };
}

/** Every field of a CONNECT packet (§3.1), for tests that check what a client sent. */
export interface ConnectDetails extends ConnectFields {
  /** The connect flags byte (§3.1.2.3). */
  flags: number;
  will?: { topic: string; payload: Uint8Array; qos: number; retain: boolean };
  password?: Uint8Array;
}

/** Reads every field of a CONNECT packet; throws when the body is shorter than its flags promise. */
export function parseConnectDetails(p: Packet): ConnectDetails {
  const reader = new BodyReader(p.body);
  const protocolName = reader.string();
  const protocolLevel = reader.byte();
  const flags = reader.byte();
  const keepalive = reader.u16();
  const clientId = reader.string();
  const will =
    flags & 0x04
      ? { topic: reader.string(), payload: reader.binary(), qos: (flags >> 3) & 0x03, retain: (flags & 0x20) !== 0 }
      : undefined;
  const username = flags & 0x80 ? reader.string() : undefined;
  const password = flags & 0x40 ? reader.binary() : undefined;
  if (!reader.done) throw new Error("CONNECT has bytes after its last field");
  return { protocolName, protocolLevel, cleanSession: (flags & 0x02) !== 0, keepalive, clientId, username, flags, will, password };
}

/** What {@link parsePublish} reads from a PUBLISH packet (§3.3). */
export interface ParsedPublish {
  topic: string;
  payload: Uint8Array;
  qos: number;
  retain: boolean;
  dup: boolean;
  packetId?: number;
}

/** Reads a PUBLISH packet. */
export function parsePublish(p: Packet): ParsedPublish {
  const reader = new BodyReader(p.body);
  const qos = (p.flags >> 1) & 0x03;
  const topic = reader.string();
  const packetId = qos > 0 ? reader.u16() : undefined;
  return { topic, payload: reader.rest(), qos, retain: (p.flags & 1) !== 0, dup: (p.flags & 8) !== 0, packetId };
}

/** Reads a SUBSCRIBE packet (§3.8): its packet id and each filter with requested QoS. */
export function parseSubscribe(p: Packet): { packetId: number; filters: { topic: string; qos: number }[] } {
  const reader = new BodyReader(p.body);
  const packetId = reader.u16();
  const filters: { topic: string; qos: number }[] = [];
  while (!reader.done) filters.push({ topic: reader.string(), qos: reader.byte() });
  return { packetId, filters };
}

/** Reads the packet id that starts the body of PUBACK/PUBREC/PUBREL/PUBCOMP/UNSUBSCRIBE. */
export function packetIdOf(p: Packet): number {
  return new BodyReader(p.body).u16();
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Bounds-checked cursor over a packet body; throws when a read passes the end. */
class BodyReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  byte(): number {
    return this.take(1)[0];
  }

  u16(): number {
    const b = this.take(2);
    return (b[0] << 8) | b[1];
  }

  binary(): Uint8Array {
    return this.take(this.u16());
  }

  string(): string {
    return new TextDecoder().decode(this.binary());
  }

  rest(): Uint8Array {
    return this.take(this.bytes.length - this.offset);
  }

  private take(n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new Error("packet body too short");
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
}

function u16(value: number): number[] {
  return [(value >> 8) & 0xff, value & 0xff];
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

function utf8String(text: string): number[] {
  const bytes = toBytes(text);
  return [...u16(bytes.length), ...bytes];
}
