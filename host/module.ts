/**
 * Loading and binding the wasmqtt modules (`build/<kind>-<profile>.wasm`) exactly as boards/ABI.md
 * describes it: typed exports, the `host` imports turned into calls on a {@link ModuleHost}
 * with pointers already copied out, the staging buffer and the stats block. No MQTT here:
 * this file only moves numbers and bytes across the boundary.
 *
 * Two kinds of module share the client core's exports: `client` (the MQTT client alone,
 * what the API and the CLI load) and `telemetry` (the client plus the telemetry firmware,
 * what the simulator and the soak run). Every {@link ModuleInstance} has its own memory;
 * compiled modules are cached per kind and profile.
 *
 * @example
 * const module = await ModuleInstance.create("desktop", host);
 * const [topicLen, payloadLen] = module.stage("a/b", "hello");
 * const packetId = module.exports.publish(topicLen, payloadLen, 1, 0, clock.nowU32());
 */
import type { BuildProfile } from "./boards.ts";
import { copyBytes, moduleLocation, readModule } from "./platform.ts";
import { WasmqttError } from "./status.ts";

/** A board profile: the capacities a module is built with. */
export type Profile = BuildProfile;
/** Every profile `scripts/build.mjs` builds. */
export const PROFILES: readonly Profile[] = ["desktop", "esp32", "nodemcu"];

/** A module kind: the client core alone, or the core with the telemetry firmware. */
export type ModuleKind = "client" | "telemetry";
/** Every kind `scripts/build.mjs` builds. */
export const MODULE_KINDS: readonly ModuleKind[] = ["client", "telemetry"];

/** The exports of boards/ABI.md. Pointers and lengths are byte offsets into `memory`. */
export interface ModuleExports {
  memory: WebAssembly.Memory;
  init(): void;
  stagingBuffer(): number;
  stagingCapacity(): number;
  configure(clientIdLen: number, usernameLen: number, passwordLen: number, willTopicLen: number, willPayloadLen: number, flags: number, keepaliveSec: number): number;
  setReconnect(minDelayMs: number, maxDelayMs: number, enabled: number): number;
  setTimeouts(connectTimeoutMs: number): number;
  setInflightWindow(window: number, nowMs: number): number;
  start(nowMs: number): number;
  stop(nowMs: number): number;
  tick(nowMs: number): number;
  netUp(nowMs: number): void;
  netDown(nowMs: number, reason: number): void;
  rxBuffer(): number;
  rxSpace(): number;
  rxCommit(n: number, nowMs: number): number;
  publish(topicLen: number, payloadLen: number, qos: number, retain: number, nowMs: number): number;
  subscribe(count: number, nowMs: number): number;
  unsubscribe(count: number, nowMs: number): number;
  checkTopicName(len: number): number;
  checkTopicFilter(len: number): number;
  statsBuffer(): number;
  droppedMessage(): number;
  staticDataEnd(): number;
  // MQTT 5 (boards/ABI.md, "MQTT 5")
  setProtocol(version: number, receiveMaximum: number, maximumPacketSize: number, topicAliasMaximum: number, propertiesLen: number, flags: number): number;
  disconnect(reasonCode: number, nowMs: number): number;
  disconnectWithProperties(reasonCode: number, propertiesLen: number, nowMs: number): number;
  publishWithProperties(topicLen: number, payloadLen: number, propertiesLen: number, qos: number, retain: number, nowMs: number): number;
  propertiesRecord(): number;
  reasonCodes(): number;
  subscribeWithIdentifier(count: number, subscriptionIdentifier: number, nowMs: number): number;
  subscribeWithProperties(count: number, subscriptionIdentifier: number, propertiesLen: number, nowMs: number): number;
  unsubscribeWithProperties(count: number, propertiesLen: number, nowMs: number): number;
  // Persistent state (boards/ABI.md, "Persistent state")
  persistBase(): number;
  persistLength(): number;
  persistGeneration(): number;
  persistHoldPubrel(enabled: number): number;
  persistPrepare(): number;
  persistCheck(ptr: number, len: number): number;
  persistRestore(nowMs: number): number;
}

type ExportName = Exclude<keyof ModuleExports, "memory">;

/**
 * The telemetry firmware's exports (boards/ABI.md, "The telemetry firmware"): present in
 * the telemetry modules (`build/telemetry-<profile>.wasm`), used by the board simulator.
 */
export interface FirmwareExports {
  boardConfigure(adcBits: number, referenceMv: number, dividerPermille: number, tmp36Channel: number, moistureChannel: number, dryRaw: number, wetRaw: number, ledGpio: number, relayGpio: number, outputFlags: number): number;
  appConfigure(deviceIdLen: number, intervalSec: number, deadbandCenti: number, deadbandPercent: number, keepaliveSec: number, telemetryQos: number): number;
  appStart(nowMs: number): number;
  appStop(nowMs: number): number;
  appStatsBuffer(): number;
  appSetSleep(enabled: number): number;
}

const FIRMWARE_EXPORT_NAMES: readonly (keyof FirmwareExports)[] = ["boardConfigure", "appConfigure", "appStart", "appStop", "appStatsBuffer", "appSetSleep"];

const EXPORT_NAMES: readonly ExportName[] = [
  "init", "stagingBuffer", "stagingCapacity", "configure", "setReconnect", "setTimeouts", "start", "stop", "tick",
  "netUp", "netDown", "rxBuffer", "rxSpace", "rxCommit", "publish", "subscribe", "unsubscribe", "checkTopicName",
  "checkTopicFilter", "statsBuffer", "droppedMessage", "staticDataEnd", "setProtocol", "disconnect", "publishWithProperties",
  "propertiesRecord", "reasonCodes", "subscribeWithIdentifier", "disconnectWithProperties", "subscribeWithProperties", "unsubscribeWithProperties",
  "persistBase", "persistLength", "persistGeneration", "persistHoldPubrel",
  "persistPrepare", "persistCheck", "persistRestore",
  "setInflightWindow",
];

/** `onEvent` kinds (boards/ABI.md, "Events"). */
export const EventKind = {
  CONNECTED: 1,
  CONNECT_FAILED: 2,
  CONNECTION_LOST: 3,
  RECONNECTING: 4,
  PUBLISH_DONE: 5,
  SUBACK: 6,
  UNSUBACK: 7,
  CLOSED: 8,
  BACKOFF: 9,
  MESSAGE_DROPPED: 10,
  AUTH: 11,
  /** Telemetry firmware: the device asks to deep-sleep; code the save image's sequence number, arg the ms (boards/ABI.md, "Deep sleep"). */
  SLEEP: 12,
} as const;

/** Events whose packet's MQTT 5 property block the host is handed (boards/ABI.md, "MQTT 5"). */
const EVENTS_WITH_PROPERTIES: ReadonlySet<number> = new Set([
  EventKind.CONNECTED, EventKind.CONNECT_FAILED, EventKind.CONNECTION_LOST, EventKind.PUBLISH_DONE, EventKind.SUBACK, EventKind.UNSUBACK,
  EventKind.AUTH,
]);

/** `onMessage` flags: bit 0 retain, bit 1 dup, bits 2–3 QoS. */
export const MessageFlag = { RETAIN: 1, DUP: 2, QOS_SHIFT: 2, QOS_MASK: 3 } as const;

/** `netDown` reasons the host reports (informational to the module). */
export const NetDownReason = { closed: 0, reset: 1, refused: 2 } as const;

/** `setProtocol` versions (boards/ABI.md, "MQTT 5"): MQTT 3.1.1 is Protocol Version 4. */
export const ProtocolVersion = { MQTT_311: 4, MQTT_5: 5 } as const;

/** `setProtocol` flags (boards/ABI.md, "MQTT 5"). */
export const ProtocolFlag = { AUTO_ASSIGN_TOPIC_ALIAS: 1 } as const;

/** `configure` flags (boards/ABI.md, "configure flags"). */
export const ConfigureFlag = { CLEAN: 1, USERNAME: 2, PASSWORD: 4, WILL: 8, WILL_RETAIN: 16, WILL_QOS_SHIFT: 5 } as const;

/** MQTT 3.1.1 §2.2.1: control packet type names by number (15 is MQTT 5's AUTH). */
const PACKET_TYPES = [
  "RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
  "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
] as const;

/** A control packet type name. */
export type PacketType = (typeof PACKET_TYPES)[number];

/** The packet type name of a fixed header's first byte. */
export function packetTypeName(header: number): PacketType {
  return PACKET_TYPES[(header >> 4) & 15];
}

/**
 * A PUBLISH the module skipped because it cannot fit the receive buffer (boards/ABI.md,
 * "Oversized messages"): acknowledged per its QoS, not delivered. Read from the module's
 * record during the `MESSAGE_DROPPED` event.
 */
export interface DroppedMessage {
  /** undefined when the topic is longer than the profile's `maxTopicLength` (not kept). */
  topic: string | undefined;
  topicLength: number;
  /** The whole packet's size in bytes. */
  size: number;
  /** As `onMessage`'s ({@link MessageFlag}). */
  flags: number;
}

/**
 * What the module asks of its host, with pointers already resolved: strings decoded and
 * message payloads copied. Called synchronously from inside an export; an implementation
 * must not call back into the module (queue the work instead).
 */
export interface ModuleHost {
  netOpen(): void;
  /** `bytes` is a view of module memory valid only during the call; returns how many were taken. */
  netSend(bytes: Uint8Array): number;
  netClose(): void;
  /**
   * `payload` is a copy the host may keep; `properties` a copy of the PUBLISH's MQTT 5
   * property block (its properties, after the Property Length; empty in 3.1.1).
   */
  onMessage(topic: string, payload: Buffer, flags: number, properties?: Buffer): void;
  /**
   * `dropped` comes with `MESSAGE_DROPPED` only; `properties` with CONNECTED, CONNECT_FAILED,
   * CONNECTION_LOST, PUBLISH_DONE, SUBACK, UNSUBACK, AUTH: a copy of the last MQTT 5 property block
   * the module decoded, which is that event's packet's on a 5.0 connection (CONNECT_FAILED:
   * for a CONNACK refusal; CONNECTION_LOST: when its code is DISCONNECTED); `reasonCodes`
   * with UNSUBACK: a copy of the MQTT 5 UNSUBACK's Reason Codes, one per filter (empty in 3.1.1).
   */
  onEvent(kind: number, code: number, arg: number, dropped?: DroppedMessage, properties?: Buffer, reasonCodes?: Uint8Array): void;
  onPacket(direction: number, header: number, packetId: number, remainingLength: number): void;
  /** Entropy for backoff jitter: a u32. */
  random(): number;
  /** Telemetry modules only; 0 when absent. */
  adcRead?(channel: number): number;
  gpioWrite?(pin: number, level: number): void;
}

/** A region's figures from the stats block. */
export interface RegionStats {
  capacity: number;
  used: number;
  highWater: number;
}

/** The client state machine's state (stats block field 24). */
export type ClientState = "idle" | "connecting" | "awaitingConnack" | "connected" | "backoff" | "stopped";

const STATES: readonly ClientState[] = ["idle", "connecting", "awaitingConnack", "connected", "backoff", "stopped"];

/** The stats block (boards/ABI.md, "Stats block"), named. */
export interface ModuleStats {
  /** The first byte the module never uses: its whole RAM need. */
  staticBytes: number;
  state: ClientState;
  /** `oversizeDropped`: PUBLISHes skipped because they cannot fit the buffer; the last one's size and topic length. */
  rx: { capacity: number; highWater: number; oversizeDropped: number; lastDroppedSize: number; lastDroppedTopicLength: number };
  tx: RegionStats;
  outbox: RegionStats & { rejected: number };
  inflight: { capacity: number; used: number };
  subscriptions: { capacity: number; used: number };
  /** `overflow`: ids forgotten because the table was full (boards/ABI.md, "Inbound QoS 2"). */
  inboundQos2: { capacity: number; used: number; overflow: number };
  staging: { capacity: number };
  maxTopicLength: number;
  packetsSent: number;
  packetsReceived: number;
  /** PUBLISHes accepted by `publish`. */
  messagesPublished: number;
  /** QoS 1/2 flows completed plus QoS 0 PUBLISHes written. */
  messagesAcknowledged: number;
  /** Application messages handed to the host. */
  messagesDelivered: number;
  reconnects: number;
  bytesSent: number;
  bytesReceived: number;
  /** Connections closed because of bad input from the broker. */
  protocolErrors: number;
  lastReconnectDelayMs: number;
  keepaliveSec: number;
  /** QoS 2 publishes the broker completed with PUBACK (it downgraded them to QoS 1). */
  qos2Downgraded: number;
}

/** Number of u32 fields in the stats block. */
export const STATS_FIELDS = 35;

/** The telemetry firmware's stats block (boards/ABI.md, "App stats block"), named. */
export interface AppStats {
  running: boolean;
  intervalSec: number;
  /** The last reading, hundredths of a degree Celsius. */
  temperatureCenti: number;
  moisturePercent: number;
  /** The `seq` of the last reading published. */
  sequence: number;
  readings: number;
  published: number;
  /** Readings not published because of the deadband. */
  suppressed: number;
  /** Readings refused with OUTBOX_FULL. */
  rejected: number;
  commands: number;
  badCommands: number;
  relay: boolean;
  led: boolean;
  uptimeSec: number;
  /** Deep sleep between readings is on. */
  sleep: boolean;
  /** Wakes from deep sleep. */
  wakes: number;
  /** The block is the image saved to sleep (from the SLEEP event until the wake). */
  asleep: boolean;
}

/** Number of u32 fields in the app stats block. */
export const APP_STATS_FIELDS = 17;

/** Names the app stats block's fields. */
export function decodeAppStats(block: Uint32Array): AppStats {
  const f = (index: number): number => block[index];
  return {
    running: f(0) !== 0,
    intervalSec: f(1),
    temperatureCenti: f(2) | 0,
    moisturePercent: f(3),
    sequence: f(4),
    readings: f(5),
    published: f(6),
    suppressed: f(7),
    rejected: f(8),
    commands: f(9),
    badCommands: f(10),
    relay: f(11) !== 0,
    led: f(12) !== 0,
    uptimeSec: f(13),
    sleep: f(14) !== 0,
    wakes: f(15),
    asleep: f(16) !== 0,
  };
}

/** Names the stats block's fields. */
export function decodeStats(block: Uint32Array): ModuleStats {
  const f = (index: number): number => block[index];
  return {
    staticBytes: f(0),
    state: STATES[f(24)] ?? "idle",
    rx: { capacity: f(1), highWater: f(2), oversizeDropped: f(30), lastDroppedSize: f(32), lastDroppedTopicLength: f(31) },
    tx: { capacity: f(3), used: f(5), highWater: f(4) },
    outbox: { capacity: f(6), used: f(7), highWater: f(8), rejected: f(9) },
    inflight: { capacity: f(10), used: f(11) },
    subscriptions: { capacity: f(12), used: f(13) },
    inboundQos2: { capacity: f(14), used: f(15), overflow: f(34) },
    staging: { capacity: f(25) },
    maxTopicLength: f(26),
    packetsSent: f(16),
    packetsReceived: f(17),
    messagesPublished: f(18),
    messagesAcknowledged: f(19),
    messagesDelivered: f(20),
    reconnects: f(21),
    bytesSent: f(22),
    bytesReceived: f(23),
    protocolErrors: f(27),
    lastReconnectDelayMs: f(28),
    keepaliveSec: f(29),
    qos2Downgraded: f(33),
  };
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** A module's file name: `<kind>-<profile>.wasm`. */
export function wasmName(profile: Profile, kind: ModuleKind = "client"): string {
  return `${kind}-${profile}.wasm`;
}

/** The path of a module (Node): `<package root>/build/<kind>-<profile>.wasm`. */
export function wasmPath(profile: Profile, kind: ModuleKind = "client"): string {
  return String(moduleLocation(wasmName(profile, kind)));
}

/**
 * Compiles a module once per process (per location). `location` is where its `.wasm` is
 * (default: build/<kind>-<profile>.wasm of the package in Node, next to the bundle in a
 * browser). Rejects with a WasmqttError `INVALID_ARGUMENT` for an unknown profile or kind,
 * `MODULE_LOAD_FAILED` when the file is missing or does not compile.
 */
export function loadModule(profile: Profile, kind: ModuleKind = "client", location?: string | URL): Promise<WebAssembly.Module> {
  if (!PROFILES.includes(profile)) {
    return Promise.reject(new WasmqttError("INVALID_ARGUMENT", `profile "${String(profile)}" is not one of ${PROFILES.join(", ")}`));
  }
  if (!MODULE_KINDS.includes(kind)) {
    return Promise.reject(new WasmqttError("INVALID_ARGUMENT", `module kind "${String(kind)}" is not one of ${MODULE_KINDS.join(", ")}`));
  }
  const file = location ?? moduleLocation(wasmName(profile, kind));
  const key = String(file);
  let module = compiled.get(key);
  if (module === undefined) {
    module = compileFile(file);
    compiled.set(key, module);
    module.catch(() => compiled.delete(key));
  }
  return module;
}

async function compileFile(file: string | URL): Promise<WebAssembly.Module> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readModule(file);
  } catch (error) {
    throw new WasmqttError("MODULE_LOAD_FAILED", `cannot read ${String(file)} (run \`npm run build\`): ${(error as Error).message}`, { cause: error });
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    throw new WasmqttError("MODULE_LOAD_FAILED", `${String(file)} is not a valid WebAssembly module: ${(error as Error).message}`, { cause: error });
  }
}

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();
/** What `properties()` returns for an empty block (every packet of a 3.1.1 connection), and `reasonCodes()` for none: shared, empty, so nothing is copied. */
const NO_PROPERTIES: Buffer = copyBytes(new Uint8Array(0)) as Buffer;
/** Topics up to this length are kept for {@link ModuleInstance.topic}'s comparison with the next. */
const TOPIC_KEPT_LENGTH = 128;
/** Strings up to this length are staged by a loop while they are ASCII: cheaper than a call into `encodeInto` for a short topic. */
const ASCII_LOOP_LENGTH = 64;

/** A string or bytes to place in the staging buffer. */
export type Stageable = string | Uint8Array;

/** One instantiated module: its exports, guarded against re-entry, and helpers over its memory. */
export class ModuleInstance {
  /** The exports; calling one from inside an import throws instead of corrupting the module's state. */
  readonly exports: ModuleExports;
  readonly profile: Profile;
  readonly kind: ModuleKind;
  private readonly memory: WebAssembly.Memory;
  /**
   * Views of the module's memory, made once: it is one page, initial = maximum, never
   * grown (boards/ABI.md, "Memory map"), so its buffer is never replaced.
   */
  private readonly buffer: ArrayBuffer;
  private readonly view: Uint8Array;
  private readonly words: DataView;
  private readonly staging: Uint8Array;
  private running: string | undefined;
  private readonly stagingPtr: number;
  /** Size of the staging buffer in bytes. */
  readonly stagingCapacity: number;
  /** The last topic {@link topic} decoded and its bytes (at most TOPIC_KEPT_LENGTH of them). */
  private lastTopic = "";
  private lastTopicBytes = new Uint8Array(0);
  /** The byte lengths of what the last {@link stageMessage} wrote: topic, payload, property block. */
  stagedTopicLength = 0;
  stagedPayloadLength = 0;
  stagedPropertiesLength = 0;
  /** The telemetry firmware's exports, guarded like `exports`; undefined in a client module. */
  readonly firmware: FirmwareExports | undefined;
  private readonly droppedPtr: number;
  private readonly propertiesPtr: number;
  private readonly reasonCodesPtr: number;
  private readonly maxTopicLength: number;

  private constructor(profile: Profile, kind: ModuleKind, instance: WebAssembly.Instance) {
    this.profile = profile;
    this.kind = kind;
    const raw = instance.exports as Record<string, unknown>;
    const required: readonly string[] = kind === "telemetry" ? [...EXPORT_NAMES, ...FIRMWARE_EXPORT_NAMES] : EXPORT_NAMES;
    const missing = required.filter((name) => typeof raw[name] !== "function");
    if (!(raw.memory instanceof WebAssembly.Memory)) missing.unshift("memory");
    if (missing.length > 0) {
      throw new WasmqttError("MODULE_LOAD_FAILED", `build/${wasmName(profile, kind)} lacks the export(s) ${missing.join(", ")} of boards/ABI.md (rebuild it)`);
    }
    this.memory = raw.memory as WebAssembly.Memory;
    this.buffer = this.memory.buffer;
    this.view = new Uint8Array(this.buffer);
    this.words = new DataView(this.buffer);
    const guarded = { memory: this.memory } as Record<string, unknown>;
    for (const name of EXPORT_NAMES) guarded[name] = this.guard(name, raw[name] as (...args: number[]) => number);
    this.exports = guarded as unknown as ModuleExports;
    this.firmware = kind === "telemetry"
      ? (Object.fromEntries(FIRMWARE_EXPORT_NAMES.map((name) => [name, this.guard(name, raw[name] as (...args: number[]) => number)])) as unknown as FirmwareExports)
      : undefined;
    this.exports.init();
    this.stagingPtr = this.exports.stagingBuffer();
    this.stagingCapacity = this.exports.stagingCapacity();
    this.staging = this.view.subarray(this.stagingPtr, this.stagingPtr + this.stagingCapacity);
    this.droppedPtr = this.exports.droppedMessage();
    this.propertiesPtr = this.exports.propertiesRecord();
    this.reasonCodesPtr = this.exports.reasonCodes();
    this.maxTopicLength = this.stats().maxTopicLength;
  }

  /** Instantiates a module (compiled once per process; from `location`, see {@link loadModule}) with `host` behind its imports, and calls `init()`. */
  static async create(profile: Profile, host: ModuleHost, kind: ModuleKind = "client", location?: string | URL): Promise<ModuleInstance> {
    const module = await loadModule(profile, kind, location);
    let self: ModuleInstance | undefined;
    const memory = (): ModuleInstance => {
      if (self === undefined) throw new Error("wasmqtt: an import ran before the module was set up");
      return self;
    };
    const imports = {
      host: {
        netOpen: () => host.netOpen(),
        netSend: (ptr: number, len: number) => Math.max(0, Math.min(len, host.netSend(memory().bytes(ptr, len)))) >>> 0,
        netClose: () => host.netClose(),
        onMessage: (topicPtr: number, topicLen: number, payloadPtr: number, payloadLen: number, flags: number) =>
          host.onMessage(memory().topic(topicPtr, topicLen), memory().copy(payloadPtr, payloadLen), flags, memory().properties()),
        onEvent: (kind: number, code: number, arg: number) =>
          host.onEvent(
            kind, code | 0, arg >>> 0,
            kind === EventKind.MESSAGE_DROPPED ? memory().droppedMessage() : undefined,
            EVENTS_WITH_PROPERTIES.has(kind) ? memory().properties() : undefined,
            kind === EventKind.UNSUBACK ? memory().reasonCodes() : undefined,
          ),
        onPacket: (direction: number, header: number, packetId: number, remainingLength: number) =>
          host.onPacket(direction, header, packetId, remainingLength >>> 0),
        random: () => host.random() >>> 0,
        adcRead: (channel: number) => (host.adcRead?.(channel) ?? 0) >>> 0,
        gpioWrite: (pin: number, level: number) => host.gpioWrite?.(pin, level),
      },
    };
    const instance = await WebAssembly.instantiate(module, imports);
    self = new ModuleInstance(profile, kind, instance);
    return self;
  }

  /** A view of `len` bytes of module memory at `ptr`; valid until the next export call. */
  bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.buffer, ptr, len); // half the cost of subarray(), once per netSend
  }

  /** A copy of `len` bytes of module memory at `ptr`. */
  copy(ptr: number, len: number): Buffer {
    return copyBytes(this.bytes(ptr, len));
  }

  /** The UTF-8 text of `len` bytes of module memory at `ptr`. */
  text(ptr: number, len: number): string {
    return utf8.decode(this.bytes(ptr, len));
  }

  /**
   * An inbound message's topic, `text(ptr, len)`: the last one's string again when the bytes
   * repeat it (a subscriber mostly hears the same few topics), which costs a comparison
   * instead of a decode.
   */
  topic(ptr: number, len: number): string {
    const last = this.lastTopicBytes;
    if (len === last.length) {
      const view = this.view;
      let i = 0;
      while (i < len && view[ptr + i] === last[i]) i++;
      if (i === len) return this.lastTopic;
    }
    const text = this.text(ptr, len);
    if (len <= TOPIC_KEPT_LENGTH) {
      this.lastTopic = text;
      this.lastTopicBytes = this.view.slice(ptr, ptr + len);
    }
    return text;
  }

  /** The UTF-8 byte length of a string (bytes: their length). */
  static byteLength(value: Stageable): number {
    return typeof value === "string" ? encoder.encode(value).length : value.length;
  }

  /**
   * Writes `values` back to back at the start of the staging buffer, strings as UTF-8.
   * Returns each one's byte length, or undefined (nothing useful written) when together
   * they exceed the staging capacity.
   */
  stage(...values: Stageable[]): number[] | undefined {
    const lengths: number[] = [];
    let offset = 0;
    for (const value of values) {
      const written = writeInto(this.staging, offset, value);
      if (written < 0) return undefined;
      lengths.push(written);
      offset += written;
    }
    return lengths;
  }

  /**
   * `stage(topic, payload, properties)` for a publish, with nothing allocated per call: the
   * three byte lengths are left in `stagedTopicLength`, `stagedPayloadLength` and
   * `stagedPropertiesLength`. Returns false (nothing useful written) when together they
   * exceed the staging capacity.
   */
  stageMessage(topic: string, payload: Stageable, properties: Uint8Array): boolean {
    const staging = this.staging;
    const topicLength = writeInto(staging, 0, topic);
    if (topicLength < 0) return false;
    const payloadLength = writeInto(staging, topicLength, payload);
    if (payloadLength < 0) return false;
    const propertiesLength = properties.length === 0 ? 0 : writeInto(staging, topicLength + payloadLength, properties);
    if (propertiesLength < 0) return false;
    this.stagedTopicLength = topicLength;
    this.stagedPayloadLength = payloadLength;
    this.stagedPropertiesLength = propertiesLength;
    return true;
  }

  /**
   * Writes the entries of `subscribe` / `unsubscribe` into staging: `[u16 length LE][filter]`
   * and, when `qos` is given, `[u8 qos]` after each; then `properties` (MQTT 5: a whole
   * property block, for subscribeWithProperties / unsubscribeWithProperties). Returns false
   * when they do not fit.
   */
  stageFilters(filters: readonly string[], qos?: readonly number[], properties: Uint8Array = new Uint8Array(0)): boolean {
    const staging = this.staging;
    let offset = 0;
    for (let index = 0; index < filters.length; index++) {
      if (offset + 2 > staging.length) return false;
      const written = writeInto(staging, offset + 2, filters[index]);
      if (written < 0 || written > 0xffff) return false;
      staging[offset] = written & 0xff;
      staging[offset + 1] = written >> 8;
      offset += 2 + written;
      if (qos !== undefined) {
        if (offset + 1 > staging.length) return false;
        staging[offset] = qos[index] & 0xff;
        offset += 1;
      }
    }
    if (offset + properties.length > staging.length) return false;
    staging.set(properties, offset);
    return true;
  }

  /** The stats block, refreshed and named. */
  stats(): ModuleStats {
    const ptr = this.exports.statsBuffer();
    return decodeStats(new Uint32Array(this.memory.buffer.slice(ptr, ptr + STATS_FIELDS * 4)));
  }

  /**
   * The module's record of the last PUBLISH it skipped for its size (boards/ABI.md,
   * "Oversized messages"). Reads memory only, so an import may call it.
   */
  droppedMessage(): DroppedMessage {
    const [flags, topicLength, size] = new Uint32Array(this.memory.buffer.slice(this.droppedPtr, this.droppedPtr + 12));
    const topic = topicLength <= this.maxTopicLength ? this.text(this.droppedPtr + 12, topicLength) : undefined;
    return { topic, topicLength, size, flags };
  }

  /**
   * A copy of the properties of the last MQTT 5 property block the module decoded
   * (boards/ABI.md, "MQTT 5"). Reads memory only, so an import may call it.
   */
  properties(): Buffer {
    const len = this.words.getUint32(this.propertiesPtr + 4, true);
    return len === 0 ? NO_PROPERTIES : this.copy(this.words.getUint32(this.propertiesPtr, true), len);
  }

  /**
   * A copy of the Reason Codes of the last SUBACK or MQTT 5 UNSUBACK (boards/ABI.md, "MQTT 5"),
   * empty for an UNSUBACK without them. Reads memory only, so an import may call it.
   */
  reasonCodes(): Buffer {
    const count = this.words.getUint32(this.reasonCodesPtr + 4, true);
    return count === 0 ? NO_PROPERTIES : this.copy(this.words.getUint32(this.reasonCodesPtr, true), count);
  }

  /** The telemetry firmware's stats block, named; undefined in a client module. */
  appStats(): AppStats | undefined {
    if (this.firmware === undefined) return undefined;
    const ptr = this.firmware.appStatsBuffer();
    return decodeAppStats(new Uint32Array(this.memory.buffer.slice(ptr, ptr + APP_STATS_FIELDS * 4)));
  }

  /** Wraps an export so an import that calls back into the module fails loudly. */
  private guard(name: string, fn: (...args: number[]) => number): (...args: number[]) => number {
    // fixed arity (the longest export, the firmware's boardConfigure, takes 10): no rest array per call; wasm ignores extra arguments
    return (a?: number, b?: number, c?: number, d?: number, e?: number, f?: number, g?: number, h?: number, i?: number, j?: number): number => {
      if (this.running !== undefined) {
        throw new Error(`wasmqtt: ${name}() called while ${this.running}() runs; an import must not call back into the module`);
      }
      this.running = name;
      try {
        return fn(a!, b!, c!, d!, e!, f!, g!, h!, i!, j!);
      } finally {
        this.running = undefined;
      }
    };
  }
}

/** Writes `value` at `offset` of `target`; returns its byte length, or -1 when it does not fit. */
function writeInto(target: Uint8Array, offset: number, value: Stageable): number {
  if (typeof value !== "string") {
    if (offset + value.length > target.length) return -1;
    target.set(value, offset);
    return value.length;
  }
  const length = value.length;
  if (length <= ASCII_LOOP_LENGTH && offset + length <= target.length) {
    let i = 0;
    for (; i < length; i++) {
      const unit = value.charCodeAt(i);
      if (unit >= 0x80) break;
      target[offset + i] = unit;
    }
    if (i === length) return length;
  }
  const room = offset === 0 ? target : target.subarray(Math.min(offset, target.length));
  const { read, written } = encoder.encodeInto(value, room);
  return read === length ? written : -1;
}
