/**
 * The soak's broker: real aedes, served over the simulated network's in-memory `Duplex`
 * streams, restartable with its sessions kept (a new aedes instance on the same
 * aedes-persistence memory store) or lost (a fresh store). Every connection is dropped on
 * a restart; while the broker is down, connections are reset as soon as they arrive.
 *
 * Hooks report what the broker did, for the soak's end-to-end ledger: each telemetry
 * PUBLISH it forwarded (aedes's `publish` event, after it was handed to every subscriber
 * and queued for offline ones), each SUBSCRIBE it stored, the QoS 2 PUBLISHes it holds
 * between PUBREC and PUBREL, and what a restart without sessions threw away.
 *
 * Two bugs of aedes 0.51 / aedes-persistence 9.1 that the soak found are patched in the
 * store (host/aedes-store.ts: a PUBREL resent after a lost PUBCOMP closes the connection;
 * overlapping QoS 2 flows to one subscriber are delivered twice after a session resume).
 * `patchAedes` (the default) applies the patches; `false` runs aedes as it is, and the
 * soak fails.
 *
 * aedes must be loaded after the virtual environment is installed: {@link loadAedes}.
 *
 * @example
 * const environment = installVirtualEnvironment(clock, { epochMs, random });
 * const broker = new SoakBroker(loadAedes(() => environment.timersCreated()), clock, { onTelemetry: (id, seq) => ledger.brokerForwarded(id, seq) });
 * const link = new NetworkLink(clock, random, (duplex) => broker.accept(duplex));
 * broker.restart({ keepSessions: false, downtimeMs: 5000 });
 */
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import type { AedesPublishPacket, Client, Subscription } from "aedes";
import { type AedesBroker, type AedesModules, type MemoryPersistence, type StoredPacket, aedesModules, patchMemoryStore } from "../aedes-store.ts";
import type { VirtualClock } from "../sim/clock.ts";
import type { Random } from "../sim/random.ts";
import { readSeq, telemetryDevice } from "./telemetry.ts";

/** What the broker reports to the soak. */
export interface BrokerHooks {
  /** A client's PUBLISH to `devices/<deviceId>/telemetry` arrived (before it is acknowledged; resends too). */
  onReceived?(deviceId: string, seq: number): void;
  /** A client's PUBLISH to `devices/<deviceId>/telemetry` was forwarded (its `seq`, -1 when unreadable). */
  onTelemetry?(deviceId: string, seq: number, qos: number): void;
  /** A client's SUBSCRIBE was stored. */
  onSubscribe?(clientId: string, filters: readonly string[]): void;
  /** A restart without sessions threw away QoS 2 PUBLISHes received (PUBREC sent) but not yet released: these seqs are lost. */
  onStateLost?(held: readonly { deviceId: string; seq: number }[]): void;
  /**
   * Decides whether a PUBLISH is forwarded to `clientId` (aedes's authorizeForward); false
   * drops it for that subscriber without telling anyone — a test-only loss.
   */
  forward?(clientId: string, topic: string, payload: Buffer): boolean;
  /**
   * Decides whether a client's PUBLISH, already acknowledged, is published at all; false
   * drops it inside the broker without telling anyone — a test-only loss.
   */
  admit?(clientId: string, topic: string, payload: Buffer): boolean;
}

/** Options of {@link SoakBroker}. */
export interface SoakBrokerOptions {
  /** Patch the two aedes bugs of the file comment (default true). */
  patchAedes?: boolean;
  /** Longest client id accepted (default 64). */
  maxClientIdLength?: number;
  /**
   * The stream behind `Math.random()` while aedes takes a connection (it draws the
   * client's first packet id there): a broker of its own per device then draws the same
   * ids whichever other brokers share the process. Default: the process's `Math.random`.
   */
  random?: Random;
}

/** Counters for the report. */
export interface BrokerStats {
  restartsKeepingSessions: number;
  restartsLosingSessions: number;
  /** Connections accepted (by a running broker) and reset (while it was down). */
  connections: number;
  refusedWhileDown: number;
  /** PUBRELs for packet ids the broker did not hold, answered with PUBCOMP (bug 1 of the file comment). */
  unknownPubrelsAnswered: number;
  /** Connections aedes closed because the client's keepalive ran out. */
  keepaliveTimeouts: number;
  /** Connections aedes closed because of an error (a client's, or the broker's). */
  clientErrors: number;
}

/**
 * Loads aedes and aedes-persistence for the soak. retimer (aedes's keepalive timer)
 * captures `setTimeout` / `clearTimeout` when it is first required, so any copy loaded
 * before the virtual environment was installed (the CLI loads the simulator's embedded
 * broker at startup) is dropped from the require cache and aedes is evaluated afresh.
 * `virtualTimers` counts the timers the virtual environment has made: a probe retimer
 * must add one, or this throws (aedes's keepalive would run on real time).
 */
export function loadAedes(virtualTimers: () => number): AedesModules {
  const require = createRequire(import.meta.url);
  for (const key of Object.keys(require.cache)) {
    if (/[\\/]node_modules[\\/](aedes|retimer)[\\/]/.test(key)) delete require.cache[key];
  }
  const modules = aedesModules();
  const retimer = createRequire(require.resolve("aedes"))("retimer") as (callback: () => void, timeoutMs: number) => { clear(): void };
  const before = virtualTimers();
  retimer(() => {}, 1).clear();
  if (virtualTimers() === before) throw new Error("aedes's keepalive timer (retimer) did not take the virtual timers; install the virtual environment first");
  return modules;
}

/** A restartable aedes broker on the virtual clock. */
export class SoakBroker {
  readonly stats: BrokerStats = {
    restartsKeepingSessions: 0,
    restartsLosingSessions: 0,
    connections: 0,
    refusedWhileDown: 0,
    unknownPubrelsAnswered: 0,
    keepaliveTimeouts: 0,
    clientErrors: 0,
  };
  private broker: AedesBroker | undefined;
  private persistence: MemoryPersistence;
  private generation = 0;
  private readonly connections = new Set<Duplex>();
  /** QoS 2 PUBLISHes received but not released, by client id and packet id. */
  private readonly held = new Map<string, Map<number, number>>();
  private readonly patchAedes: boolean;
  private readonly maxClientIdLength: number;
  private readonly random: Random | undefined;

  constructor(
    private readonly modules: AedesModules,
    private readonly clock: VirtualClock,
    private readonly hooks: BrokerHooks = {},
    options: SoakBrokerOptions = {},
  ) {
    this.patchAedes = options.patchAedes ?? true;
    this.maxClientIdLength = options.maxClientIdLength ?? 64;
    this.random = options.random;
    this.persistence = this.newPersistence();
    this.broker = this.startBroker();
  }

  /** True while a broker instance runs (false during a restart's downtime and after `close`). */
  get up(): boolean {
    return this.broker !== undefined;
  }

  /** Serves the broker end of one connection (a NetworkLink's `accept`). */
  accept(connection: Duplex): void {
    connection.on("error", () => {}); // a dropped connection is destroyed; aedes has seen the end
    if (this.broker === undefined) {
      this.stats.refusedWhileDown++;
      connection.destroy();
      return;
    }
    this.stats.connections++;
    this.connections.add(connection);
    connection.once("close", () => this.connections.delete(connection));
    const random = this.random;
    if (random === undefined) {
      this.broker.handle(connection);
      return;
    }
    const processRandom = Math.random;
    Math.random = () => random.float();
    try {
      this.broker.handle(connection);
    } finally {
      Math.random = processRandom;
    }
  }

  /**
   * Stops the broker (every connection dropped) and starts a new one after `downtimeMs`:
   * on the same store when `keepSessions`, else on a fresh one — subscriptions, queued
   * messages, held QoS 2 PUBLISHes and retained messages are gone (`onStateLost` first).
   */
  restart(options: { keepSessions: boolean; downtimeMs?: number }): void {
    this.stop();
    if (options.keepSessions) this.stats.restartsKeepingSessions++;
    else {
      this.stats.restartsLosingSessions++;
      this.loseState();
    }
    const start = (): void => {
      if (this.broker === undefined) this.broker = this.startBroker();
    };
    if ((options.downtimeMs ?? 0) > 0) this.clock.after(options.downtimeMs ?? 0, start);
    else start();
  }

  /** Stops the broker for good; resolves once aedes has closed. */
  close(): Promise<void> {
    const broker = this.broker;
    this.broker = undefined;
    for (const connection of this.connections) connection.destroy();
    if (broker === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  // ---- lifecycle ------------------------------------------------------------------

  private startBroker(): AedesBroker {
    this.generation++;
    const broker = this.modules.createBroker({
      id: `soak-broker-${this.generation}`,
      persistence: this.persistence,
      maxClientsIdLength: this.maxClientIdLength,
      authorizePublish: (client, packet, callback) => {
        const deviceId = telemetryDevice(packet.topic);
        if (client !== null && deviceId !== undefined) this.hooks.onReceived?.(deviceId, readSeq(packet.payload as Buffer) ?? -1);
        // aedes's own rule, kept: clients may not publish to $SYS/
        callback(packet.topic.startsWith("$SYS/") ? new Error("$SYS/ topic is reserved") : null);
      },
      authorizeForward: (client, packet) => {
        const forward = this.hooks.forward;
        return forward === undefined || client === null || forward(client.id, packet.topic, packet.payload as Buffer) ? packet : null;
      },
    });
    const publish = broker.publish.bind(broker) as unknown as (packet: AedesPublishPacket, client: Client | null, done: () => void) => void;
    const admit = this.hooks.admit;
    if (admit !== undefined) {
      // aedes's handlers call broker.publish(packet, client, done) once the PUBLISH is acknowledged
      (broker as unknown as { publish: typeof publish }).publish = (packet, client, done) => {
        if (client !== null && typeof client === "object" && !admit(client.id, packet.topic, packet.payload as Buffer)) return done();
        publish(packet, client, done);
      };
    }
    broker.on("publish", (packet, client) => this.published(packet, client));
    broker.on("subscribe", (subscriptions: Subscription[], client) => this.hooks.onSubscribe?.(client.id, subscriptions.map((sub) => sub.topic)));
    broker.on("keepaliveTimeout", () => this.stats.keepaliveTimeouts++);
    broker.on("clientError", () => this.stats.clientErrors++);
    broker.on("connectionError", () => this.stats.clientErrors++);
    return broker;
  }

  private stop(): void {
    const broker = this.broker;
    this.broker = undefined;
    // the process dies: connections reset at once, nothing more is written
    for (const connection of this.connections) connection.destroy();
    this.connections.clear();
    broker?.close();
  }

  /** A restart without sessions: the held QoS 2 PUBLISHes are reported lost, then a fresh store. */
  private loseState(): void {
    const lost: { deviceId: string; seq: number }[] = [];
    for (const [clientId, packets] of this.held) for (const seq of packets.values()) lost.push({ deviceId: clientId, seq });
    this.held.clear();
    if (lost.length > 0) this.hooks.onStateLost?.(lost);
    this.persistence = this.newPersistence();
  }

  // ---- the store --------------------------------------------------------------------

  /** A memory store that tracks held QoS 2 PUBLISHes and, with `patchAedes`, has aedes's two bugs patched (host/aedes-store.ts). */
  private newPersistence(): MemoryPersistence {
    const store = this.modules.memoryPersistence();
    if (this.patchAedes) patchMemoryStore(store, () => this.stats.unknownPubrelsAnswered++);
    const storePacket = store.incomingStorePacket.bind(store);
    const delPacket = store.incomingDelPacket.bind(store);
    store.incomingStorePacket = (client, packet, callback) => {
      const seq = telemetrySeq(packet);
      if (seq !== undefined && packet.messageId !== undefined) this.heldBy(client.id).set(packet.messageId, seq);
      storePacket(client, packet, callback);
    };
    store.incomingDelPacket = (client, packet, callback) => {
      if (packet.messageId !== undefined) this.held.get(client.id)?.delete(packet.messageId);
      delPacket(client, packet, callback);
    };
    return store;
  }

  private heldBy(clientId: string): Map<number, number> {
    let packets = this.held.get(clientId);
    if (packets === undefined) {
      packets = new Map();
      this.held.set(clientId, packets);
    }
    return packets;
  }

  private published(packet: AedesPublishPacket, client: Client | null): void {
    if (client === null) return;
    const deviceId = telemetryDevice(packet.topic);
    if (deviceId === undefined) return;
    const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
    this.hooks.onTelemetry?.(deviceId, readSeq(payload) ?? -1, packet.qos);
  }
}

function telemetrySeq(packet: StoredPacket): number | undefined {
  if (telemetryDevice(packet.topic) === undefined || packet.payload === undefined) return undefined;
  return readSeq(typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload);
}
