/**
 * A Wireshark-ready trace of the MQTT byte stream: a {@link LinkTap} that writes what a
 * {@link ModuleLink} sends and receives, both ways, to a classic pcap file (libpcap format,
 * LINKTYPE_ETHERNET) as the TCP segments of a synthetic connection, so Wireshark's and
 * tshark's MQTT dissector decodes every packet. Since the tap sits where bytes enter and
 * leave the module, a connection over TLS or WebSockets is traced as its MQTT bytes, not
 * its ciphertext or frames.
 *
 * Each connection is a TCP stream of its own: SYN, SYN-ACK, ACK when it comes up, data
 * segments (at most {@link MAX_SEGMENT_PAYLOAD} bytes each) with consistent sequence and
 * acknowledgement numbers, and FIN both ways (or the broker's RST) when it ends. The client
 * is 10.0.0.2 (or `clientAddress`), the broker 10.0.0.1; the ports are the socket's own
 * where the transport knows them, otherwise a new client port per connection (from
 * `firstClientPort`) and `brokerPort`. Timestamps are the host's `Date.now()` when the
 * trace opened, advanced by the module's u32 millisecond clock (its wraps followed), so
 * a simulated device's trace shows its virtual time; their resolution is 1 ms.
 *
 * Every segment is appended at once with `fs.writeSync` into the file's descriptor: a
 * trace is complete up to the last segment even if the process dies, and a trace costs
 * nothing when none is asked for. `close()` closes the file.
 *
 * @example
 * const trace = PcapTrace.open("session.pcap", clock);
 * const link = await ModuleLink.create({ profile: "desktop", transport, clock, imports, handlers, tap: trace });
 * // … later, when the client is done:
 * trace.close();
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { Clock } from "./clock.ts";
import { argumentError } from "./errors.ts";
import type { LinkTap } from "./link.ts";
import type { CloseReason, Transport } from "./transport.ts";

/** pcap file header: magic, version 2.4, GMT offset, accuracy, snapshot length, link type. */
const PCAP_MAGIC = 0xa1b2c3d4;
const PCAP_FILE_HEADER_BYTES = 24;
const PCAP_RECORD_HEADER_BYTES = 16;
/** The snapshot length tcpdump writes by default: no frame of ours is cut. */
const PCAP_SNAPLEN = 262_144;
const LINKTYPE_ETHERNET = 1;

const ETHERNET_HEADER_BYTES = 14;
const ETHERTYPE_IPV4 = 0x0800;
const IPV4_HEADER_BYTES = 20;
const IPPROTO_TCP = 6;
const TCP_HEADER_BYTES = 20;
/** An IPv4 packet is at most 65535 bytes (its Total Length field), headers included. */
export const MAX_SEGMENT_PAYLOAD = 0xffff - IPV4_HEADER_BYTES - TCP_HEADER_BYTES;

/** TCP header flags (RFC 9293 §3.1). */
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

const BROKER_ADDRESS = 0x0a000001; // 10.0.0.1
const CLIENT_ADDRESS = 0x0a000002; // 10.0.0.2
const DEFAULT_BROKER_PORT = 1883;
/** The first port of the dynamic range (RFC 6335 §6). */
const EPHEMERAL_FIRST = 49152;

/** Where a synthetic connection's ends are, for {@link PcapTrace.open}. */
export interface PcapTraceOptions {
  /** The client's IPv4 address as "a.b.c.d" (default 10.0.0.2); the broker is 10.0.0.1. */
  clientAddress?: string;
  /** The client port of the first connection whose transport tells none (default 49152); each such connection takes the next. */
  firstClientPort?: number;
  /** The broker port when the transport tells none (default 1883). */
  brokerPort?: number;
}

/** One end of the open connection: its address, port and next sequence number. */
interface End {
  address: number;
  port: number;
  mac: Uint8Array;
  seq: number;
}

/** One pcap file of MQTT-over-TCP segments; see the file's comment. */
export class PcapTrace implements LinkTap {
  private fd: number | undefined;
  private readonly clientAddress: number;
  private readonly brokerPort: number;
  private nextClientPort: number;
  private client: End | undefined;
  private broker: End | undefined;
  private ipId = 0;
  /** Epoch milliseconds of the last timestamp, and the module clock's reading then. */
  private epochMs: number;
  private lastU32: number;

  private constructor(
    fd: number,
    private readonly clock: Pick<Clock, "nowU32">,
    options: PcapTraceOptions,
  ) {
    this.fd = fd;
    this.clientAddress = options.clientAddress === undefined ? CLIENT_ADDRESS : ipv4(options.clientAddress);
    this.brokerPort = options.brokerPort ?? DEFAULT_BROKER_PORT;
    this.nextClientPort = options.firstClientPort ?? EPHEMERAL_FIRST;
    this.epochMs = Date.now();
    this.lastU32 = clock.nowU32();
  }

  /**
   * Creates (or truncates) `file` and writes the pcap file header.
   *
   * @param file the path of the pcap file
   * @param clock the module's clock: its readings advance the timestamps
   * @param options the synthetic addresses and ports
   * @returns the trace, to hand to the link as its tap
   * @throws WasmqttError INVALID_ARGUMENT naming the file when it cannot be created, or a bad `clientAddress`
   */
  static open(file: string, clock: Pick<Clock, "nowU32">, options: PcapTraceOptions = {}): PcapTrace {
    if (options.clientAddress !== undefined) ipv4(options.clientAddress);
    let fd: number;
    try {
      fd = openSync(file, "w");
    } catch (error) {
      throw argumentError(`trace.pcap: cannot create '${file}': ${(error as Error).message}`);
    }
    const header = Buffer.alloc(PCAP_FILE_HEADER_BYTES);
    header.writeUInt32LE(PCAP_MAGIC, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(PCAP_SNAPLEN, 16);
    header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    writeSync(fd, header);
    return new PcapTrace(fd, clock, options);
  }

  /** The connection is up: a new TCP stream, its three-way handshake written. */
  opened(transport: Transport): void {
    if (this.fd === undefined) return;
    const ports = transport.ports?.() ?? {};
    const clientPort = ports.local ?? this.takeClientPort();
    const brokerPort = ports.remote ?? this.brokerPort;
    // initial sequence numbers fixed per port, so the same session gives the same file
    const client: End = { address: this.clientAddress, port: clientPort, mac: mac(this.clientAddress), seq: (0x10000000 + clientPort * 0x10001) >>> 0 };
    const broker: End = { address: BROKER_ADDRESS, port: brokerPort, mac: mac(BROKER_ADDRESS), seq: (0x20000000 + clientPort * 0x10001) >>> 0 };
    this.client = client;
    this.broker = broker;
    this.segment(client, broker, SYN, 0, EMPTY);
    client.seq = (client.seq + 1) >>> 0;
    this.segment(broker, client, SYN | ACK, client.seq, EMPTY);
    broker.seq = (broker.seq + 1) >>> 0;
    this.segment(client, broker, ACK, broker.seq, EMPTY);
  }

  /** The module sent these bytes (what the transport took): client → broker data segments. */
  sent(bytes: Uint8Array): void {
    if (this.client !== undefined && this.broker !== undefined) this.data(this.client, this.broker, bytes);
  }

  /** The transport delivered these bytes: broker → client data segments. */
  received(bytes: Uint8Array): void {
    if (this.client !== undefined && this.broker !== undefined) this.data(this.broker, this.client, bytes);
  }

  /**
   * The connection ended: "client" when the module closed it (FIN from the client first),
   * "closed" when the broker did (FIN from the broker first), otherwise an RST from the
   * broker. Nothing is written for a connection that never came up.
   */
  closed(reason: CloseReason | "client"): void {
    const { client, broker } = this;
    if (client === undefined || broker === undefined) return;
    this.client = undefined;
    this.broker = undefined;
    if (reason === "reset" || reason === "refused") {
      this.segment(broker, client, RST | ACK, client.seq, EMPTY);
      return;
    }
    const [first, second] = reason === "client" ? [client, broker] : [broker, client];
    this.segment(first, second, FIN | ACK, second.seq, EMPTY);
    first.seq = (first.seq + 1) >>> 0;
    this.segment(second, first, FIN | ACK, first.seq, EMPTY);
    second.seq = (second.seq + 1) >>> 0;
    this.segment(first, second, ACK, second.seq, EMPTY);
  }

  /** Closes the file; later calls write nothing. */
  close(): void {
    const fd = this.fd;
    this.fd = undefined;
    this.client = undefined;
    this.broker = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  /** A new synthetic client port, from the first one up through the dynamic range and around. */
  private takeClientPort(): number {
    const port = this.nextClientPort;
    this.nextClientPort = port >= 0xffff ? EPHEMERAL_FIRST : port + 1;
    return port;
  }

  /** `bytes` from `from` to `to` as PSH/ACK segments of at most MAX_SEGMENT_PAYLOAD bytes. */
  private data(from: End, to: End, bytes: Uint8Array): void {
    for (let offset = 0; offset < bytes.length; offset += MAX_SEGMENT_PAYLOAD) {
      const payload = bytes.subarray(offset, offset + MAX_SEGMENT_PAYLOAD);
      this.segment(from, to, PSH | ACK, to.seq, payload);
      from.seq = (from.seq + payload.length) >>> 0;
    }
  }

  /** Appends one Ethernet/IPv4/TCP frame carrying `payload` at `from.seq`, acknowledging `ack`. */
  private segment(from: End, to: End, flags: number, ack: number, payload: Uint8Array): void {
    if (this.fd === undefined) return;
    const ipBytes = IPV4_HEADER_BYTES + TCP_HEADER_BYTES + payload.length;
    const frameBytes = ETHERNET_HEADER_BYTES + ipBytes;
    const record = Buffer.alloc(PCAP_RECORD_HEADER_BYTES + frameBytes);
    const ms = this.timestampMs();
    record.writeUInt32LE(Math.floor(ms / 1000) >>> 0, 0);
    record.writeUInt32LE((ms % 1000) * 1000, 4);
    record.writeUInt32LE(frameBytes, 8);
    record.writeUInt32LE(frameBytes, 12);
    // Ethernet II
    let at = PCAP_RECORD_HEADER_BYTES;
    record.set(to.mac, at);
    record.set(from.mac, at + 6);
    record.writeUInt16BE(ETHERTYPE_IPV4, at + 12);
    // IPv4 (RFC 791 §3.1): version 4, 5 words, Don't Fragment, TTL 64
    at += ETHERNET_HEADER_BYTES;
    const ip = at;
    record[at] = 0x45;
    record.writeUInt16BE(ipBytes, at + 2);
    record.writeUInt16BE(this.ipId, at + 4);
    this.ipId = (this.ipId + 1) & 0xffff;
    record.writeUInt16BE(0x4000, at + 6);
    record[at + 8] = 64;
    record[at + 9] = IPPROTO_TCP;
    record.writeUInt32BE(from.address, at + 12);
    record.writeUInt32BE(to.address, at + 16);
    record.writeUInt16BE(checksum(record, ip, IPV4_HEADER_BYTES, 0), at + 10);
    // TCP (RFC 9293 §3.1): 5 words, the largest window without scaling
    at += IPV4_HEADER_BYTES;
    const tcp = at;
    record.writeUInt16BE(from.port, at);
    record.writeUInt16BE(to.port, at + 2);
    record.writeUInt32BE(from.seq, at + 4);
    record.writeUInt32BE((flags & ACK) !== 0 ? ack : 0, at + 8);
    record[at + 12] = (TCP_HEADER_BYTES / 4) << 4;
    record[at + 13] = flags;
    record.writeUInt16BE(0xffff, at + 14);
    record.set(payload, at + TCP_HEADER_BYTES);
    const tcpBytes = TCP_HEADER_BYTES + payload.length;
    const pseudo = sum16(from.address) + sum16(to.address) + IPPROTO_TCP + tcpBytes;
    record.writeUInt16BE(checksum(record, tcp, tcpBytes, pseudo), at + 16);
    writeSync(this.fd, record);
  }

  /** Epoch milliseconds now: the last timestamp advanced by what the module clock moved since (never back). */
  private timestampMs(): number {
    const now = this.clock.nowU32();
    const moved = (now - this.lastU32) | 0;
    this.lastU32 = now;
    if (moved > 0) this.epochMs += moved;
    return this.epochMs;
  }
}

const EMPTY = new Uint8Array(0);

/** "a.b.c.d" as a u32; INVALID_ARGUMENT naming the text otherwise. */
function ipv4(text: string): number {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255) || !/^[\d.]+$/.test(text)) {
    throw argumentError(`clientAddress '${text}' must be an IPv4 address a.b.c.d`);
  }
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** A locally administered MAC address holding the IPv4 address: 02:00:a:b:c:d. */
function mac(address: number): Uint8Array {
  return Uint8Array.of(0x02, 0x00, address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff);
}

/** The two 16-bit halves of a u32, added. */
function sum16(value: number): number {
  return (value >>> 16) + (value & 0xffff);
}

/** The Internet checksum (RFC 1071) of `length` bytes at `start`, with `initial` (a pseudo-header's sum) added. */
function checksum(bytes: Uint8Array, start: number, length: number, initial: number): number {
  let sum = initial;
  const end = start + length;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
