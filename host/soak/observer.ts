/**
 * The soak's observer: a wasmqtt client (the desktop build, its own module instance) on
 * the same virtual clock, subscribed to `devices/+/telemetry` at QoS 2 with a persistent
 * session (clean = false), over its own simulated link that no fault touches (a broker
 * restart still drops it; it reconnects within a second). Every telemetry message it
 * receives is handed to `onTelemetry` with its device id, `seq`, `uptime_s` and the QoS
 * it arrived with: the end of the end-to-end path from a device's `publish` to a subscriber.
 *
 * @example
 * const observer = await Observer.create({ clock, random, accept: (duplex) => broker.accept(duplex),
 *   onTelemetry: (deviceId, seq) => ledger.observed(deviceId, seq) });
 * observer.start();
 */
import type { Duplex } from "node:stream";
import { ModuleLink } from "../link.ts";
import { EventKind, MessageFlag, type ModuleStats, ProtocolVersion } from "../module.ts";
import { statusName } from "../status.ts";
import type { VirtualClock } from "../sim/clock.ts";
import { NetworkLink } from "../sim/network.ts";
import type { Random } from "../sim/random.ts";
import { readSeq, readUptimeSec, telemetryDevice } from "./telemetry.ts";

/** What {@link Observer.create} needs. */
export interface ObserverOptions {
  clock: VirtualClock;
  random: Random;
  /** The broker's `accept`. */
  accept: (broker: Duplex) => void;
  /** Called for every telemetry message, duplicates included. */
  onTelemetry(deviceId: string, seq: number, uptimeSec: number | undefined, qos: number): void;
  /** Client id (default `soak-observer`). */
  clientId?: string;
  /** Keepalive seconds (default 60). */
  keepaliveSec?: number;
  /** 4 (MQTT 3.1.1, the default) or 5 (MQTT 5.0, the module's own limits announced). */
  protocolVersion?: 4 | 5;
}

/** Counters for the report. */
export interface ObserverStats {
  messages: number;
  /** Telemetry messages whose payload had no readable `seq`. */
  unreadable: number;
  connects: number;
  /** Why connections ended, by status name. */
  losses: Record<string, number>;
  /** SUBACKs that granted less than QoS 2 (or refused). */
  downgraded: number;
}

/** The filter the observer subscribes to. */
export const OBSERVER_FILTER = "devices/+/telemetry";
/** Reconnect bounds of the observer: it should be back as soon as the broker is. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 1000;
/** An ideal link: the observer is the measuring instrument, not a subject. */
const IDEAL = { latencyMs: 1, jitterMs: 0, bytesPerSecond: Infinity };
/** A send buffer the desktop build's transmit ring can never outrun. */
const SEND_BUFFER_BYTES = 1 << 20;

/** A subscriber to every device's telemetry. */
export class Observer {
  readonly clientId: string;
  readonly stats: ObserverStats = { messages: 0, unreadable: 0, connects: 0, losses: {}, downgraded: 0 };
  readonly network: NetworkLink;
  private link: ModuleLink | undefined;

  private constructor(private readonly options: ObserverOptions) {
    this.clientId = options.clientId ?? "soak-observer";
    this.network = new NetworkLink(options.clock, options.random.fork("network"), options.accept, {
      up: IDEAL,
      down: IDEAL,
      sendBufferBytes: SEND_BUFFER_BYTES,
    });
  }

  /** Instantiates the desktop build. Rejects with a WasmqttError MODULE_LOAD_FAILED when there is no build. */
  static async create(options: ObserverOptions): Promise<Observer> {
    const observer = new Observer(options);
    const entropy = options.random.fork("module");
    observer.link = await ModuleLink.create({
      profile: "desktop",
      transport: observer.network,
      clock: options.clock,
      imports: { random: () => entropy.next() },
      handlers: {
        onMessage: (topic, payload, flags) => observer.message(topic, payload, flags),
        onEvent: (kind, code) => observer.event(kind, code),
      },
    });
    return observer;
  }

  /** Configures the session, queues the SUBSCRIBE (sent once connected) and starts connecting. */
  start(): void {
    const link = this.moduleLink();
    const { exports } = link;
    const staged = link.module.stage(this.clientId);
    if (staged === undefined) throw new Error(`observer: client id "${this.clientId}" does not fit the staging buffer`);
    if (this.options.protocolVersion === 5) check(exports.setProtocol(ProtocolVersion.MQTT_5, 0xffff, 0xffffffff, 0xffff, 0, 0), "setProtocol");
    check(exports.configure(staged[0], 0, 0, 0, 0, 0, this.options.keepaliveSec ?? 60), "configure");
    check(exports.setReconnect(RECONNECT_MIN_MS, RECONNECT_MAX_MS, 1), "setReconnect");
    if (!link.module.stageFilters([OBSERVER_FILTER], [2])) throw new Error("observer: the filter does not fit the staging buffer");
    check(exports.subscribe(1, link.now()), "subscribe");
    check(exports.start(link.now()), "start");
    link.start();
  }

  /** The observer module's stats block. */
  moduleStats(): ModuleStats {
    return this.moduleLink().module.stats();
  }

  private message(topic: string, payload: Buffer, flags: number): void {
    const deviceId = telemetryDevice(topic);
    if (deviceId === undefined) return;
    this.stats.messages++;
    const seq = readSeq(payload);
    if (seq === undefined) {
      this.stats.unreadable++;
      return;
    }
    this.options.onTelemetry(deviceId, seq, readUptimeSec(payload), (flags >> MessageFlag.QOS_SHIFT) & MessageFlag.QOS_MASK);
  }

  private event(kind: number, code: number): void {
    if (kind === EventKind.CONNECTED) this.stats.connects++;
    else if (kind === EventKind.CONNECTION_LOST || kind === EventKind.CONNECT_FAILED) {
      const name = statusName(code);
      this.stats.losses[name] = (this.stats.losses[name] ?? 0) + 1;
    } else if (kind === EventKind.SUBACK && code !== 2) this.stats.downgraded++;
  }

  private moduleLink(): ModuleLink {
    if (this.link === undefined) throw new Error("observer: the module is not instantiated yet");
    return this.link;
  }
}

function check(status: number, call: string): void {
  if (status < 0) throw new Error(`observer: ${call}() refused with ${statusName(status)}`);
}
