/**
 * The broker of `wasmqtt soak --real`: a real Mosquitto (host/mosquitto.ts) on a free
 * loopback port with persistence on, and in front of it one fault proxy per device
 * (host/net/fault-proxy.ts), so that faults hit one device at a time. Each device
 * connection (the broker end of its simulated link, a `Duplex`) is piped to a fresh TCP
 * connection to its proxy; the observer's go to Mosquitto directly.
 *
 * A restart keeping sessions stops Mosquitto with SIGTERM (it saves its persistence file)
 * and starts it again after the downtime; one losing them is a crash: SIGKILL, the
 * persistence file deleted. Mosquitto tells the soak nothing of what it received or
 * forwarded (no hooks, unlike aedes in host/soak/broker.ts), so nothing lost in a crash
 * can be excused: the ledger reports it.
 *
 * `--broker mqtt://host:port` (`SoakMosquitto.external`): the user's own broker, which the
 * soak does not control — the proxies forward to it, the observer connects to it, and
 * nothing restarts it (the plan has no restarts; `restart` throws).
 *
 * @example
 * const mosquitto = await SoakMosquitto.start(3);
 * const device = await SimDevice.create({ …, accept: mosquitto.deviceAccept(0) });
 * const link = mosquitto.faultLink(0, device.network, clock); // for the FaultInjector
 * mosquitto.restart({ keepSessions: true, downtimeMs: 2000 });
 * await mosquitto.close();
 */
import { rmSync } from "node:fs";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { performance } from "node:perf_hooks";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Broker, startMosquitto } from "../mosquitto.ts";
import { type FaultProxy, startFaultProxy } from "../net/fault-proxy.ts";
import { type SimBroker, parseBrokerUrl, remoteBroker } from "../sim/broker.ts";
import type { VirtualClock } from "../sim/clock.ts";
import type { NetworkLink } from "../sim/network.ts";
import type { RestartableBroker } from "./injector.ts";
import { ProxiedLink } from "./proxy-link.ts";

/** Counters for the report. */
export interface MosquittoStats {
  /** As Mosquitto logs it at start (`mosquitto version 2.0.11 starting`). */
  version: string;
  /** Where Mosquitto listens (the observer connects here). */
  url: string;
  restartsKeepingSessions: number;
  /** Crashes: SIGKILL, the persistence file deleted. */
  restartsLosingSessions: number;
  /** Connections the devices' proxies forwarded to Mosquitto … */
  connections: number;
  /** … and closed at once because an outage or a black-hole was refusing them. */
  refusedByProxies: number;
  /** Bytes the proxies discarded during black-holes. */
  bytesDiscarded: number;
  /** Keepalive timeouts Mosquitto logged ("Client … has exceeded timeout"; not known of a broker the soak did not start). */
  keepaliveTimeouts: number;
  /** Connections Mosquitto logged accepting, by protocol ("New client connected … (p2, …)": p2 MQTT 3.1.1, p5 MQTT 5.0). */
  connectsMqtt311: number;
  connectsMqtt5: number;
  /** False for the user's broker (`--broker`): the soak did not start it and cannot restart it. */
  controlled: boolean;
}

/** Mosquitto's persistence file in its `persistence_location` (mosquitto.conf(5): `persistence_file` defaults to it). */
const PERSISTENCE_FILE = "mosquitto.db";

/** Mosquitto with persistence and a fault proxy per device. */
export class SoakMosquitto implements RestartableBroker {
  /** A restart that failed (Mosquitto did not come back); the soak stops with it. */
  failure: Error | undefined;
  private readonly version: string;
  private readonly counts = { restartsKeepingSessions: 0, restartsLosingSessions: 0, keepaliveTimeouts: 0, connectsMqtt311: 0, connectsMqtt5: 0 };
  private readonly devicePipes: SimBroker[];
  private readonly observerPipe: SimBroker;
  private restarting: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    /** Mosquitto as the soak started it; undefined for the user's broker. */
    private readonly broker: Broker | undefined,
    private readonly url: string,
    private readonly proxies: readonly FaultProxy[],
  ) {
    this.devicePipes = proxies.map((proxy) => remoteBroker(proxy.url));
    this.observerPipe = remoteBroker(url);
    this.version = broker === undefined ? "unknown" : /mosquitto version (\S+) starting/.exec(broker.logs())?.[1] ?? "unknown";
    broker?.onLog((line) => {
      if (line.includes("has exceeded timeout")) this.counts.keepaliveTimeouts++;
      const accepted = / as \S+ \(p(\d+),/.exec(line);
      if (accepted?.[1] === "2") this.counts.connectsMqtt311++;
      else if (accepted?.[1] === "5") this.counts.connectsMqtt5++;
    });
  }

  /**
   * Starts Mosquitto and `devices` proxies. Rejects when Mosquitto is not installed (the
   * message says how to install it) or does not start.
   */
  static async start(devices: number): Promise<SoakMosquitto> {
    const broker = await startMosquitto({ websockets: false, persistence: true });
    try {
      return new SoakMosquitto(broker, broker.url, await startProxies(devices, "127.0.0.1", broker.port));
    } catch (error) {
      await broker.stop();
      throw error;
    }
  }

  /**
   * The user's broker at `url` (`--broker`) and `devices` proxies in front of it. Rejects
   * with a message naming the URL when it is not an mqtt:// URL or nothing accepts
   * connections there.
   */
  static async external(devices: number, url: string): Promise<SoakMosquitto> {
    const { host, port } = parseBrokerUrl(url);
    if (!(await reachable(host, port))) throw new Error(`--broker ${url}: nothing accepts connections at ${host}:${port}`);
    return new SoakMosquitto(undefined, remoteBroker(url).url, await startProxies(devices, host, port));
  }

  /** Serves device `index`'s connections: each piped to its proxy. */
  deviceAccept(index: number): (connection: Duplex) => void {
    const pipe = this.devicePipes[index];
    return (connection) => pipe.accept(connection);
  }

  /** Serves the observer's connections: piped to Mosquitto directly, no fault on the way. */
  observerAccept(connection: Duplex): void {
    this.observerPipe.accept(connection);
  }

  /** What device `index`'s faults act on: its proxy, and its simulated link for the send buffer. */
  faultLink(index: number, network: NetworkLink, clock: VirtualClock): ProxiedLink {
    return new ProxiedLink(this.proxies[index], network, clock);
  }

  /**
   * Stops Mosquitto now — SIGTERM keeping sessions, else SIGKILL and the persistence file
   * deleted — and starts it again `downtimeMs` (wall time) after this call. Restarts run
   * one after another; a failure is kept in `failure`.
   */
  restart(options: { keepSessions: boolean; downtimeMs?: number }): void {
    const broker = this.broker;
    if (broker === undefined) throw new Error(`the soak does not control the broker at ${this.url}: it cannot restart it`);
    const startAt = performance.now() + (options.downtimeMs ?? 0);
    if (options.keepSessions) this.counts.restartsKeepingSessions++;
    else this.counts.restartsLosingSessions++;
    this.restarting = this.restarting
      .then(async () => {
        if (options.keepSessions) await broker.terminate();
        else {
          await broker.kill();
          rmSync(path.join(broker.dir, PERSISTENCE_FILE), { force: true });
        }
        const wait = startAt - performance.now();
        if (wait > 0) await sleep(wait);
        if (!this.closed) await broker.restart();
      })
      .catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      });
  }

  /** The counters now. */
  get stats(): MosquittoStats {
    const proxies = this.proxies.map((proxy) => proxy.stats);
    return {
      version: this.version,
      url: this.url,
      ...this.counts,
      controlled: this.broker !== undefined,
      connections: proxies.reduce((sum, stats) => sum + stats.connections, 0),
      refusedByProxies: proxies.reduce((sum, stats) => sum + stats.refused, 0),
      bytesDiscarded: proxies.reduce((sum, stats) => sum + stats.bytesDiscarded, 0),
    };
  }

  /** Waits for a restart under way, closes the proxies and every connection, stops Mosquitto (not the user's) and deletes its directory. */
  async close(): Promise<void> {
    this.closed = true;
    await this.restarting;
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
    await this.broker?.stop();
    await Promise.all([...this.devicePipes, this.observerPipe].map((pipe) => pipe.close()));
  }
}

/** `devices` fault proxies to `host:port`; none left running when one fails to start. */
async function startProxies(devices: number, host: string, port: number): Promise<FaultProxy[]> {
  const proxies: FaultProxy[] = [];
  try {
    for (let i = 0; i < devices; i++) proxies.push(await startFaultProxy(port, host));
  } catch (error) {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    throw error;
  }
  return proxies;
}

/** True when a TCP connection to `host:port` opens within 5 s (it is closed again at once). */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 5000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}
