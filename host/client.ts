/**
 * The wasmqtt client API: one module instance, one transport, one clock, and a promise
 * and event surface that feels like MQTT.js. The module decides everything MQTT
 * (keepalive, timeouts, reconnect and backoff, resend); a {@link ModuleLink}
 * (host/link.ts) moves bytes between the transport and the module, tells it the time and
 * calls `tick` when it asked to be called; this file turns what the module reports into
 * promises and events.
 *
 * Imports never call back into the module: the link records what happened, and the record
 * is settled (promises resolved) right after the export returns. Events are emitted later,
 * from `setImmediate` (host/platform.ts's `defer`), so a listener attached right after `await connect(…)` still sees
 * every message that arrived together with the CONNACK.
 *
 * @example
 * const client = await connect("mqtt://127.0.0.1:1883", { clientId: "sensor-1", keepalive: 30 });
 * client.on("message", (topic, payload, { qos }) => console.log(topic, payload.toString(), qos));
 * await client.subscribe("cmd/#", { qos: 1 });
 * await client.publish("sensor-1/temp", "21.5", { qos: 1, retain: true });
 * await client.end();
 */
import type { Clock } from "./clock.ts";
import { CONNECT_BLOCK_PROPERTIES, type ClientOptions, DEFAULT_RECONNECT, PUBLISH_PROPERTY_NAMES, type PublishProperties, type QoS, type Settings, WILL_PROPERTY_NAMES, resolveOptions } from "./client-options.ts";
import {
  argumentError, checkBoolean, checkKnownOptions, checkMqttString, checkOptionsObject, filterError, qosError, show, statusError,
  topicError,
} from "./errors.ts";
import { ModuleLink } from "./link.ts";
import {
  ConfigureFlag, type DroppedMessage, EventKind, MessageFlag, ModuleInstance, type ModuleStats, type PacketType, type Profile, ProtocolFlag, ProtocolVersion,
  packetTypeName,
} from "./module.ts";
import { type RestoreStatus, SessionKeeper } from "./persist.ts";
import { Emitter, type PcapTraceFile, defer, openPcapTrace } from "./platform.ts";
import { type DecodedProperties, type UserProperties, decodeProperties, encodeProperties } from "./properties.ts";
import { Status, WasmqttError, describeStatus, statusName } from "./status.ts";
import { tlsFailure } from "./tls-errors.ts";
import type { Transport } from "./transport.ts";

export type { ClientOptions, ConnectProperties, PublishProperties, QoS, ReconnectOptions, TraceOptions, Will, WillProperties } from "./client-options.ts";
export type { DecodedProperties, UserProperties } from "./properties.ts";

/** Options of {@link WasmqttClient.publish}. */
export interface PublishOptions {
  /** Default 0. */
  qos?: QoS;
  /** Default false. */
  retain?: boolean;
  /** MQTT 5 only. */
  properties?: PublishProperties;
  /**
   * When the outbox has no room: "reject" (default) rejects with OUTBOX_FULL; "wait" keeps
   * the publish in this client, behind earlier waiting ones, and offers it to the module
   * again each time the module made room (a flow completed, the socket took bytes).
   */
  whenFull?: "reject" | "wait";
}

/** Subscription Options of MQTT 5 (MQTT 5.0 §3.8.3.1), MQTT.js's names; MQTT 5 only. */
export interface SubscriptionOptions {
  /** No Local: not sent this client's own publishes (default false). */
  nl?: boolean;
  /** Retain As Published: keep the retain flag as published (default false). */
  rap?: boolean;
  /** Retain Handling: 0 send retained messages (default), 1 only for a new subscription, 2 never. */
  rh?: 0 | 1 | 2;
}

/** Options of {@link WasmqttClient.subscribe}. */
export interface SubscribeOptions extends SubscriptionOptions {
  /** The QoS of every filter given without its own (default 0). */
  qos?: QoS;
  /**
   * MQTT 5: the SUBSCRIBE's properties; messages for these filters then carry the
   * Subscription Identifier in `meta.properties`. The User Properties go with every resend
   * and resubscription too (each filter's slot keeps them: at most 64 bytes encoded on the
   * desktop and esp32 profiles, 32 on nodemcu; PACKET_TOO_LARGE beyond).
   */
  properties?: { subscriptionIdentifier?: number; userProperties?: UserProperties };
}

/** Options of {@link WasmqttClient.unsubscribe}. */
export interface UnsubscribeOptions {
  /** MQTT 5: the UNSUBSCRIBE's User Properties (as subscribe's). */
  properties?: { userProperties?: UserProperties };
}

/** One filter of a subscribe request, with its own QoS (and MQTT 5 options). */
export interface SubscriptionRequest extends SubscriptionOptions {
  topic: string;
  qos?: QoS;
}

/** What the broker granted for one filter: a QoS, or 128 (0x80) for a refusal. */
export interface Granted {
  topic: string;
  qos: QoS | 128;
  /** MQTT 5: the SUBACK's Reason Code for this filter (the QoS when granted, ≥ 0x80 refused). */
  reasonCode?: number;
  /** MQTT 5: the SUBACK's properties (reasonString, userProperties), when it had any. */
  properties?: DecodedProperties;
}

/**
 * MQTT 5: what a QoS 1/2 publish() resolves with, the acknowledgement that ended its flow
 * (PUBACK at QoS 1, PUBCOMP at QoS 2), as MQTT.js's publishAsync resolves the ack packet.
 * One shared, frozen object for a code without properties.
 */
export interface PublishAck {
  /** The ack's Reason Code, < 0x80 (0 Success; 0x10 No matching subscribers). */
  reasonCode: number;
  /** Its properties (reasonString, userProperties), when it had any. */
  properties?: DecodedProperties;
}

/** What the broker answered for one filter of an unsubscribe request. */
export interface Unsubscribed {
  topic: string;
  /**
   * MQTT 5: the UNSUBACK's Reason Code for this filter (0 Success, 0x11 No subscription
   * existed, ≥ 0x80 refused); absent on every filter when the UNSUBSCRIBE left some out
   * (the subscription table was full and held none of them), so the codes map to none.
   */
  reasonCode?: number;
  /** MQTT 5: the UNSUBACK's properties (reasonString, userProperties), when it had any. */
  properties?: DecodedProperties;
}

/** The PUBLISH fields that come with a message. */
export interface MessageMeta {
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** MQTT 5: the PUBLISH's properties, when it had any. */
  properties?: DecodedProperties;
}

/** Options of {@link WasmqttClient.end}. */
export interface EndOptions {
  /** MQTT 5: the DISCONNECT's Reason Code (default 0, Normal disconnection; 4 asks the broker to publish the will). */
  reasonCode?: number;
  /** MQTT 5: the DISCONNECT's properties (MQTT 5.0 §3.14.2.2). */
  properties?: DisconnectProperties;
}

/** MQTT 5 DISCONNECT properties a client may send (MQTT 5.0 §3.14.2.2), MQTT.js's names. */
export interface DisconnectProperties {
  /** A new Session Expiry Interval; not above 0 when the CONNECT's was 0 (MQTT 5.0 §3.14.2.2.2). */
  sessionExpiryInterval?: number;
  reasonString?: string;
  userProperties?: UserProperties;
}

const DISCONNECT_PROPERTY_NAMES: readonly (keyof DisconnectProperties)[] = ["sessionExpiryInterval", "reasonString", "userProperties"];

/** An MQTT 5 AUTH packet from the broker (MQTT 5.0 §3.15): its Reason Code and properties. */
export interface AuthPacket {
  reasonCode: number;
  /** authenticationMethod, authenticationData, reasonString, userProperties when present. */
  properties: DecodedProperties;
}

/** One packet sent or received, from the module's `onPacket` (for `-d` style traces). */
export interface PacketTrace {
  direction: "in" | "out";
  type: PacketType;
  /** The fixed header's low four bits. */
  flags: number;
  /** 0 when the packet has none. */
  packetId: number;
  remainingLength: number;
}

/** Every event a client emits, with its arguments. */
export type ClientEvents = {
  /** Each accepted CONNACK, the first one included. */
  connect: [sessionPresent: boolean];
  /** A reconnect attempt starts (1, 2, … since the last accepted CONNACK). */
  reconnect: [attempt: number];
  /** The module chose this delay before its next connect attempt. */
  backoff: [delayMs: number];
  /** The running session's connection is gone; `reason.code` says why (KEEPALIVE_TIMEOUT, CONNECTION_LOST, MALFORMED_PACKET, …). */
  offline: [reason: WasmqttError];
  /** The client has stopped for good: after `end()`, or a lost connection with reconnect off. */
  close: [];
  /** A lost connection, a failed reconnect attempt, or a module error; emitted only when someone listens. */
  error: [error: WasmqttError];
  /** An application message; `payload` is the client's own copy. */
  message: [topic: string, payload: Buffer, meta: MessageMeta];
  /**
   * A message too large for the profile's receive buffer: the module acknowledged it per
   * its QoS (so the broker does not send it again) and discarded it; the connection stays
   * up. `topic` is undefined when it is longer than the profile's `maxTopicLength`;
   * `size` is the whole PUBLISH packet's, in bytes (see `stats().rx`).
   */
  "message-dropped": [topic: string | undefined, size: number, meta: MessageMeta];
  packet: [trace: PacketTrace];
  /**
   * MQTT 5: an AUTH from the broker. The client sends no Authentication Method, so the
   * module then closes the connection with DISCONNECT 0x82, Protocol Error (MQTT 5.0
   * §4.12), reported by "offline" / "error" after this event.
   */
  auth: [packet: AuthPacket];
};

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** A publish with `whenFull: "wait"` that the outbox had no room for yet. */
interface WaitingPublish extends Waiter<PublishAck | undefined> {
  topic: string;
  payload: string | Uint8Array;
  /** MQTT 5: the encoded property block (empty in 3.1.1). */
  properties: Uint8Array;
  qos: number;
  retain: boolean;
}

interface PendingUnsubscribe extends Waiter<Unsubscribed[]> {
  topics: string[];
}

interface PendingSubscribe extends Waiter<Granted[]> {
  topics: string[];
  /** Each filter's return code (MQTT 5: Reason Code) as the SUBACK gave it. */
  granted: (number | undefined)[];
  received: number;
}

/** The empty property block (a publish or request without properties, every 3.1.1 CONNECT): one, shared, never written. */
const NO_PROPERTY_BLOCK = new Uint8Array(0);
/** publish()'s options when none are given. */
const NO_OPTIONS: PublishOptions = Object.freeze({});
/** What publish() returns for a QoS 0 message the module queued: already resolved, one for all. */
const QUEUED: Promise<undefined> = Promise.resolve(undefined);
/** MQTT 5: what a publish() acknowledged with a Reason Code < 0x80 and no properties resolves with, by code: shared, frozen. */
const PLAIN_ACKS: Readonly<PublishAck>[] = [];
const PUBLISH_OPTIONS: readonly (keyof PublishOptions)[] = ["qos", "retain", "properties", "whenFull"];
const SUBSCRIBE_OPTIONS: readonly (keyof SubscribeOptions)[] = ["qos", "nl", "rap", "rh", "properties"];
const SUBSCRIPTION_FIELDS: readonly (keyof SubscriptionRequest)[] = ["topic", "qos", "nl", "rap", "rh"];

/** An event waiting to be emitted. */
type Emission = { [K in keyof ClientEvents]: { name: K; args: ClientEvents[K] } }[keyof ClientEvents];

/**
 * Connects to an MQTT 3.1.1 broker (`mqtt://host:port` or `tcp://host:port`, port 1883 by
 * default; `mqtts://` or `ssl://` over TLS, port 8883; `ws://` or `wss://` over WebSockets)
 * and resolves with the client once the broker accepted the CONNECT.
 *
 * Rejects with a {@link WasmqttError} whose `code` is the reason: INVALID_ARGUMENT /
 * INVALID_TOPIC / INVALID_QOS / PACKET_TOO_LARGE for bad options, CONNECTION_REFUSED when
 * the TCP connection fails, HOST_NOT_FOUND when the host name does not resolve,
 * TLS_CERT_INVALID / TLS_CERT_EXPIRED / TLS_HOSTNAME_MISMATCH / TLS_HANDSHAKE_FAILED when
 * the broker's certificate or the TLS handshake fails,
 * CONNECT_TIMEOUT, a CONNACK refusal (CONNACK_NOT_AUTHORIZED, CONNACK_IDENTIFIER_REJECTED,
 * …), MODULE_LOAD_FAILED; after a failure the client is stopped and makes no further
 * attempts — unless `retryFirstConnect` is set: then the module keeps retrying (with
 * "reconnect" and "error" events) and only `end()` rejects the promise (CLIENT_STOPPED).
 */
export async function connect(url: string | URL, options: ClientOptions = {}): Promise<WasmqttClient> {
  const client = await createClient(url, options);
  return client.connect();
}

/**
 * Creates a client with its module instantiated and configured but not connected, so
 * listeners (e.g. "packet") can be attached before the first byte; then call
 * {@link WasmqttClient.connect}. Rejects like {@link connect} for bad options.
 */
export async function createClient(url: string | URL, options: ClientOptions = {}): Promise<WasmqttClient> {
  const settings = resolveOptions(url, options);
  const client = new WasmqttClient(settings);
  try {
    await client.load();
  } catch (error) {
    client.closeTrace();
    throw error;
  }
  return client;
}

/**
 * An MQTT client running the wasmqtt module. Create it with {@link connect} or
 * {@link createClient}. Events ({@link ClientEvents}) are emitted asynchronously, in the
 * order the module reported them; "error" is emitted only when it has a listener.
 */
export class WasmqttClient extends Emitter<ClientEvents> {
  private currentClientId: string;
  /** The module build this client runs. */
  readonly profile: Profile;
  private lastSessionPresent = false;
  private lastConnackProperties: DecodedProperties | undefined;
  private keeper: SessionKeeper | undefined;
  private restored: RestoreStatus;

  private readonly settings: Settings;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private link: ModuleLink | undefined;
  /** The pcap trace of `trace.pcap`, closed when the client is. */
  private trace: PcapTraceFile | undefined;
  private phase: "new" | "started" | "closed" = "new";
  private emissions: Emission[] = [];
  private emitScheduled = false;
  private everConnected = false;
  private connecting: (Waiter<WasmqttClient> & { promise: Promise<WasmqttClient> }) | undefined;
  private ending: Promise<void> | undefined;
  private readonly publishes = new Map<number, Waiter<PublishAck | undefined>[]>();
  /** Publishes waiting for outbox room, oldest first. */
  private waiting: WaitingPublish[] = [];
  private readonly subscribes = new Map<number, PendingSubscribe[]>();
  private readonly unsubscribes = new Map<number, PendingUnsubscribe[]>();

  /** @internal use {@link connect} or {@link createClient}. */
  constructor(settings: Settings) {
    super();
    this.settings = settings;
    this.currentClientId = settings.clientId;
    this.profile = settings.profile;
    this.transport = settings.transport;
    this.clock = settings.clock;
  }

  /**
   * The client identifier: the one sent in CONNECT, or, after an MQTT 5 CONNACK with an
   * Assigned Client Identifier (for an empty one), the broker's.
   */
  get clientId(): string {
    return this.currentClientId;
  }

  /** The options in effect, as MQTT.js's `client.options`: `clientId` as {@link clientId}. */
  get options(): { readonly clientId: string; readonly protocolVersion: 4 | 5; readonly clean: boolean; readonly keepalive: number } {
    return { clientId: this.currentClientId, protocolVersion: this.settings.protocolVersion, clean: this.settings.clean, keepalive: this.settings.keepalive };
  }

  /** Session present flag of the last accepted CONNACK. */
  get sessionPresent(): boolean {
    return this.lastSessionPresent;
  }

  /**
   * With `persist`: "OK" when the saved session was restored, PERSIST_CORRUPT /
   * PERSIST_VERSION / PERSIST_PROFILE when the saved bytes were refused (the client then
   * started empty), undefined when nothing was saved yet (and without `persist`).
   */
  get restoreStatus(): RestoreStatus {
    return this.restored;
  }

  /** The protocol of this client's connections: 4 (MQTT 3.1.1) or 5 (MQTT 5.0). */
  get protocolVersion(): 4 | 5 {
    return this.settings.protocolVersion;
  }

  /**
   * MQTT 5: the properties of the last accepted CONNACK (assignedClientIdentifier,
   * receiveMaximum, maximumPacketSize, maximumQoS, retainAvailable, topicAliasMaximum,
   * serverKeepAlive, reasonString, userProperties, …); undefined before it, and in 3.1.1.
   */
  get connackProperties(): DecodedProperties | undefined {
    return this.lastConnackProperties;
  }

  /** True while the broker has accepted this connection (the module's state is "connected"). */
  get connected(): boolean {
    return this.link !== undefined && this.link.module.stats().state === "connected";
  }

  /**
   * Starts connecting (the module calls netOpen) and resolves with this client at the first
   * accepted CONNACK. Rejects like {@link connect}; CLIENT_STOPPED when `end()` comes first
   * or the client has stopped (a stopped client never connects again). Calling it again
   * while the client runs returns the same promise.
   */
  connect(): Promise<WasmqttClient> {
    if (this.phase === "closed") return Promise.reject(stoppedError("connect() after the client stopped"));
    if (this.connecting !== undefined) return this.connecting.promise;
    let waiter!: Waiter<WasmqttClient>;
    const promise = new Promise<WasmqttClient>((resolve, reject) => (waiter = { resolve, reject }));
    this.connecting = { ...waiter, promise };
    const status = this.module().exports.start(this.clock.nowU32());
    if (status < 0) {
      waiter.reject(statusError(status, "start() refused"));
      return promise;
    }
    this.phase = "started";
    this.link?.start();
    return promise;
  }

  /**
   * Publishes a message. Resolves when its QoS flow completes (PUBACK for QoS 1, PUBCOMP
   * for QoS 2, across reconnects: the module resends), or for QoS 0 as soon as the module
   * has queued it (it is written at once when connected, else after the next CONNACK).
   * Resolves with undefined, but for QoS 1/2 under MQTT 5 with the ack that ended the flow,
   * its Reason Code and properties ({@link PublishAck}).
   *
   * Rejects with a {@link WasmqttError}: INVALID_TOPIC (empty, wildcard, too long),
   * INVALID_QOS, INVALID_ARGUMENT (not a string / bytes, a lone surrogate in the topic,
   * options not an object or with an unknown key, retain not a boolean), PACKET_TOO_LARGE
   * (does not fit the profile's staging buffer, transmit buffer or outbox), OUTBOX_FULL (nothing queued;
   * earlier publishes must complete first; with `whenFull: "wait"` the publish waits instead),
   * NO_PACKET_ID, CLIENT_STOPPED (after `end()` or a final close, also for publishes still
   * in flight or waiting). MQTT 5 also: QOS_NOT_SUPPORTED / RETAIN_NOT_SUPPORTED (the
   * broker's CONNACK limits), PACKET_TOO_LARGE above the broker's Maximum Packet Size,
   * PUBLISH_REFUSED (the broker's PUBACK / PUBREC Reason Code ≥ 0x80, in the error's
   * `reasonCode`); INVALID_ARGUMENT for bad `properties` (or any in 3.1.1).
   */
  publish(topic: string, payload: string | Uint8Array, options: PublishOptions = NO_OPTIONS): Promise<PublishAck | undefined> {
    try {
      return this.queuePublish(topic, payload, options) ?? QUEUED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** publish(), throwing where it rejects; undefined for a QoS 0 message queued (no promise made for it). */
  private queuePublish(topic: string, payload: string | Uint8Array, options: PublishOptions): Promise<PublishAck | undefined> | undefined {
    const module = this.usable("publish");
    checkMqttString(topic, "topic");
    if (typeof payload !== "string" && !(payload instanceof Uint8Array)) {
      throw argumentError(`payload must be a string or a Uint8Array (got ${show(payload)})`);
    }
    checkOptionsObject(options, "publish options");
    checkKnownOptions(options, PUBLISH_OPTIONS);
    checkBoolean(options.retain, "retain");
    const { whenFull } = options;
    if (whenFull !== undefined && whenFull !== "reject" && whenFull !== "wait") {
      throw argumentError(`whenFull must be "reject" or "wait" (got ${show(whenFull)})`);
    }
    const qos = options.qos ?? 0;
    if (!Number.isInteger(qos) || qos < 0 || qos > 0xff) throw qosError(qos);
    const block = this.propertyBlock(options.properties as Record<string, unknown> | undefined, PUBLISH_PROPERTY_NAMES, "publish properties");
    if (whenFull === "wait" && this.waiting.length > 0) return this.waitForRoom(topic, payload, block, qos, options.retain === true);
    if (!module.stageMessage(topic, payload, block)) {
      throw new WasmqttError(
        "PACKET_TOO_LARGE",
        `topic ${show(topic)} (${ModuleInstance.byteLength(topic)} bytes) and payload (${ModuleInstance.byteLength(payload)} bytes) ` +
          `exceed the ${this.profile} profile's staging buffer of ${module.stagingCapacity} bytes`,
        { status: Status.PACKET_TOO_LARGE },
      );
    }
    const topicLen = module.stagedTopicLength;
    const payloadLen = module.stagedPayloadLength;
    const result = module.exports.publishWithProperties(topicLen, payloadLen, module.stagedPropertiesLength, qos, options.retain === true ? 1 : 0, this.clock.nowU32());
    if (result < 0) {
      this.settle();
      if (result === Status.OUTBOX_FULL && whenFull === "wait") return this.waitForRoom(topic, payload, block, qos, options.retain === true);
      throw this.publishError(result, topic, topicLen, payloadLen, qos);
    }
    // the module sent what it could already: the tick after it (timer, waiting publishes) runs once per turn
    const done = result === 0 ? undefined : new Promise<PublishAck | undefined>((resolve, reject) => enqueue(this.publishes, result, { resolve, reject }));
    this.settle();
    this.link?.pumpSoon();
    return done;
  }

  /**
   * Sets how many QoS 1/2 publishes may await their acknowledgement at once (the `maxInflight`
   * option): 1 to the profile's in-flight slots; in MQTT 5 the broker's Receive Maximum
   * lowers it. Takes effect at once: a larger window sends waiting publishes now, a smaller
   * one lets those under way complete first. Returns the window in effect. Throws
   * INVALID_ARGUMENT for anything but a whole number from 1 to the slots.
   */
  setMaxInflight(count: number): number {
    const module = this.module();
    const slots = module.stats().inflight.capacity;
    const window = Number.isInteger(count) && count >= 1 && count <= slots ? module.exports.setInflightWindow(count, this.clock.nowU32()) : Status.INVALID_ARGUMENT;
    if (window < 0) throw argumentError(`maxInflight ${show(count)} must be a whole number from 1 to the ${this.profile} profile's ${slots} in-flight slots`);
    this.settle();
    this.pump();
    return window;
  }

  /**
   * Subscribes to one or more topic filters (sent at once, or on the next connection when
   * offline). Resolves with what the broker granted for each, in order: QoS 0/1/2, or 128
   * where it refused the filter.
   *
   * Rejects with a {@link WasmqttError}: INVALID_FILTER (naming the filter), INVALID_QOS,
   * INVALID_ARGUMENT (no filter, a filter twice, more than the subscription table holds,
   * a lone surrogate in a filter, options not an object or with an unknown key),
   * INVALID_STATE (a filter still awaits an earlier SUBACK/UNSUBACK; the same filters with
   * the same options as a request awaiting its SUBACK, such as a restored session's, join
   * it instead and resolve on its SUBACK), SUBSCRIPTIONS_FULL,
   * PACKET_TOO_LARGE, NO_PACKET_ID, CLIENT_STOPPED.
   */
  async subscribe(
    topics: string | readonly (string | SubscriptionRequest)[],
    options: SubscribeOptions = {},
  ): Promise<Granted[]> {
    const module = this.usable("subscribe");
    checkOptionsObject(options, "subscribe options");
    checkKnownOptions(options, SUBSCRIBE_OPTIONS);
    const subscriptionIdentifier = this.subscriptionIdentifier(options.properties);
    const userProperties = this.requestProperties(options.properties?.userProperties, "subscribe");
    const defaultQos = options.qos ?? 0;
    const list = typeof topics === "string" ? [topics] : Array.isArray(topics) ? topics : undefined;
    if (list === undefined) throw argumentError(`subscribe takes a topic filter or an array of them (got ${show(topics)})`);
    const filters: string[] = [];
    const qos: number[] = [];
    for (const entry of list) {
      const request: SubscriptionRequest = typeof entry === "string" ? { topic: entry, qos: defaultQos } : entry;
      if (request === null || typeof request !== "object" || typeof request.topic !== "string") {
        throw argumentError(`a subscription must be a topic filter or { topic, qos } (got ${show(request)})`);
      }
      checkMqttString(request.topic, "topic filter");
      if (typeof entry !== "string") checkKnownOptions(entry, SUBSCRIPTION_FIELDS);
      const level = request.qos ?? defaultQos;
      if (!Number.isInteger(level) || level < 0 || level > 2) throw qosError(level, "qos", `topic filter ${show(request.topic)}`);
      filters.push(request.topic);
      qos.push(level | this.subscriptionOptions({ nl: request.nl ?? options.nl, rap: request.rap ?? options.rap, rh: request.rh ?? options.rh }, request.topic));
    }
    this.checkFilters(module, filters);
    const result = this.request(module, "subscribe", filters, qos, subscriptionIdentifier, userProperties);
    const done = new Promise<Granted[]>((resolve, reject) => {
      enqueue(this.subscribes, result, { resolve, reject, topics: filters, granted: filters.map(() => undefined), received: 0 });
    });
    this.settle();
    this.pump();
    return done;
  }

  /**
   * Unsubscribes from one or more topic filters; resolves at the broker's UNSUBACK with
   * each filter, in order, and under MQTT 5 its Reason Code and the UNSUBACK's properties.
   * Rejects like {@link subscribe} (INVALID_FILTER, INVALID_ARGUMENT, INVALID_STATE, …).
   */
  async unsubscribe(topics: string | readonly string[], options: UnsubscribeOptions = {}): Promise<Unsubscribed[]> {
    const module = this.usable("unsubscribe");
    checkOptionsObject(options, "unsubscribe options");
    checkKnownOptions(options, ["properties"]);
    if (options.properties !== undefined) {
      if (this.settings.protocolVersion !== 5) throw argumentError("unsubscribe properties need protocolVersion: 5 (MQTT 3.1.1 has no properties)");
      checkOptionsObject(options.properties, "unsubscribe properties");
      checkKnownOptions(options.properties, ["userProperties"], "properties.");
    }
    const userProperties = this.requestProperties(options.properties?.userProperties, "unsubscribe");
    const filters = typeof topics === "string" ? [topics] : Array.isArray(topics) ? [...topics] : undefined;
    if (filters === undefined || filters.some((filter) => typeof filter !== "string")) {
      throw argumentError(`unsubscribe takes a topic filter or an array of them (got ${show(topics)})`);
    }
    for (const filter of filters) checkMqttString(filter, "topic filter");
    this.checkFilters(module, filters);
    const result = this.request(module, "unsubscribe", filters, undefined, 0, userProperties);
    const done = new Promise<Unsubscribed[]>((resolve, reject) => enqueue(this.unsubscribes, result, { resolve, reject, topics: filters }));
    this.settle();
    this.pump();
    return done;
  }

  /**
   * Ends the client: the module sends DISCONNECT when connected and closes the
   * connection; no reconnect follows. Resolves once the connection is closed (at once
   * when it already was). Pending publishes, subscribes and a pending connect reject with
   * CLIENT_STOPPED. Calling it again returns the same promise; it never rejects, but for
   * a `reasonCode` a client's DISCONNECT may not carry (INVALID_ARGUMENT, nothing done;
   * any but 0 in 3.1.1).
   */
  end(options: EndOptions = {}): Promise<void> {
    if (this.ending !== undefined) return this.ending;
    const reasonCode = options.reasonCode ?? 0;
    if (this.link !== undefined && this.phase !== "closed") {
      let block: Uint8Array;
      try {
        block = this.propertyBlock(options.properties as Record<string, unknown> | undefined, DISCONNECT_PROPERTY_NAMES, "end properties");
      } catch (error) {
        return Promise.reject(error);
      }
      const module = this.module();
      const staged = module.stage(block);
      const codeOk = Number.isInteger(reasonCode) && reasonCode >= 0 && reasonCode <= 0xff;
      const status = codeOk && staged !== undefined ? module.exports.disconnectWithProperties(reasonCode, staged[0], this.clock.nowU32()) : Status.INVALID_ARGUMENT;
      if (status < 0) return Promise.reject(this.endError(status, reasonCode, options.properties));
      this.settle();
    }
    if (this.phase !== "closed") this.finish(Status.CLIENT_STOPPED);
    this.ending = (this.link?.closed ?? Promise.resolve()).then(
      () => undefined,
      () => undefined,
    );
    return this.ending;
  }

  /** Why the module refused end()'s DISCONNECT (client5.ts checkDisconnect5); nothing was done. */
  private endError(status: number, reasonCode: unknown, properties: DisconnectProperties | undefined): WasmqttError {
    const v5 = this.settings.protocolVersion === 5;
    if (status === Status.PACKET_TOO_LARGE) {
      return statusError(status, `end: the DISCONNECT with these properties exceeds the ${this.profile} profile's buffers or the broker's Maximum Packet Size`);
    }
    if (properties === undefined) {
      return argumentError(`end: reasonCode ${show(reasonCode)} is not a Reason Code a client's DISCONNECT may carry${v5 ? "" : " (MQTT 3.1.1 has none)"}`);
    }
    return argumentError(
      `end: reasonCode ${show(reasonCode)} with properties.sessionExpiryInterval ${show(properties.sessionExpiryInterval)} refused: ` +
        "a code a client's DISCONNECT may not carry, or a Session Expiry Interval above 0 after a CONNECT without one (MQTT 5.0 §3.14.2.2.2)",
    );
  }

  /** The module's stats block, named: capacities, high-water marks and counters. */
  stats(): ModuleStats {
    return this.module().stats();
  }

  // ---- setup ------------------------------------------------------------------

  /** @internal instantiates and configures the module (createClient). */
  async load(): Promise<void> {
    if (this.settings.pcap !== undefined) this.trace = openPcapTrace(this.settings.pcap, this.clock);
    this.link = await ModuleLink.create({
      profile: this.profile,
      location: this.settings.wasmUrl,
      transport: this.transport,
      clock: this.clock,
      imports: { random: () => crypto.getRandomValues(new Uint32Array(1))[0] },
      handlers: {
        onEvent: (event, code, arg, dropped, properties, reasonCodes) => this.handleEvent(event, code, arg, dropped, properties, reasonCodes),
        onMessage: (topic, payload, flags, properties) => this.handleMessage(topic, payload, flags, properties),
        onPacket: (direction, header, packetId, remainingLength) => this.handlePacket(direction, header, packetId, remainingLength),
        // the module's packet traces are recorded only while a "packet" listener exists
        wantsPackets: () => this.listenerCount("packet") > 0,
        onPumped: () => this.offerWaiting(),
        onSettled: () => this.keeper?.check(),
      },
      tap: this.trace,
    });
    const module = this.link.module;
    const { settings } = this;
    if (settings.persist !== undefined) {
      // the saved session first: configure() below then replaces its settings and CONNECT, not its outbox
      const opened = await SessionKeeper.open(module, settings.persist, settings.persistEvery, this.clock, (error) => this.queueError(error), () => defer(() => this.pump()));
      this.keeper = opened.keeper;
      this.restored = opened.restoreStatus;
    }
    const will = settings.will;
    const connectBlock = this.setProtocol(module);
    const staged = module.stage(settings.clientId, settings.username ?? "", settings.password ?? "", will?.topic ?? "", will?.payload ?? "", connectBlock);
    if (staged === undefined) {
      throw new WasmqttError(
        "PACKET_TOO_LARGE",
        `client id, username, password and will together exceed the ${this.profile} profile's staging buffer of ${module.stagingCapacity} bytes`,
        { status: Status.PACKET_TOO_LARGE },
      );
    }
    let flags = settings.clean ? ConfigureFlag.CLEAN : 0;
    if (settings.username !== undefined) flags |= ConfigureFlag.USERNAME;
    if (settings.password !== undefined) flags |= ConfigureFlag.PASSWORD;
    if (will !== undefined) {
      flags |= ConfigureFlag.WILL | (will.retain === true ? ConfigureFlag.WILL_RETAIN : 0) | ((will.qos ?? 0) << ConfigureFlag.WILL_QOS_SHIFT);
    }
    const status = module.exports.configure(staged[0], staged[1], staged[2], staged[3], staged[4], flags, settings.keepalive);
    if (status < 0) throw this.configureError(status, staged);
    const reconnect = settings.reconnect === false ? DEFAULT_RECONNECT : settings.reconnect;
    const reconnectStatus = module.exports.setReconnect(reconnect.minDelayMs, reconnect.maxDelayMs, settings.reconnect === false ? 0 : 1);
    if (reconnectStatus < 0) {
      throw argumentError(`reconnect delays minDelayMs ${reconnect.minDelayMs} and maxDelayMs ${reconnect.maxDelayMs} need 0 < min <= max`);
    }
    if (settings.connectTimeout !== undefined && module.exports.setTimeouts(settings.connectTimeout) < 0) {
      throw argumentError(`connectTimeout ${settings.connectTimeout} must be at least 1`);
    }
    if (settings.maxInflight !== undefined) this.setMaxInflight(settings.maxInflight);
  }

  /**
   * Chooses the module's protocol (setProtocol) from protocolVersion and properties;
   * returns the caller's property blocks to stage after the will: the CONNECT's, then
   * with will.properties the Will Properties (empty in 3.1.1).
   */
  private setProtocol(module: ModuleInstance): Uint8Array {
    const { protocolVersion, properties = {} } = this.settings;
    if (protocolVersion !== 5) {
      // 3.1.1 is the module's default, but a restored session keeps the protocol it was saved
      // with (the module is idle after the restore, so this cannot be refused)
      if (this.restored === "OK") module.exports.setProtocol(ProtocolVersion.MQTT_311, 0, 0, 0, 0, 0);
      return NO_PROPERTY_BLOCK;
    }
    const caller = Object.fromEntries(CONNECT_BLOCK_PROPERTIES.map((name) => [name, properties[name]]));
    let block = encodeProperties(caller, CONNECT_BLOCK_PROPERTIES, "properties");
    const willBlock = encodeProperties(this.settings.will?.properties as Record<string, unknown> | undefined, WILL_PROPERTY_NAMES, "will.properties");
    if (willBlock.length > 0) {
      // the Will Properties block follows the CONNECT's, which is then present even when empty
      const connectBlock = block.length > 0 ? block : Uint8Array.of(0);
      block = new Uint8Array(connectBlock.length + willBlock.length);
      block.set(connectBlock);
      block.set(willBlock, connectBlock.length);
    }
    const status = module.exports.setProtocol(
      ProtocolVersion.MQTT_5,
      properties.receiveMaximum ?? 0xffff,
      properties.maximumPacketSize ?? 0xffffffff,
      properties.topicAliasMaximum ?? 0xffff,
      block.length,
      this.settings.autoAssignTopicAlias ? ProtocolFlag.AUTO_ASSIGN_TOPIC_ALIAS : 0,
    );
    if (status < 0) throw statusError(status, "setProtocol() refused the MQTT 5 limits");
    return block;
  }

  /** A caller's property block for a packet (MQTT 5), or an empty one; INVALID_ARGUMENT for properties in 3.1.1. */
  private propertyBlock(properties: Record<string, unknown> | undefined, names: readonly string[], where: string): Uint8Array {
    if (properties === undefined) return NO_PROPERTY_BLOCK;
    if (this.settings.protocolVersion !== 5) throw argumentError(`${where} need protocolVersion: 5 (MQTT 3.1.1 has no properties)`);
    return encodeProperties(properties, names, where);
  }

  /** The Subscription Options bits above the QoS (MQTT 5.0 §3.8.3.1); INVALID_ARGUMENT for bad ones, or any in 3.1.1. */
  private subscriptionOptions(options: SubscriptionOptions, topic: string): number {
    const { nl, rap, rh } = options;
    if (nl === undefined && rap === undefined && rh === undefined) return 0;
    if (this.settings.protocolVersion !== 5) throw argumentError(`nl, rap and rh (topic filter ${show(topic)}) need protocolVersion: 5`);
    checkBoolean(nl, "nl");
    checkBoolean(rap, "rap");
    if (rh !== undefined && rh !== 0 && rh !== 1 && rh !== 2) throw argumentError(`rh ${show(rh)} (topic filter ${show(topic)}) must be 0, 1 or 2`);
    return (nl === true ? 4 : 0) | (rap === true ? 8 : 0) | ((rh ?? 0) << 4);
  }

  private configureError(status: number, staged: number[]): WasmqttError {
    const { settings } = this;
    const stats = this.module().stats();
    switch (status) {
      case Status.INVALID_TOPIC:
        return topicError(settings.will?.topic ?? "", stats.maxTopicLength, "will topic");
      case Status.INVALID_QOS:
        return qosError(settings.will?.qos, "will qos");
      case Status.PACKET_TOO_LARGE:
        return statusError(status, `the CONNECT packet (client id ${staged[0]}, username ${staged[1]}, password ${staged[2]}, will topic ${staged[3]}, will payload ${staged[4]} bytes) does not fit the ${this.profile} profile's buffers`);
      case Status.INVALID_ARGUMENT:
        if (settings.password !== undefined && settings.username === undefined) {
          return argumentError("a password needs a username (MQTT 3.1.1 §3.1.2.9)");
        }
        return argumentError(
          `the module refused the CONNECT fields (client id ${show(settings.clientId)}, username ${show(settings.username)}, ` +
            `${staged[2]}-byte password, ${staged[4]}-byte will payload): a field is longer than 65535 bytes or not valid UTF-8`,
        );
      default:
        return statusError(status, "configure() refused the options");
    }
  }

  // ---- what the module reported ------------------------------------------------------

  /** Hands what the imports recorded to the handlers below (promises settled, events queued). */
  private settle(): void {
    this.link?.settle();
  }

  /** Lets the link deliver kept bytes, tick the module and schedule the next tick. */
  private pump(): void {
    this.link?.pump();
  }

  /** Keeps a publish until the outbox has room (its payload copied: the caller may reuse the bytes). */
  private waitForRoom(topic: string, payload: string | Uint8Array, properties: Uint8Array, qos: number, retain: boolean): Promise<PublishAck | undefined> {
    const kept = typeof payload === "string" ? payload : Uint8Array.from(payload);
    return new Promise<PublishAck | undefined>((resolve, reject) => this.waiting.push({ topic, payload: kept, properties, qos, retain, resolve, reject }));
  }

  /** Offers the waiting publishes to the module in order, until one finds the outbox still full. */
  private offerWaiting(): void {
    if (this.waiting.length === 0 || this.phase === "closed") return;
    const module = this.module();
    let offered = 0;
    while (offered < this.waiting.length) {
      const next = this.waiting[offered];
      const [topicLen, payloadLen, propertiesLen] = module.stage(next.topic, next.payload, next.properties)!; // it was staged once already
      const result = module.exports.publishWithProperties(topicLen, payloadLen, propertiesLen, next.qos, next.retain ? 1 : 0, this.clock.nowU32());
      if (result === Status.OUTBOX_FULL) break;
      offered++;
      if (result < 0) next.reject(this.publishError(result, next.topic, topicLen, payloadLen, next.qos));
      else if (result === 0) next.resolve(undefined);
      else enqueue(this.publishes, result, next);
    }
    if (offered === 0) return;
    this.waiting = this.waiting.slice(offered);
    this.settle();
    this.pump();
  }

  private handleMessage(topic: string, payload: Buffer, flags: number, properties: Buffer | undefined): void {
    const meta = messageMeta(flags);
    const decoded = this.properties(properties);
    if (decoded !== undefined) meta.properties = decoded;
    this.queue("message", topic, payload, meta);
  }

  /** MQTT 5: the properties of the block the module handed over, undefined when there are none (and in 3.1.1). */
  private properties(block: Buffer | undefined): DecodedProperties | undefined {
    if (this.settings.protocolVersion !== 5 || block === undefined || block.length === 0) return undefined;
    return decodeProperties(block);
  }

  private handlePacket(direction: number, header: number, packetId: number, remainingLength: number): void {
    this.queue("packet", {
      direction: direction === 0 ? "in" : "out",
      type: packetTypeName(header),
      flags: header & 15,
      packetId,
      remainingLength,
    });
  }

  private handleEvent(event: number, code: number, arg: number, dropped: DroppedMessage | undefined, block: Buffer | undefined, reasonCodes: Uint8Array | undefined): void {
    const v5 = this.settings.protocolVersion === 5;
    switch (event) {
      case EventKind.CONNECTED:
        if (v5) this.lastConnackProperties = this.properties(block) ?? {};
        if (typeof this.lastConnackProperties?.assignedClientIdentifier === "string") this.currentClientId = this.lastConnackProperties.assignedClientIdentifier;
        this.lastSessionPresent = arg === 1;
        this.everConnected = true;
        this.connecting?.resolve(this);
        this.queue("connect", this.lastSessionPresent);
        return;
      case EventKind.CONNECT_FAILED: {
        const error = this.connectError(code, arg, v5 && arg >= 0x80 ? this.properties(block)?.reasonString : undefined);
        if (!this.everConnected && this.phase === "started" && !this.settings.retryFirstConnect) {
          // the first attempt failed: report it and stop, no retries behind the caller's back
          this.connecting?.reject(error);
          this.module().exports.stop(this.clock.nowU32());
        } else {
          this.queueError(error);
        }
        return;
      }
      case EventKind.CONNECTION_LOST: {
        const error = v5 && arg !== 0 ? this.lostError5(code, arg, block) : WasmqttError.fromStatus(code, `connection to ${this.where()} lost: ${describeStatus(code)} (${statusName(code)})`, this.link?.lastError);
        this.queue("offline", error);
        this.queueError(error);
        return;
      }
      case EventKind.RECONNECTING:
        this.queue("reconnect", arg);
        return;
      case EventKind.BACKOFF:
        this.queue("backoff", arg);
        return;
      case EventKind.PUBLISH_DONE: {
        if (code < 0) {
          // MQTT 5: a PUBLISH queued before the CONNACK that its limits forbid; never sent
          const error = this.overLimitError(code, arg);
          if (arg === 0) this.queueError(error); // QoS 0: its publish() resolved when it was queued
          else dequeue(this.publishes, arg)?.reject(error);
          return;
        }
        const waiter = dequeue(this.publishes, arg);
        if (code < 0x80) waiter?.resolve(v5 ? this.publishAck(code, block) : undefined);
        else waiter?.reject(refusedError(code, this.properties(block), `the broker refused the PUBLISH (packet id ${arg})`));
        return;
      }
      case EventKind.AUTH:
        this.queue("auth", { reasonCode: arg, properties: this.properties(block) ?? {} });
        return;
      case EventKind.SUBACK:
        this.suback(arg & 0xffff, arg >>> 16, code, this.properties(block));
        return;
      case EventKind.UNSUBACK:
        this.unsuback(arg, reasonCodes, this.properties(block));
        return;
      case EventKind.CLOSED:
        this.finish(code);
        return;
      case EventKind.MESSAGE_DROPPED:
        this.queue("message-dropped", dropped?.topic, arg, messageMeta(dropped?.flags ?? 0));
        return;
    }
  }

  /** One SUBACK event: every subscribe() waiting on this packet id (the module joins a repeated request to the one pending) takes it. */
  private suback(packetId: number, index: number, code: number, properties: DecodedProperties | undefined): void {
    const waiting = this.subscribes.get(packetId);
    if (waiting === undefined) return; // a resubscription the module made by itself
    for (const pending of waiting) {
      if (pending.granted[index] !== undefined) continue;
      pending.granted[index] = code;
      pending.received++;
    }
    if (waiting[0].received < waiting[0].topics.length) return;
    this.subscribes.delete(packetId);
    const v5 = this.settings.protocolVersion === 5;
    for (const pending of waiting) {
      pending.resolve(pending.topics.map((topic, i) => {
        const granted = pending.granted[i] ?? 128;
        const qos = (granted >= 0x80 ? 128 : granted) as QoS | 128;
        if (!v5) return { topic, qos };
        return properties === undefined ? { topic, qos, reasonCode: granted } : { topic, qos, reasonCode: granted, properties };
      }));
    }
  }

  /** MQTT 5: what a publish() whose flow ended with this Reason Code (< 0x80) resolves with: shared when the ack had no properties. */
  private publishAck(reasonCode: number, block: Buffer | undefined): PublishAck {
    const properties = this.properties(block);
    if (properties !== undefined) return { reasonCode, properties };
    return (PLAIN_ACKS[reasonCode] ??= Object.freeze({ reasonCode }));
  }

  /**
   * One UNSUBACK: every unsubscribe() waiting on this packet id (the module joins a repeated
   * request to the one pending) resolves, each filter with its MQTT 5 Reason Code.
   */
  private unsuback(packetId: number, reasonCodes: Uint8Array | undefined, properties: DecodedProperties | undefined): void {
    const waiting = this.unsubscribes.get(packetId);
    if (waiting === undefined) return;
    this.unsubscribes.delete(packetId);
    const v5 = this.settings.protocolVersion === 5;
    // the codes map to the filters when the UNSUBSCRIBE held them all (it leaves out those the full table had no slot for)
    const codes = v5 && reasonCodes !== undefined && reasonCodes.length === waiting[0].topics.length ? reasonCodes : undefined;
    for (const pending of waiting) {
      pending.resolve(pending.topics.map((topic, i) => {
        if (!v5) return { topic };
        const unsubscribed: Unsubscribed = codes === undefined ? { topic } : { topic, reasonCode: codes[i] };
        if (properties !== undefined) unsubscribed.properties = properties;
        return unsubscribed;
      }));
    }
  }

  /** MQTT 5: a PUBLISH queued before the CONNACK (packet id, 0 at QoS 0) that the CONNACK's limits forbid: not sent. */
  private overLimitError(status: number, packetId: number): WasmqttError {
    const limits = this.lastConnackProperties ?? {};
    const which =
      status === Status.QOS_NOT_SUPPORTED
        ? `Maximum QoS ${String(limits.maximumQoS)}`
        : status === Status.RETAIN_NOT_SUPPORTED
          ? "Retain Available 0"
          : `Maximum Packet Size ${String(limits.maximumPacketSize)} bytes`;
    const what = packetId === 0 ? "a QoS 0 PUBLISH" : `the PUBLISH with packet id ${packetId}`;
    return statusError(status, `${what}, queued before the broker's CONNACK, exceeds its ${which}; it was not sent`);
  }

  /** MQTT 5: the connection ended with a DISCONNECT, the broker's (DISCONNECTED) or the client's for bad input. */
  private lostError5(status: number, reasonCode: number, block: Buffer | undefined): WasmqttError {
    const hex = `0x${reasonCode.toString(16).padStart(2, "0")}`;
    if (status === Status.DISCONNECTED) {
      const properties = this.properties(block);
      const reasonString = properties?.reasonString;
      const why = reasonString === undefined ? "" : `: ${String(reasonString)}`;
      return new WasmqttError("DISCONNECTED", `${this.where()} ended the connection with DISCONNECT Reason Code ${hex}${why}`, { status, reasonCode, properties });
    }
    return WasmqttError.fromStatus(status, `connection to ${this.where()} closed: ${describeStatus(status)}; the client sent DISCONNECT Reason Code ${hex}`, undefined, reasonCode);
  }

  /** The client stopped for good (`status`: CLIENT_STOPPED, or why the connection ended with reconnect off). */
  private finish(status: number): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.link?.halt();
    this.closeTrace();
    this.keeper?.close();
    const why =
      status === Status.CLIENT_STOPPED
        ? "the client was ended"
        : `the connection ended (${statusName(status)}) and reconnect is off`;
    const error = stoppedError(why);
    if (!this.everConnected) this.connecting?.reject(status === Status.CLIENT_STOPPED ? error : this.connectError(status, 0));
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    for (const waiters of [this.publishes, this.unsubscribes, this.subscribes] as Map<number, Waiter<never>[]>[]) {
      for (const list of waiters.values()) for (const waiter of list) waiter.reject(error);
      waiters.clear();
    }
    this.queue("close");
  }

  /** @internal closes the pcap trace, if any (the client is closed, or createClient failed). */
  closeTrace(): void {
    this.trace?.close();
    this.trace = undefined;
  }

  private connectError(status: number, returnCode: number, reasonString?: unknown): WasmqttError {
    const where = this.where();
    if (status === Status.CONNECTION_REFUSED) {
      const transportError = this.link?.lastError;
      const unresolved = hostNotFound(transportError);
      if (unresolved !== undefined) {
        return new WasmqttError("HOST_NOT_FOUND", `cannot connect to ${where}: host name ${show(unresolved.hostname)} does not resolve (${unresolved.code})`, {
          status,
          cause: transportError,
        });
      }
      const tls = tlsFailure(transportError);
      if (tls !== undefined) return new WasmqttError(tls.code, `cannot connect to ${where}: ${tls.message}`, { status, cause: transportError });
      const detail = transportError?.message;
      return WasmqttError.fromStatus(status, `cannot connect to ${where}${detail ? `: ${detail}` : ""}`, transportError);
    }
    if (status === Status.CONNECT_TIMEOUT) {
      const timeout = this.settings.connectTimeout ?? 10000;
      return WasmqttError.fromStatus(status, `no CONNACK from ${where} within ${timeout} ms`);
    }
    if (statusName(status).startsWith("CONNACK_")) {
      if (this.settings.protocolVersion === 5 && returnCode >= 0x80) {
        const why = reasonString === undefined ? "" : `: ${String(reasonString)}`;
        return WasmqttError.fromStatus(status, `${where}: ${describeStatus(status)} (CONNACK Reason Code 0x${returnCode.toString(16)}${why})`, undefined, returnCode);
      }
      return WasmqttError.fromStatus(status, `${where}: ${describeStatus(status)} (CONNACK return code ${returnCode})`);
    }
    return WasmqttError.fromStatus(status, `connecting to ${where} failed: ${describeStatus(status)} (${statusName(status)})`, this.link?.lastError);
  }

  // ---- emitting events ------------------------------------------------------------

  private queue<K extends keyof ClientEvents>(name: K, ...args: ClientEvents[K]): void {
    this.emissions.push({ name, args } as Emission);
    if (this.emitScheduled) return;
    this.emitScheduled = true;
    defer(() => this.emitQueued());
  }

  private queueError(error: WasmqttError): void {
    this.queue("error", error);
  }

  /** Emits the queued events in order; "error" only when someone listens (it would throw otherwise). */
  private emitQueued(): void {
    this.emitScheduled = false;
    const batch = this.emissions;
    this.emissions = [];
    for (let i = 0; i < batch.length; i++) {
      const { name, args } = batch[i];
      if (name === "error" && this.listenerCount("error") === 0) continue;
      try {
        (this.emit as (event: string, ...rest: unknown[]) => boolean)(name, ...args);
      } catch (error) {
        // a listener threw: keep the rest for the next turn, then let the throw surface
        this.emissions = batch.slice(i + 1).concat(this.emissions);
        if (this.emissions.length > 0 && !this.emitScheduled) {
          this.emitScheduled = true;
          defer(() => this.emitQueued());
        }
        throw error;
      }
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  private module(): ModuleInstance {
    if (this.link === undefined) throw new Error("wasmqtt: the client's module is not loaded (use connect() or createClient())");
    return this.link.module;
  }

  /** The module, unless the client has stopped (CLIENT_STOPPED). */
  private usable(call: string): ModuleInstance {
    if (this.phase === "closed") throw stoppedError(`${call}() after the client stopped`);
    return this.module();
  }

  private where(): string {
    return this.transport.label ?? "the broker";
  }

  /** Asks the module to check each filter, naming the first it refuses. */
  private checkFilters(module: ModuleInstance, filters: string[]): void {
    if (filters.length === 0) throw argumentError("at least one topic filter is needed");
    for (const filter of filters) {
      const staged = module.stage(filter);
      const status = staged === undefined ? Status.INVALID_ARGUMENT : module.exports.checkTopicFilter(staged[0]);
      if (status === Status.INVALID_FILTER) throw filterError(filter, module.stats().maxTopicLength);
      if (status < 0) {
        throw new WasmqttError("PACKET_TOO_LARGE", `topic filter ${show(filter)} exceeds the ${this.profile} profile's staging buffer of ${module.stagingCapacity} bytes`, {
          status: Status.PACKET_TOO_LARGE,
        });
      }
    }
  }

  /** subscribe's `properties`: the Subscription Identifier (0: none); INVALID_ARGUMENT for any other property, a bad value, or 3.1.1. */
  private subscriptionIdentifier(properties: SubscribeOptions["properties"]): number {
    if (properties === undefined) return 0;
    if (this.settings.protocolVersion !== 5) throw argumentError("subscribe properties need protocolVersion: 5 (MQTT 3.1.1 has no properties)");
    if (properties === null || typeof properties !== "object" || Array.isArray(properties)) {
      throw argumentError(`subscribe properties must be an object (got ${show(properties)})`);
    }
    checkKnownOptions(properties, ["subscriptionIdentifier", "userProperties"], "properties.");
    const { subscriptionIdentifier } = properties;
    if (subscriptionIdentifier === undefined) return 0;
    if (!Number.isInteger(subscriptionIdentifier) || subscriptionIdentifier < 1 || subscriptionIdentifier > 268_435_455) {
      throw argumentError(`properties.subscriptionIdentifier ${show(subscriptionIdentifier)} must be a whole number from 1 to 268435455`);
    }
    return subscriptionIdentifier;
  }

  /** MQTT 5: a SUBSCRIBE's or UNSUBSCRIBE's User Properties as a property block (empty: none). */
  private requestProperties(userProperties: UserProperties | undefined, call: string): Uint8Array {
    if (userProperties === undefined) return NO_PROPERTY_BLOCK;
    return encodeProperties({ userProperties }, ["userProperties"], `${call} properties`);
  }

  /** Stages the entries and calls subscribe/unsubscribe; returns the packet id or throws a readable error. */
  private request(module: ModuleInstance, call: "subscribe" | "unsubscribe", filters: string[], qos?: number[], subscriptionIdentifier = 0, userProperties: Uint8Array = NO_PROPERTY_BLOCK): number {
    if (!module.stageFilters(filters, qos, userProperties)) {
      throw new WasmqttError("PACKET_TOO_LARGE", `${filters.length} topic filter(s) exceed the ${this.profile} profile's staging buffer of ${module.stagingCapacity} bytes`, {
        status: Status.PACKET_TOO_LARGE,
      });
    }
    const now = this.clock.nowU32();
    const withProperties = userProperties.length > 0;
    const result =
      call === "unsubscribe"
        ? withProperties
          ? module.exports.unsubscribeWithProperties(filters.length, userProperties.length, now)
          : module.exports.unsubscribe(filters.length, now)
        : withProperties
          ? module.exports.subscribeWithProperties(filters.length, subscriptionIdentifier, userProperties.length, now)
          : subscriptionIdentifier === 0
            ? module.exports.subscribe(filters.length, now)
            : module.exports.subscribeWithIdentifier(filters.length, subscriptionIdentifier, now);
    if (result > 0) return result;
    this.settle();
    const stats = module.stats();
    const duplicate = filters.find((filter, index) => filters.indexOf(filter) !== index);
    switch (result) {
      case Status.INVALID_QOS: {
        const index = (qos ?? []).findIndex((level) => level > 2);
        return fail(qosError(qos?.[index], "qos", `topic filter ${show(filters[index])}`));
      }
      case Status.INVALID_ARGUMENT:
        if (duplicate !== undefined) return fail(argumentError(`topic filter ${show(duplicate)} appears twice in one ${call}`));
        if (filters.length > stats.subscriptions.capacity) {
          return fail(argumentError(`${filters.length} filters in one ${call}; the ${this.profile} profile's subscription table holds ${stats.subscriptions.capacity}`));
        }
        return fail(statusError(result, `${call}(${filters.map((f) => show(f)).join(", ")}) refused`));
      case Status.INVALID_STATE:
        return fail(statusError(result, `${call}: a filter of ${filters.map((f) => show(f)).join(", ")} still awaits the broker's answer to an earlier SUBSCRIBE or UNSUBSCRIBE (only a repeat of that request, the same filters in its order with the same options, joins it)`));
      case Status.SUBSCRIPTIONS_FULL:
        return fail(statusError(result, `${call}: the ${this.profile} profile's subscription table is full (${stats.subscriptions.used} of ${stats.subscriptions.capacity} in use)`));
      case Status.PACKET_TOO_LARGE:
        if (withProperties) {
          const encoded = userProperties.length - (userProperties.length > 128 ? 2 : 1); // without the Property Length
          return fail(statusError(result, `${call} properties.userProperties take ${encoded} bytes encoded: more than a subscription slot of the ${this.profile} profile keeps (desktop and esp32 64, nodemcu 32), or than its transmit buffer of ${stats.tx.capacity} bytes`));
        }
        return fail(statusError(result, `the ${call.toUpperCase()} packet does not fit the ${this.profile} profile's transmit buffer of ${stats.tx.capacity} bytes`));
      default:
        return fail(statusError(result, `${call}(${filters.map((f) => show(f)).join(", ")}) refused`));
    }
  }

  private publishError(status: number, topic: string, topicLen: number, payloadLen: number, qos: number): WasmqttError {
    const stats = this.module().stats();
    switch (status) {
      case Status.INVALID_TOPIC:
        return topicError(topic, stats.maxTopicLength);
      case Status.INVALID_QOS:
        return qosError(qos);
      case Status.PACKET_TOO_LARGE:
        return statusError(
          status,
          `a PUBLISH of a ${topicLen}-byte topic and ${payloadLen}-byte payload does not fit the ${this.profile} profile's ` +
            `transmit buffer (${stats.tx.capacity} bytes) or outbox (${stats.outbox.capacity} bytes)` +
            (this.lastConnackProperties?.maximumPacketSize === undefined ? "" : `, or the broker's Maximum Packet Size (${String(this.lastConnackProperties.maximumPacketSize)} bytes)`),
        );
      case Status.OUTBOX_FULL:
        return WasmqttError.fromStatus(
          status,
          `outbox full: publish to ${show(topic)} (${payloadLen}-byte payload) was not queued; the ${this.profile} profile's outbox ` +
            `holds ${stats.outbox.used} of ${stats.outbox.capacity} bytes of PUBLISHes not yet sent or acknowledged (wait for earlier publishes to complete)`,
        );
      case Status.NO_PACKET_ID:
        return statusError(status, `publish to ${show(topic)}`);
      case Status.QOS_NOT_SUPPORTED:
        return statusError(status, `publish to ${show(topic)} at QoS ${qos}: the broker's Maximum QoS is ${String(this.lastConnackProperties?.maximumQoS)}`);
      case Status.RETAIN_NOT_SUPPORTED:
        return statusError(status, `publish to ${show(topic)} with retain: the broker's CONNACK says Retain Available 0`);
      default:
        return statusError(status, `publish to ${show(topic)} refused`);
    }
  }
}

// ---- small helpers ---------------------------------------------------------------

/** The PUBLISH fields of `onMessage`-style flags. */
function messageMeta(flags: number): MessageMeta {
  return {
    qos: ((flags >> MessageFlag.QOS_SHIFT) & MessageFlag.QOS_MASK) as QoS,
    retain: (flags & MessageFlag.RETAIN) !== 0,
    dup: (flags & MessageFlag.DUP) !== 0,
  };
}

/** PUBLISH_REFUSED: the broker's Reason Code ≥ 0x80 for a PUBLISH (MQTT 5), with its Reason String when it sent one and the ack's properties. */
function refusedError(reasonCode: number, properties: DecodedProperties | undefined, what: string): WasmqttError {
  const reasonString = properties?.reasonString;
  const why = reasonString === undefined ? "" : `: ${String(reasonString)}`;
  return new WasmqttError("PUBLISH_REFUSED", `${what} with Reason Code 0x${reasonCode.toString(16)}${why}`, { reasonCode, properties });
}

function stoppedError(why: string): WasmqttError {
  return new WasmqttError("CLIENT_STOPPED", why, { status: Status.CLIENT_STOPPED });
}

/** getaddrinfo's codes for a name that has no address (now, or at all). */
const UNRESOLVED_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_NODATA", "EAI_FAIL"]);

/** The host name and code when `error` says the host name did not resolve. */
function hostNotFound(error: Error | undefined): { hostname: string; code: string } | undefined {
  const { code, hostname } = (error ?? {}) as { code?: unknown; hostname?: unknown };
  if (typeof code !== "string" || !UNRESOLVED_CODES.has(code)) return undefined;
  return { hostname: typeof hostname === "string" ? hostname : "(unknown)", code };
}

function fail(error: WasmqttError): never {
  throw error;
}

/** Adds a waiter for a packet id; ids can be reused, so each id holds a queue, oldest first. */
function enqueue<T>(map: Map<number, T[]>, packetId: number, waiter: T): void {
  const list = map.get(packetId);
  if (list === undefined) map.set(packetId, [waiter]);
  else list.push(waiter);
}

/** Removes and returns the oldest waiter for a packet id. */
function dequeue<T>(map: Map<number, T[]>, packetId: number): T | undefined {
  const list = map.get(packetId);
  if (list === undefined) return undefined;
  const waiter = list.shift();
  if (list.length === 0) map.delete(packetId);
  return waiter;
}
