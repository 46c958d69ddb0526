/**
 * One instance of the module under test, driven straight through its ABI
 * (boards/ABI.md) with test imports that record every call: bytes given to netSend
 * (split into packets per connection, optionally a few bytes per call), messages,
 * events, netOpen/netClose. Every export call goes through {@link Device.call}, which
 * turns a trap into a finding and counts the imports the call made (a runaway loop
 * calls them without end). Instances are recycled when all the module's state is in
 * its memory: restoring the memory as instantiated makes a used one fresh.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FirmwareExports, ModuleExports } from "../../host/module.ts";
import { PacketSplitter, type Packet } from "../host/support/mqtt-packets.ts";
import { activeDataSegments, mutableGlobals, type DataSegment } from "./wasm-data.ts";
import { Finding } from "./finding.ts";

/** Which module: the MQTT client alone, or the telemetry firmware around it. */
export type ModuleKind = "client" | "telemetry";
export const MODULE_KINDS: readonly ModuleKind[] = ["client", "telemetry"];

/** Stats block indexes (boards/ABI.md, "Stats block"); `STATS_FIELDS` of them. */
export const Stat = {
  staticBytes: 0, rxCapacity: 1, rxHighWater: 2, txCapacity: 3, txHighWater: 4, txUsed: 5,
  outboxCapacity: 6, outboxUsed: 7, outboxHighWater: 8, outboxRejected: 9, inflightCapacity: 10,
  inflightUsed: 11, subscriptionCapacity: 12, subscriptionUsed: 13, inboundQos2Capacity: 14,
  inboundQos2Used: 15, packetsSent: 16, packetsReceived: 17, messagesPublished: 18,
  messagesAcknowledged: 19, messagesDelivered: 20, reconnects: 21, bytesSent: 22, bytesReceived: 23,
  state: 24, stagingCapacity: 25, maxTopicLength: 26, protocolErrors: 27, lastReconnectDelayMs: 28,
  keepaliveSec: 29, rxOversizeDropped: 30, lastDroppedTopicLength: 31, lastDroppedSize: 32, qos2Downgraded: 33,
  inboundQos2Overflow: 34,
} as const;
export const STATS_FIELDS = 35;

/** Client states (stats field `state`). */
export const State = { idle: 0, connecting: 1, awaitConnack: 2, connected: 3, backoff: 4, stopped: 5 } as const;

/** The exports the fuzzer calls; the firmware's and the client API are optional (a split module may lack them). */
export type Exports = ModuleExports & Partial<FirmwareExports>;

export interface RecordedEvent {
  kind: number;
  code: number;
  arg: number;
}

export interface RecordedMessage {
  topic: Uint8Array;
  payload: Uint8Array;
  flags: number;
}

const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The .wasm of `kind` for `profile`: `build/<kind>-<profile>.wasm` when the build writes
 * one module per kind, else `build/<profile>.wasm` (one module that is both). Throws
 * naming both paths when neither exists.
 */
export function modulePath(kind: ModuleKind, profile: string): string {
  const split = `${root}build/${kind}-${profile}.wasm`;
  if (existsSync(split)) return split;
  const combined = `${root}build/${profile}.wasm`;
  if (existsSync(combined)) return combined;
  throw new Error(`no module for kind "${kind}", profile "${profile}": neither ${split} nor ${combined} exists (run node scripts/build.mjs)`);
}

/** A compiled module and what the fuzzer knows of it from the file. */
export interface CompiledModule {
  path: string;
  module: WebAssembly.Module;
  /** The string literals: active data segments, never written by the module. */
  segments: DataSegment[];
  /** True when all the module's state is in memory (its one mutable global is the stack pointer, back in place after every call that returns). */
  recyclable: boolean;
  /** Instances whose every call returned normally, for reuse once their memory is restored. */
  spare: Pooled[];
  /** The memory of a fresh instance. */
  initialMemory?: Uint8Array;
}

/** An instance and the device its imports currently report to. */
interface Pooled {
  exports: Exports;
  owner: { device?: Device };
}

const compiled = new Map<string, CompiledModule>();

/** The compiled module of kind and profile, cached. */
export function compile(kind: ModuleKind, profile: string): CompiledModule {
  let entry = compiled.get(`${kind}/${profile}`);
  if (entry === undefined) {
    const path = modulePath(kind, profile);
    const bytes = readFileSync(path);
    entry = { path, module: new WebAssembly.Module(bytes), segments: activeDataSegments(bytes), recyclable: mutableGlobals(bytes) <= 1, spare: [] };
    compiled.set(`${kind}/${profile}`, entry);
  }
  return entry;
}

/** A new instance whose imports report to its current owner. */
function instantiate(compiled: CompiledModule): Pooled {
  const owner: Pooled["owner"] = {};
  const on = <A extends unknown[], R>(fn: (d: Device, ...args: A) => R) => (...args: A): R => {
    const device = owner.device!;
    device.importCall();
    return fn(device, ...args);
  };
  const host = {
    netOpen: on((d) => d.netOpen()),
    netSend: on((d, ptr: number, len: number) => d.netSend(ptr, len)),
    netClose: on((d) => {
      d.netCloses++;
    }),
    onMessage: on((d, topicPtr: number, topicLen: number, payloadPtr: number, payloadLen: number, flags: number) => {
      d.messages.push({ topic: d.bytes(topicPtr, topicLen), payload: d.bytes(payloadPtr, payloadLen), flags });
    }),
    onEvent: on((d, kind: number, code: number, arg: number) => {
      d.events.push({ kind, code, arg: arg >>> 0 });
    }),
    onPacket: on(() => {}),
    random: on((d) => d.random()),
    adcRead: on((_d, channel: number) => (channel === 0 ? 240 : 560)),
    gpioWrite: on(() => {}),
  };
  const exports = new WebAssembly.Instance(compiled.module, { host }).exports as unknown as Exports;
  return { exports, owner };
}

/** An instance with recording imports (fresh, or recycled with its memory as instantiated), `init()` called. */
export class Device {
  readonly exports: Exports;
  readonly compiled: CompiledModule;
  /** Virtual time in ms (u32). */
  now = 0;
  /** Bytes netSend takes per call; 0 takes everything. */
  sendLimit = 0;
  /** Most imports one export call may make before it counts as a runaway. */
  readonly importBudget: number;
  readonly sent: Packet[] = [];
  readonly events: RecordedEvent[] = [];
  readonly messages: RecordedMessage[] = [];
  netOpens = 0;
  netCloses = 0;
  /** Called with each whole outbound packet as netSend completes it. */
  onPacketSent: (p: Packet) => void = () => {};
  /** Called when the module asks for a connection. */
  onNetOpen: () => void = () => {};
  private splitter = new PacketSplitter();
  private importCalls = 0;
  private entropy = 0x2545f491;
  private readonly pooled: Pooled;
  /** An export call ended in an exception: the instance's stack pointer may be off. */
  private unwound = false;

  constructor(kind: ModuleKind, profile: string) {
    this.compiled = compile(kind, profile);
    this.pooled = this.compiled.spare.pop() ?? instantiate(this.compiled);
    this.pooled.owner.device = this;
    this.exports = this.pooled.exports;
    const memory = new Uint8Array(this.exports.memory.buffer);
    if (this.compiled.initialMemory === undefined) this.compiled.initialMemory = memory.slice();
    else memory.set(this.compiled.initialMemory);
    this.exports.init();
    this.importBudget = 2 * this.stat(Stat.rxCapacity) + 1000;
  }

  /**
   * Hands the instance back for reuse by a later Device, when the module keeps all its
   * state in memory and no call of this one ended in an exception (which would leave
   * the stack pointer where the call was). The Device must not be used afterwards.
   */
  release(): void {
    this.pooled.owner.device = undefined;
    if (this.compiled.recyclable && !this.unwound) this.compiled.spare.push(this.pooled);
  }

  /** Copies of module memory, for the imports. */
  bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, ptr, len).slice();
  }

  /** The imports' work: recording (called through the pooled instance's owner). */
  importCall(): void {
    this.importCalls++;
  }

  netOpen(): void {
    this.netOpens++;
    this.splitter = new PacketSplitter();
    this.onNetOpen();
  }

  netSend(ptr: number, len: number): number {
    const taken = this.sendLimit > 0 ? Math.min(len, this.sendLimit) : len;
    for (const p of this.splitter.push(this.bytes(ptr, taken))) {
      this.sent.push(p);
      this.onPacketSent(p);
    }
    return taken;
  }

  random(): number {
    this.entropy = (Math.imul(this.entropy, 1664525) + 1013904223) >>> 0;
    return this.entropy;
  }

  /**
   * Runs one export call: a trap becomes a "trap" finding, more than `importBudget`
   * import calls a "runaway" one. Returns the call's result.
   */
  call<R>(name: string, fn: (e: Exports) => R): R {
    this.importCalls = 0;
    let result: R;
    try {
      result = fn(this.exports);
    } catch (error) {
      this.unwound = true;
      if (error instanceof Finding) throw error;
      throw new Finding("trap", `${name} trapped: ${(error as Error).message}`);
    }
    if (this.importCalls > this.importBudget) {
      throw new Finding("runaway", `${name} made ${this.importCalls} import calls (budget ${this.importBudget})`);
    }
    return result;
  }

  /** A copy of the stats block, refreshed. */
  stats(): Uint32Array {
    return new Uint32Array(this.exports.memory.buffer, this.exports.statsBuffer(), STATS_FIELDS).slice();
  }

  /** One field of the stats block, refreshed. */
  stat(index: number): number {
    return new Uint32Array(this.exports.memory.buffer, this.exports.statsBuffer() + 4 * index, 1)[0];
  }

  /** Writes bytes into the staging buffer (throws when they do not fit). */
  stage(bytes: Uint8Array): void {
    if (bytes.length > this.exports.stagingCapacity()) throw new Error(`staging holds ${this.exports.stagingCapacity()} bytes, not ${bytes.length}`);
    new Uint8Array(this.exports.memory.buffer, this.exports.stagingBuffer(), bytes.length).set(bytes);
  }

  /** Writes bytes at rxBuffer() and commits them; returns rxCommit's status. The caller keeps the chunk within rxSpace(). */
  commit(chunk: Uint8Array): number {
    const e = this.exports;
    new Uint8Array(e.memory.buffer, e.rxBuffer(), chunk.length).set(chunk);
    return this.call("rxCommit", (x) => x.rxCommit(chunk.length, this.now));
  }
}
