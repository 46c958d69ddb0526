/**
 * A test bench for one module instance with no socket and no real clock: the test
 * plays the network and the time. It records every import call (packets sent, events,
 * messages, netOpen/netClose) so a test can drive the state machine step by step and
 * check exactly what the module did, at any virtual time, including across the
 * 32-bit millisecond wrap.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EventKind, STATS_FIELDS, type ModuleExports } from "../../../host/module.ts";
import { Status } from "../../../host/status.ts";
import { PacketSplitter, type Packet } from "./mqtt-packets.ts";

/** onEvent kinds and status codes, as the host knows them. */
export { EventKind as Event };
export { Status };

/** Stats block indexes (boards/ABI.md, "Stats block"). */
export const Stat = {
  staticBytes: 0,
  rxHighWater: 2,
  txUsed: 5,
  outboxCapacity: 6,
  outboxUsed: 7,
  outboxRejected: 9,
  inflightCapacity: 10,
  inflightUsed: 11,
  subscriptionUsed: 13,
  inboundQos2Capacity: 14,
  inboundQos2Used: 15,
  messagesDelivered: 20,
  reconnects: 21,
  state: 24,
  maxTopicLength: 26,
  protocolErrors: 27,
  rxOversizeDropped: 30,
  lastDroppedTopicLength: 31,
  lastDroppedSize: 32,
  qos2Downgraded: 33,
  inboundQos2Overflow: 34,
} as const;

export interface RecordedEvent {
  kind: number;
  code: number;
  arg: number;
  at: number;
}

/** The module's record of a skipped PUBLISH (boards/ABI.md, "Oversized messages"), read during its MESSAGE_DROPPED event. */
export interface RecordedDrop {
  flags: number;
  topicLength: number;
  size: number;
  /** undefined when topicLength is above the profile's maxTopicLength (not kept). */
  topic: string | undefined;
}

export interface RecordedMessage {
  topic: string;
  payload: Uint8Array;
  flags: number;
}

/** The ABI's exports, with the firmware's (boards/ABI.md). */
interface Exports extends ModuleExports {
  boardConfigure(adcBits: number, referenceMv: number, dividerPermille: number, tmp36Channel: number, moistureChannel: number, dryRaw: number, wetRaw: number, ledGpio: number, relayGpio: number, outputFlags: number): number;
  appConfigure(deviceIdLen: number, intervalSec: number, deadbandCenti: number, deadbandPercent: number, keepaliveSec: number, telemetryQos: number): number;
  appStart(now: number): number;
  appStop(now: number): number;
  appStatsBuffer(): number;
  appSetSleep(enabled: number): number;
}

const root = fileURLToPath(new URL("../../../", import.meta.url));
const modules = new Map<string, WebAssembly.Module>();
const encoder = new TextEncoder();

/** A module instance of `profile` on a virtual clock and a virtual network. */
export class ModuleBench {
  readonly exports: Exports;
  /** Virtual time in ms; wraps like the device's counter when a test starts it high. */
  now: number;
  /** Bytes netSend may still accept; Infinity accepts everything. */
  sendAllowance = Infinity;
  /** Entropy handed out by `random()`. */
  entropy = 0x9e3779b9;
  readonly sent: Packet[] = [];
  readonly events: RecordedEvent[] = [];
  readonly messages: RecordedMessage[] = [];
  /** One per MESSAGE_DROPPED event. */
  readonly drops: RecordedDrop[] = [];
  netOpens = 0;
  netCloses = 0;
  /** For each netClose, how many packets netSend had taken by then. */
  readonly sentAtClose: number[] = [];
  /** What adcRead(channel) returns, per channel (0 when unset). */
  readonly adc = new Map<number, number>();
  /** The last level written to each GPIO. */
  readonly gpio = new Map<number, number>();
  private splitter = new PacketSplitter();

  /** A fresh instance of `build/<kind>-<profile>.wasm` whose clock starts at `startAt`. */
  constructor(profile = "desktop", startAt = 0, kind: "client" | "telemetry" = "client") {
    this.now = startAt >>> 0;
    const file = `${kind}-${profile}.wasm`;
    let module = modules.get(file);
    if (module === undefined) {
      module = new WebAssembly.Module(readFileSync(`${root}build/${file}`));
      modules.set(file, module);
    }
    const memoryBytes = (ptr: number, len: number): Uint8Array => new Uint8Array(this.exports.memory.buffer, ptr, len).slice();
    const host = {
      netOpen: () => {
        this.netOpens++;
        this.splitter = new PacketSplitter();
      },
      netSend: (ptr: number, len: number): number => {
        const taken = Math.min(len, this.sendAllowance);
        this.sendAllowance -= taken;
        this.sent.push(...this.splitter.push(memoryBytes(ptr, taken)));
        return taken;
      },
      netClose: () => {
        this.netCloses++;
        this.sentAtClose.push(this.sent.length);
      },
      onMessage: (topicPtr: number, topicLen: number, payloadPtr: number, payloadLen: number, flags: number) => {
        const topic = new TextDecoder().decode(memoryBytes(topicPtr, topicLen));
        this.messages.push({ topic, payload: memoryBytes(payloadPtr, payloadLen), flags });
      },
      onEvent: (kind: number, code: number, arg: number) => {
        this.events.push({ kind, code, arg: arg >>> 0, at: this.now });
        if (kind === EventKind.MESSAGE_DROPPED) this.drops.push(this.readDrop());
      },
      onPacket: () => {},
      adcRead: (channel: number): number => this.adc.get(channel) ?? 0,
      gpioWrite: (pin: number, level: number) => {
        this.gpio.set(pin, level);
      },
      random: () => {
        this.entropy = (Math.imul(this.entropy, 1664525) + 1013904223) >>> 0;
        return this.entropy;
      },
    };
    this.exports = new WebAssembly.Instance(module, { host }).exports as unknown as Exports;
    this.exports.init();
    this.droppedPtr = this.exports.droppedMessage();
    this.maxTopicLength = this.stat(Stat.maxTopicLength);
  }

  private readonly droppedPtr: number;
  private readonly maxTopicLength: number;

  /** The dropped-message record, read from memory only (an import must not call an export). */
  private readDrop(): RecordedDrop {
    const [flags, topicLength, size] = new Uint32Array(this.exports.memory.buffer.slice(this.droppedPtr, this.droppedPtr + 12));
    const topic = topicLength > this.maxTopicLength ? undefined : new TextDecoder().decode(new Uint8Array(this.exports.memory.buffer, this.droppedPtr + 12, topicLength));
    return { flags, topicLength, size, topic };
  }

  /** Writes bytes into the staging buffer. */
  stage(bytes: Uint8Array): void {
    new Uint8Array(this.exports.memory.buffer, this.exports.stagingBuffer(), bytes.length).set(bytes);
  }

  /** configure() with a client id and flags (clean session by default), then start() and netUp(). */
  connectTo(options: { clientId?: string; keepaliveSec?: number; flags?: number } = {}): void {
    const clientId = encoder.encode(options.clientId ?? "bench");
    this.stage(clientId);
    const status = this.exports.configure(clientId.length, 0, 0, 0, 0, options.flags ?? 1, options.keepaliveSec ?? 0);
    if (status !== Status.OK) throw new Error(`configure returned ${status}`);
    this.start();
    this.exports.netUp(this.now);
  }

  /** start() at the current time; throws on a status. */
  start(): void {
    const status = this.exports.start(this.now);
    if (status !== Status.OK) throw new Error(`start returned ${status}`);
  }

  /** Delivers bytes from the broker in chunks of `chunkSize`; returns the last rxCommit status. */
  receive(bytes: Uint8Array, chunkSize = bytes.length): number {
    let status = 0;
    for (let at = 0; at < bytes.length; at += chunkSize) {
      const chunk = bytes.subarray(at, Math.min(at + chunkSize, bytes.length));
      if (chunk.length > this.exports.rxSpace()) throw new Error(`rxSpace ${this.exports.rxSpace()} < ${chunk.length}`);
      new Uint8Array(this.exports.memory.buffer, this.exports.rxBuffer(), chunk.length).set(chunk);
      status = this.exports.rxCommit(chunk.length, this.now);
      if (status !== 0) return status;
    }
    return status;
  }

  /**
   * Delivers bytes as a host does: each rxCommit takes at most `chunkSize` bytes and at most
   * rxSpace(). Returns the first status that is not OK, or OK; throws when rxSpace() stays 0.
   */
  stream(bytes: Uint8Array, chunkSize = bytes.length): number {
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(chunkSize, this.exports.rxSpace(), bytes.length - at);
      if (n === 0) throw new Error(`rxSpace() is 0 with ${bytes.length - at} bytes left`);
      new Uint8Array(this.exports.memory.buffer, this.exports.rxBuffer(), n).set(bytes.subarray(at, at + n));
      const status = this.exports.rxCommit(n, this.now);
      if (status !== 0) return status;
      at += n;
    }
    return 0;
  }

  /** Queues a PUBLISH; returns publish()'s result. */
  publish(topic: string, payload: string | Uint8Array, qos: number, retain = false): number {
    const topicBytes = encoder.encode(topic);
    const payloadBytes = typeof payload === "string" ? encoder.encode(payload) : payload;
    const staged = new Uint8Array(topicBytes.length + payloadBytes.length);
    staged.set(topicBytes);
    staged.set(payloadBytes, topicBytes.length);
    this.stage(staged);
    return this.exports.publish(topicBytes.length, payloadBytes.length, qos, retain ? 1 : 0, this.now);
  }

  /** Queues a SUBSCRIBE of [filter, qos] entries; returns subscribe()'s result. */
  subscribe(entries: [string, number][]): number {
    const parts: number[] = [];
    for (const [filter, qos] of entries) {
      const bytes = encoder.encode(filter);
      parts.push(bytes.length & 0xff, bytes.length >> 8, ...bytes, qos);
    }
    this.stage(Uint8Array.from(parts));
    return this.exports.subscribe(entries.length, this.now);
  }

  /** Queues an UNSUBSCRIBE of the filters; returns unsubscribe()'s result. */
  unsubscribe(filters: string[]): number {
    const parts: number[] = [];
    for (const filter of filters) {
      const bytes = encoder.encode(filter);
      parts.push(bytes.length & 0xff, bytes.length >> 8, ...bytes);
    }
    this.stage(Uint8Array.from(parts));
    return this.exports.unsubscribe(filters.length, this.now);
  }

  /** Advances virtual time by ms (wrapping at 2^32) and ticks once. */
  advance(ms: number): number {
    this.now = (this.now + ms) >>> 0;
    return this.exports.tick(this.now);
  }

  /** Ticks at every delay tick() asks for until `ms` have passed. */
  run(ms: number): void {
    let left = ms;
    while (left > 0) {
      const delay = Math.max(1, Math.min(this.exports.tick(this.now), left));
      this.now = (this.now + delay) >>> 0;
      left -= delay;
    }
    this.exports.tick(this.now);
  }

  /** One u32 of the stats block. */
  stat(index: number): number {
    return new Uint32Array(this.exports.memory.buffer, this.exports.statsBuffer(), STATS_FIELDS)[index];
  }

  /** Sent packets of one type. */
  sentOfType(type: number): Packet[] {
    return this.sent.filter((p) => p.type === type);
  }

  /** Recorded events of one kind. */
  eventsOf(kind: number): RecordedEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }
}
