/**
 * The options of {@link connect} / {@link createClient}: their types, their defaults, and
 * {@link resolveOptions}, which checks what a user passed (a clear INVALID_ARGUMENT /
 * INVALID_QOS message naming the option; an unknown option is refused, naming the
 * closest known one) and fills in the rest.
 *
 * @example
 * const settings = resolveOptions("mqtt://user:pw@127.0.0.1:1883", { keepalive: 30 });
 * settings.username; // "user"
 */
import { type BrokerTarget, TLS_OPTION_NAMES, type TlsOptions, checkTlsOptions, parseBrokerTarget } from "./broker-url.ts";
import { type Clock, systemClock } from "./clock.ts";
import { argumentError, checkBoolean, checkKnownOptions, checkMqttString, qosError, show } from "./errors.ts";
import type { Profile } from "./module.ts";
import type { PersistEvery, PersistOption } from "./persist.ts";
import { createTransport } from "./platform.ts";
import type { UserProperties } from "./properties.ts";
import type { Transport } from "./transport.ts";

/** A quality of service level. */
export type QoS = 0 | 1 | 2;

/** The last will: published by the broker when the connection is lost without a DISCONNECT. */
export interface Will {
  topic: string;
  payload: string | Uint8Array;
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5: the Will Properties (MQTT 5.0 §3.1.3.2), MQTT.js's names. */
  properties?: WillProperties;
}

/** MQTT 5 PUBLISH properties the caller may set (MQTT 5.0 §3.3.2.3), MQTT.js's names. */
export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array | string;
  userProperties?: UserProperties;
}

/** The PUBLISH properties a caller may give. */
export const PUBLISH_PROPERTY_NAMES: readonly (keyof PublishProperties)[] = [
  "payloadFormatIndicator", "messageExpiryInterval", "contentType", "responseTopic", "correlationData", "userProperties",
];

/** MQTT 5 Will Properties (MQTT 5.0 §3.1.3.2): the PUBLISH properties, and the Will Delay Interval. */
export interface WillProperties extends PublishProperties {
  /** Seconds the broker waits after the connection is lost before publishing the will (default 0); a reconnect within it cancels the will. */
  willDelayInterval?: number;
}

/** The Will Properties a caller may give. */
export const WILL_PROPERTY_NAMES: readonly (keyof WillProperties)[] = ["willDelayInterval", ...PUBLISH_PROPERTY_NAMES];

/** Reconnect backoff bounds; the module picks each delay (exponential, jittered) in between. */
export interface ReconnectOptions {
  /** Default 1000. */
  minDelayMs?: number;
  /** Default 60000. */
  maxDelayMs?: number;
}

/**
 * Options of {@link connect} and {@link createClient}. Where MQTT.js has an option of the
 * same meaning, it has the same name; an unknown option is refused, naming the closest
 * known one.
 */
export interface ClientOptions extends TlsOptions {
  /** Default: `wasmqtt-` and 12 random hex digits. */
  clientId?: string;
  /** Clean session (default true). */
  clean?: boolean;
  /** Keepalive in seconds, 0..65535 (default 60; 0 turns it off). */
  keepalive?: number;
  /** Default: the URL's user name, if any. */
  username?: string;
  /** Default: the URL's password, if any. Needs a username (MQTT 3.1.1 §3.1.2.9). */
  password?: string | Uint8Array;
  will?: Will;
  /**
   * Backoff bounds, true for the defaults (1000..60000 ms), or false for a client that
   * stays down once its connection is lost. Default true. Not together with `reconnectPeriod`.
   */
  reconnect?: ReconnectOptions | boolean;
  /** MQTT.js's form: a fixed delay in ms between reconnect attempts (min = max); 0 turns reconnecting off. */
  reconnectPeriod?: number;
  /**
   * When the first connection attempt fails, keep retrying (the module's backoff, with
   * "reconnect" and "error" events) and resolve `connect()` at the first accepted CONNACK;
   * only `end()` rejects it then (CLIENT_STOPPED). Default false: reject at the first failure.
   * Needs reconnect on.
   */
  retryFirstConnect?: boolean;
  /** The module build to run (default "desktop"): its capacities are the client's limits. */
  profile?: Profile;
  /**
   * Where the client module's `.wasm` is, when not in the default place: a URL a browser
   * fetches (default: ../build/client-<profile>.wasm from the bundle), a path or `file:`
   * URL in Node (default: the package's build/client-<profile>.wasm).
   */
  wasmUrl?: string | URL;
  /** How long TCP connect plus CONNACK may take, in ms (default 10000). */
  connectTimeout?: number;
  /**
   * How many QoS 1/2 publishes may await their acknowledgement at once: 1 to the profile's
   * in-flight slots (the default: 16 desktop and esp32, 8 nodemcu); MQTT 5: the broker's
   * Receive Maximum lowers it. Changeable later with `client.setMaxInflight(n)`.
   */
  maxInflight?: number;
  /** Carry the bytes over this instead of the URL's TCP, TLS or WebSocket (e.g. the simulator's NetworkLink). */
  transport?: Transport;
  /** Time source and timers (default: the system clock; e.g. the simulator's VirtualClock). */
  clock?: Clock;
  /**
   * `{ pcap: FILE }`: write the MQTT bytes both ways to FILE as a pcap of TCP segments, for
   * Wireshark (host/pcap.ts; over TLS and WebSockets too, as MQTT). Node only.
   */
  trace?: TraceOptions;
  /**
   * Keep the session (outbox, inbound QoS 2 ids, subscriptions, packet ids) across
   * restarts and crashes: a file path (one file with two slots, fsynced at each save) or a
   * store `{ load(), save(image, slot) }` (README.md, "Power loss and deep sleep"). The saved
   * session is restored before the first CONNECT; `restoreStatus` says what came back.
   */
  persist?: PersistOption;
  /** When a save follows a change of the session: "change" (at once, the default) or at most every this many ms. Needs `persist`. */
  persistEvery?: PersistEvery;

  // ---- MQTT 5 --------------------------------------------------------------------
  /** 4 (MQTT 3.1.1, the default) or 5 (MQTT 5.0), as MQTT.js. */
  protocolVersion?: 4 | 5;
  /** MQTT 5 CONNECT properties (protocolVersion 5 only), MQTT.js's names. */
  properties?: ConnectProperties;
  /**
   * MQTT 5: give repeated topics a Topic Alias, as MQTT.js's option (the module keeps the
   * least recently used in its fixed table, within the broker's Topic Alias Maximum). Default false.
   */
  autoAssignTopicAlias?: boolean;
}

/** The `trace` option. */
export interface TraceOptions {
  /** The pcap file to create (truncated if it exists). */
  pcap?: string;
}

/**
 * MQTT 5 CONNECT properties (MQTT 5.0 §3.1.2.11). The module announces its own buffers
 * as Receive Maximum, Maximum Packet Size and Topic Alias Maximum; a value given here
 * announces less (never more).
 */
export interface ConnectProperties {
  /** Seconds the broker keeps the session after the connection ends (default 0). */
  sessionExpiryInterval?: number;
  receiveMaximum?: number;
  maximumPacketSize?: number;
  topicAliasMaximum?: number;
  requestResponseInformation?: boolean;
  requestProblemInformation?: boolean;
  userProperties?: UserProperties;
}

/** The CONNECT properties the caller's property block carries (the rest are setProtocol's arguments). */
export const CONNECT_BLOCK_PROPERTIES: readonly (keyof ConnectProperties)[] = [
  "sessionExpiryInterval", "requestResponseInformation", "requestProblemInformation", "userProperties",
];
const CONNECT_PROPERTY_NAMES: readonly (keyof ConnectProperties)[] = [
  ...CONNECT_BLOCK_PROPERTIES, "receiveMaximum", "maximumPacketSize", "topicAliasMaximum",
];

/** protocolVersion and properties, checked (their values are encoded, and checked again, when the module is configured). */
function protocolOptions(options: ClientOptions): { protocolVersion: 4 | 5; properties: ConnectProperties | undefined } {
  const protocolVersion = options.protocolVersion ?? 4;
  if (protocolVersion !== 4 && protocolVersion !== 5) {
    throw argumentError(`protocolVersion ${show(protocolVersion)} must be 4 (MQTT 3.1.1) or 5 (MQTT 5.0)`);
  }
  const { properties } = options;
  if (properties === undefined) return { protocolVersion, properties };
  if (protocolVersion !== 5) throw argumentError("properties need protocolVersion: 5 (MQTT 3.1.1 has no properties)");
  if (properties === null || typeof properties !== "object" || Array.isArray(properties)) {
    throw argumentError(`properties must be an object (got ${show(properties)})`);
  }
  checkKnownOptions(properties, CONNECT_PROPERTY_NAMES, "properties.");
  for (const name of ["receiveMaximum", "topicAliasMaximum"] as const) {
    const value = properties[name];
    if (value !== undefined && (!Number.isInteger(value) || value < (name === "receiveMaximum" ? 1 : 0) || value > 0xffff)) {
      throw argumentError(`properties.${name} ${show(value)} must be a whole number from ${name === "receiveMaximum" ? 1 : 0} to 65535`);
    }
  }
  const { maximumPacketSize } = properties;
  if (maximumPacketSize !== undefined && (!Number.isInteger(maximumPacketSize) || maximumPacketSize < 1 || maximumPacketSize > 0xffffffff)) {
    throw argumentError(`properties.maximumPacketSize ${show(maximumPacketSize)} must be a whole number of bytes from 1 to 4294967295`);
  }
  return { protocolVersion, properties };
}

/** Every option {@link resolveOptions} knows, for the unknown-option message. */
const OPTION_NAMES: readonly (keyof ClientOptions)[] = [
  "clientId", "clean", "keepalive", "username", "password", "will", "reconnect", "reconnectPeriod",
  "retryFirstConnect", "profile", "wasmUrl", "connectTimeout", "transport", "clock", "protocolVersion", "properties",
  "autoAssignTopicAlias", "trace", "persist", "persistEvery",
  "maxInflight",
];
const TRACE_FIELDS: readonly (keyof TraceOptions)[] = ["pcap"];
const WILL_FIELDS: readonly (keyof Will)[] = ["topic", "payload", "qos", "retain", "properties"];
const RECONNECT_FIELDS: readonly (keyof ReconnectOptions)[] = ["minDelayMs", "maxDelayMs"];

const DEFAULT_KEEPALIVE_SEC = 60;
/** Reconnect backoff bounds when none are given (the module's own defaults). */
export const DEFAULT_RECONNECT: Required<ReconnectOptions> = { minDelayMs: 1000, maxDelayMs: 60000 };

/** Options checked and filled in. */
export interface Settings {
  transport: Transport;
  clock: Clock;
  profile: Profile;
  wasmUrl: string | URL | undefined;
  clientId: string;
  clean: boolean;
  keepalive: number;
  username: string | undefined;
  password: string | Uint8Array | undefined;
  will: Will | undefined;
  reconnect: Required<ReconnectOptions> | false;
  retryFirstConnect: boolean;
  connectTimeout: number | undefined;
  maxInflight: number | undefined;
  protocolVersion: 4 | 5;
  properties: ConnectProperties | undefined;
  autoAssignTopicAlias: boolean;
  /** The pcap file of `trace.pcap`, if any. */
  pcap: string | undefined;
  persist: PersistOption | undefined;
  persistEvery: PersistEvery;
}

/**
 * Checks `options` and fills in the defaults; throws a {@link WasmqttError} naming a bad
 * option: INVALID_ARGUMENT (unknown option, wrong type, out of range, lone surrogate,
 * contradictory options, bad URL) or INVALID_QOS (will qos).
 */
export function resolveOptions(url: string | URL, options: ClientOptions): Settings {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw argumentError(`options must be an object (got ${show(options)})`);
  }
  checkKnownOptions(options, [...OPTION_NAMES, ...TLS_OPTION_NAMES]);
  const target = options.transport === undefined ? parseBrokerTarget(url) : undefined;
  const tls = checkTlsOptions(target, options);
  const clientId = options.clientId ?? `wasmqtt-${randomHex(6)}`;
  checkMqttString(clientId, "clientId");
  checkBoolean(options.clean, "clean");
  const keepalive = options.keepalive ?? DEFAULT_KEEPALIVE_SEC;
  if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 0xffff) {
    throw argumentError(`keepalive ${show(keepalive)} must be a whole number of seconds from 0 to 65535`);
  }
  const username = options.username ?? target?.username;
  if (username !== undefined) checkMqttString(username, "username");
  const password = options.password ?? target?.password;
  if (typeof password === "string") checkMqttString(password, "password");
  else if (password !== undefined && !(password instanceof Uint8Array)) {
    throw argumentError(`password must be a string or a Uint8Array (got ${show(password)})`);
  }
  const will = options.will === undefined ? undefined : checkWill(options.will);
  const reconnect = reconnectOption(options);
  checkBoolean(options.retryFirstConnect, "retryFirstConnect");
  const retryFirstConnect = options.retryFirstConnect ?? false;
  if (retryFirstConnect && reconnect === false) {
    const off = options.reconnect === false ? "reconnect: false" : "reconnectPeriod: 0";
    throw argumentError(`retryFirstConnect: true needs reconnecting, but ${off} turns it off`);
  }
  const connectTimeout = options.connectTimeout === undefined ? undefined : delayOption(options.connectTimeout, "connectTimeout");
  const { maxInflight } = options;
  if (maxInflight !== undefined && (!Number.isInteger(maxInflight) || maxInflight < 1)) {
    throw argumentError(`maxInflight ${show(maxInflight)} must be a whole number of publishes, at least 1`);
  }
  const { protocolVersion, properties } = protocolOptions(options);
  checkBoolean(options.autoAssignTopicAlias, "autoAssignTopicAlias");
  if (options.autoAssignTopicAlias === true && protocolVersion !== 5) throw argumentError("autoAssignTopicAlias needs protocolVersion: 5");
  if (will?.properties !== undefined && protocolVersion !== 5) throw argumentError("will.properties need protocolVersion: 5 (MQTT 3.1.1 has no properties)");
  const persist = persistOption(options.persist);
  if (options.persistEvery !== undefined && persist === undefined) throw argumentError("persistEvery needs persist");
  const persistEvery = persistEveryOption(options.persistEvery);
  return {
    transport: options.transport ?? createTransport(target as BrokerTarget, tls),
    clock: options.clock ?? systemClock(),
    profile: options.profile ?? "desktop",
    wasmUrl: wasmUrlOption(options.wasmUrl),
    clientId,
    clean: options.clean ?? true,
    keepalive,
    username,
    password,
    will,
    reconnect,
    retryFirstConnect,
    connectTimeout,
    maxInflight,
    protocolVersion,
    properties,
    autoAssignTopicAlias: options.autoAssignTopicAlias === true,
    pcap: traceOption(options.trace),
    persist,
    persistEvery,
  };
}

/** `persistEvery`: "change" (the default) or a whole number of ms. */
function persistEveryOption(value: unknown): "change" | number {
  if (value === undefined || value === "change") return "change";
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 0xffffffff) return value;
  throw argumentError(`persistEvery must be "change" or a whole number of milliseconds from 1 to 4294967295 (got ${show(value)})`);
}

/** `persist`: a non-empty file path, or an object with `load` and `save` functions. */
function persistOption(value: unknown): PersistOption | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && value !== "") return value;
  const store = value as { load?: unknown; save?: unknown } | null;
  if (store !== null && typeof store === "object" && typeof store.load === "function" && typeof store.save === "function") return value as PersistOption;
  throw argumentError(`persist must be a file path or { load(), save(image, slot) } (got ${show(value)})`);
}

/** `count` random bytes as hex digits. */
function randomHex(count: number): string {
  return [...crypto.getRandomValues(new Uint8Array(count))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** `trace`: `{ pcap?: FILE }`; the pcap file, if any. */
function traceOption(trace: unknown): string | undefined {
  if (trace === undefined) return undefined;
  if (trace === null || typeof trace !== "object" || Array.isArray(trace)) throw argumentError(`trace must be { pcap: FILE } (got ${show(trace)})`);
  checkKnownOptions(trace, TRACE_FIELDS, "trace.");
  const { pcap } = trace as TraceOptions;
  if (pcap !== undefined && (typeof pcap !== "string" || pcap === "")) throw argumentError(`trace.pcap must be a file name (got ${show(pcap)})`);
  return pcap;
}

/** `wasmUrl`: a string or URL. */
function wasmUrlOption(value: unknown): string | URL | undefined {
  if (value === undefined || typeof value === "string" || value instanceof URL) return value;
  throw argumentError(`wasmUrl must be a string or URL (got ${show(value)})`);
}

/** The will, checked: fields, types, strings (QoS and the topic's rules are the module's to check). */
function checkWill(will: Will): Will {
  if (will === null || typeof will !== "object" || Array.isArray(will)) {
    throw argumentError(`will must be { topic, payload, qos?, retain?, properties? } (got ${show(will)})`);
  }
  checkKnownOptions(will, WILL_FIELDS, "will.");
  checkMqttString(will.topic, "will topic");
  if (typeof will.payload !== "string" && !(will.payload instanceof Uint8Array)) {
    throw argumentError(`will payload must be a string or a Uint8Array (got ${show(will.payload)})`);
  }
  if (will.qos !== undefined && (!Number.isInteger(will.qos) || will.qos < 0 || will.qos > 3)) throw qosError(will.qos, "will qos");
  checkBoolean(will.retain, "will retain");
  return will;
}

/** `reconnect` (bounds, true, false) or MQTT.js's `reconnectPeriod` (fixed delay, 0 = off), never both. */
function reconnectOption(options: ClientOptions): Required<ReconnectOptions> | false {
  const { reconnect, reconnectPeriod } = options;
  if (reconnect !== undefined && reconnectPeriod !== undefined) {
    throw argumentError("reconnect and reconnectPeriod are both given; use one (reconnectPeriod is the fixed-delay form of reconnect)");
  }
  if (reconnectPeriod !== undefined) {
    if (reconnectPeriod === 0) return false;
    const delay = delayOption(reconnectPeriod, "reconnectPeriod", 0);
    return { minDelayMs: delay, maxDelayMs: delay };
  }
  if (reconnect === undefined || reconnect === true) return DEFAULT_RECONNECT;
  if (reconnect === false) return false;
  if (reconnect === null || typeof reconnect !== "object" || Array.isArray(reconnect)) {
    throw argumentError(`reconnect must be true, false or { minDelayMs?, maxDelayMs? } (got ${show(reconnect)})`);
  }
  checkKnownOptions(reconnect, RECONNECT_FIELDS, "reconnect.");
  return {
    minDelayMs: delayOption(reconnect.minDelayMs ?? DEFAULT_RECONNECT.minDelayMs, "reconnect.minDelayMs"),
    maxDelayMs: delayOption(reconnect.maxDelayMs ?? Math.max(DEFAULT_RECONNECT.maxDelayMs, reconnect.minDelayMs ?? 0), "reconnect.maxDelayMs"),
  };
}

/** A millisecond option: a whole number from `min` (1 unless given) to 2^32 − 1. */
function delayOption(value: unknown, name: string, min = 1): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > 0xffffffff) {
    throw argumentError(`${name} ${show(value)} must be a whole number of milliseconds from ${min} to 4294967295`);
  }
  return value;
}
