/**
 * The benchmark's "raw" peers: MQTT 3.1.1 spoken over a plain socket with pre-encoded
 * packets and a minimal reader, the limit a client could reach on this broker and machine.
 * Only what the benchmark needs: CONNECT (clean session), SUBSCRIBE, PUBLISH (built with
 * the tests' packet helpers) and the QoS 1/2 acknowledgements, written in place; the
 * reader splits the stream into packets without an object per packet.
 *
 * @example
 * const socket = await rawConnect(port, "raw-pub");
 * socket.write(encodePublish("t", payload, 1, 1));
 */
import { type Socket, connect } from "node:net";
import { PacketType as Type, packet, publish } from "../tests/host/support/mqtt-packets.ts";

/** First bytes of the packets the raw peers read and write (MQTT 3.1.1 §2.2.1, §2.2.2). */
export const PacketType = {
  CONNACK: Type.CONNACK << 4,
  PUBLISH: Type.PUBLISH << 4,
  PUBACK: Type.PUBACK << 4,
  PUBREC: Type.PUBREC << 4,
  PUBREL: (Type.PUBREL << 4) | 0x02, // flags 0010 (MQTT 3.1.1 §3.6.1)
  PUBCOMP: Type.PUBCOMP << 4,
  SUBACK: Type.SUBACK << 4,
} as const;

/** An MQTT string: u16 length, UTF-8 bytes (MQTT 3.1.1 §1.5.3). */
function utf8String(text: string): number[] {
  const bytes = Buffer.from(text, "utf8");
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

/** CONNECT with a clean session and a 60 s keepalive (MQTT 3.1.1 §3.1). */
export function encodeConnect(clientId: string): Uint8Array {
  return packet(Type.CONNECT << 4, [...utf8String("MQTT"), 4, 0x02, 0, 60, ...utf8String(clientId)]);
}

/** SUBSCRIBE to one filter (MQTT 3.1.1 §3.8; flags 0010, §3.8.1). */
export function encodeSubscribe(packetId: number, filter: string, qos: number): Uint8Array {
  return packet((Type.SUBSCRIBE << 4) | 0x02, [packetId >> 8, packetId & 0xff, ...utf8String(filter), qos]);
}

/** PUBLISH (MQTT 3.1.1 §3.3); `packetId` is ignored at QoS 0. */
export function encodePublish(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, packetId: number): Buffer {
  const bytes = publish({ topic, payload, qos, packetId: qos > 0 ? packetId : undefined });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** PUBACK, PUBREC, PUBREL or PUBCOMP of `packetId` (MQTT 3.1.1 §3.4–§3.7), written at `offset` of `target`. */
export function writeAck(target: Buffer, offset: number, header: number, packetId: number): void {
  target[offset] = header;
  target[offset + 1] = 2;
  target[offset + 2] = packetId >> 8;
  target[offset + 3] = packetId & 0xff;
}

/** Splits a byte stream into whole packets: `onPacket(header, bytes, bodyStart, end)` per packet, in order. */
export class PacketReader {
  private pending: Buffer | undefined;

  constructor(private readonly onPacket: (header: number, bytes: Buffer, bodyStart: number, end: number) => void) {}

  push(chunk: Buffer): void {
    const bytes = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let offset = 0;
    for (;;) {
      if (bytes.length - offset < 2) break;
      let length = 0;
      let multiplier = 1;
      let at = offset + 1;
      let complete = false;
      while (at < bytes.length && at < offset + 5) {
        const byte = bytes[at++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || bytes.length - at < length) break;
      this.onPacket(bytes[offset], bytes, at, at + length);
      offset = at + length;
    }
    if (offset < bytes.length) this.pending = Buffer.from(bytes.subarray(offset));
  }
}

/** The packet id of an acknowledgement or of a QoS 1/2 PUBLISH whose body starts at `bodyStart`. */
export function packetIdOf(header: number, bytes: Buffer, bodyStart: number): number {
  if ((header & 0xf0) !== PacketType.PUBLISH) return (bytes[bodyStart] << 8) | bytes[bodyStart + 1];
  const topicLength = (bytes[bodyStart] << 8) | bytes[bodyStart + 1];
  const at = bodyStart + 2 + topicLength;
  return (bytes[at] << 8) | bytes[at + 1];
}

/** A plain socket to 127.0.0.1:`port` that has sent CONNECT and seen the CONNACK; `reader` then gets every later packet. */
export async function rawConnect(port: number, clientId: string, reader: PacketReader): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once("connect", () => socket.write(encodeConnect(clientId)));
    let connected = false;
    const handshake = new PacketReader((header, bytes, bodyStart) => {
      if (connected) return;
      if (header !== PacketType.CONNACK || bytes[bodyStart + 1] !== 0) reject(new Error(`raw client ${clientId}: CONNACK refused`));
      connected = true;
      socket.off("error", reject);
      resolve();
    });
    const onData = (chunk: Buffer) => {
      if (connected) return reader.push(chunk);
      handshake.push(chunk);
      if (connected) {
        socket.off("data", onData);
        socket.on("data", (more: Buffer) => reader.push(more));
      }
    };
    socket.on("data", onData);
  });
  return socket;
}
