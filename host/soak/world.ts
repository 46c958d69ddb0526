/**
 * The soak's world, wired together: the restartable broker, the observer, the devices
 * (each a {@link SimDevice} with its own module instance, watched by a
 * {@link DeviceMonitor}, its power faults and storage a {@link DevicePower}), the delivery ledger fed by the observer (and by the broker's
 * hooks, when the broker is aedes), and the fault injector acting on the devices' links,
 * the broker and the clock. Nothing runs until {@link SoakWorld.powerOn} and the clock moves.
 *
 * The broker is aedes in process on the virtual clock ({@link SoakBroker}; faults act on
 * the devices' simulated links) — one world per device, so that devices share nothing
 * (host/soak/run.ts) — or with `--real` a real Mosquitto (or the user's broker) behind a
 * fault proxy per device ({@link SoakMosquitto}; the observer connects to it directly),
 * one world for every device.
 *
 * @example
 * const world = await SoakWorld.create({ clock, random, invariants, settings, devices: [0, 1, 2], broker: { kind: "mosquitto" }, … });
 * world.injector.schedule(planFaults({ spec, deviceIds: world.deviceIds, durationMs, random, broker: "mosquitto" }));
 * world.powerOn();
 */
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type { Board } from "../boards.ts";
import { PcapTrace } from "../pcap.ts";
import type { VirtualClock } from "../sim/clock.ts";
import { SimDevice } from "../sim/device.ts";
import type { NetworkLink } from "../sim/network.ts";
import type { Random } from "../sim/random.ts";
import type { AedesModules } from "../aedes-store.ts";
import { type BrokerStats, SoakBroker } from "./broker.ts";
import { FaultInjector, type FaultLink, type RestartableBroker } from "./injector.ts";
import type { Invariants } from "./invariants.ts";
import type { LatencyRecorder } from "./latency.ts";
import { DeliveryLedger } from "./ledger.ts";
import { DeviceMonitor, type MonitorSettings } from "./monitor.ts";
import { type MosquittoStats, SoakMosquitto } from "./mosquitto.ts";
import { Observer } from "./observer.ts";
import { DevicePower } from "./power.ts";

/** The broker a world runs against. */
export type WorldBroker =
  /** aedes in process, loaded on the virtual timers by `loadAedes` (host/soak/broker.ts). */
  | { kind: "aedes"; patchAedes: boolean; modules: AedesModules }
  /** A real Mosquitto behind a fault proxy per device (`--real`); with `url`, the user's broker there (`--broker`), which the soak does not control. */
  | { kind: "mosquitto"; url?: string };

/** The broker's figures for the report. */
export type BrokerReport = ({ name: "aedes" } & BrokerStats) | ({ name: "mosquitto" } & MosquittoStats);

/** What the world needs of its broker, whichever it is. */
interface BrokerSide {
  broker: RestartableBroker & { close(): Promise<void> };
  /** Where device `index`'s connections go. */
  deviceAccept(index: number): (connection: Duplex) => void;
  /** Where the observer's connections go. */
  observerAccept(connection: Duplex): void;
  /** What device `index`'s faults act on. */
  faultLink(index: number, network: NetworkLink): FaultLink;
  report(): BrokerReport;
  /** A broker failure that ends the run (a Mosquitto that did not come back). */
  failure(): Error | undefined;
}

/** What the world is made of. */
export interface WorldOptions {
  clock: VirtualClock;
  random: Random;
  invariants: Invariants;
  settings: MonitorSettings;
  /** The devices of this world, by their index in the whole soak (ids `<board>-<index + 1>`). */
  devices: readonly number[];
  /** Boards and telemetry QoS levels, assigned round robin over the whole soak's indexes. */
  boards: readonly Board[];
  qos: readonly (0 | 1 | 2)[];
  intervalSec: number;
  keepaliveSec: number;
  /** The devices' and the observer's MQTT: 4 (3.1.1) or 5 (5.0). */
  protocolVersion: 4 | 5;
  /** Readings each device will take, for the ledger's tables. */
  expectedReadings: number;
  broker: WorldBroker;
  /** Where the ledger records delivery latencies (shared by the worlds of one run). */
  latency?: LatencyRecorder;
  /** Put before every device id and the observer's client id (a broker shared with others: `--broker`). */
  idPrefix?: string;
  /** The devices keep their session in simulated flash across power losses (`--persist`, host/soak/power.ts). */
  persist?: boolean;
  /** Write each device's MQTT bytes to DIR/<device id>.pcap (`--pcap DIR`, host/pcap.ts). */
  pcapDir?: string;
}

/** A device and what watches it. */
export interface Member {
  device: SimDevice;
  monitor: DeviceMonitor;
  power: DevicePower;
  qos: 0 | 1 | 2;
  /** The device's index in the whole soak. */
  index: number;
}

/** The broker, the observer, the devices, the ledger and the injector of one soak. */
export class SoakWorld {
  private constructor(
    readonly deviceIds: readonly string[],
    readonly ledger: DeliveryLedger,
    private readonly side: BrokerSide,
    readonly observer: Observer,
    readonly members: readonly Member[],
    readonly injector: FaultInjector,
    private readonly options: WorldOptions,
    private readonly traces: readonly PcapTrace[],
  ) {}

  /**
   * Builds and wires everything (modules instantiated, Mosquitto and its proxies started,
   * nothing else). Rejects when a build is missing, or Mosquitto is missing or does not start.
   */
  static async create(options: WorldOptions): Promise<SoakWorld> {
    const { clock, random, invariants, settings, boards } = options;
    const indexes = options.devices;
    const deviceIds = indexes.map((index) => `${options.idPrefix ?? ""}${deviceId(boards, index)}`);
    const qosOf = (i: number): 0 | 1 | 2 => options.qos[indexes[i] % options.qos.length];
    const aedes = options.broker.kind === "aedes";
    // the hooks below reach these once they exist; nothing calls them before the clock runs
    let injector: FaultInjector | undefined;
    let observer: Observer | undefined;
    const traces: PcapTrace[] = [];
    const ledger = new DeliveryLedger({
      devices: deviceIds.map((id, i) => ({ id, qos: qosOf(i) })),
      expectedReadings: options.expectedReadings,
      invariants,
      now: () => clock.now(),
      readingTime: (startMs, uptimeMs) => injector?.readingTime(startMs, uptimeMs),
      brokerHooks: aedes,
      latency: options.latency,
    });
    const side = options.broker.kind === "aedes"
      ? aedesSide(options, options.broker, ledger, () => observer?.clientId, () => injector)
      : await mosquittoSide(options, options.broker.url);
    try {
      observer = await Observer.create({
        clock,
        random: random.fork("observer"),
        accept: (duplex) => side.observerAccept(duplex),
        onTelemetry: (deviceId, seq, uptimeSec) => ledger.observed(deviceId, seq, uptimeSec),
        clientId: `${options.idPrefix ?? ""}soak-observer`,
        protocolVersion: options.protocolVersion,
      });
      const health = {
        healthySince: (index: number) => injector?.healthySince(index) ?? 0,
        jumpedBetween: (fromMs: number, toMs: number) => injector?.jumpedBetween(fromMs, toMs) ?? false,
      };
      const members: Member[] = [];
      for (let i = 0; i < indexes.length; i++) {
        const id = deviceIds[i];
        const trace = options.pcapDir === undefined ? undefined : PcapTrace.open(join(options.pcapDir, `${id}.pcap`), clock, { clientAddress: deviceAddress(indexes[i]) });
        if (trace !== undefined) traces.push(trace);
        const monitor = new DeviceMonitor({ index: i, id, qos: qosOf(i), settings, invariants, clock, health });
        const power = new DevicePower({ id, clock, persist: options.persist === true, ledger, monitor });
        const device = await SimDevice.create({
          id,
          board: boards[indexes[i] % boards.length],
          clock,
          random: random.fork(id),
          accept: side.deviceAccept(i),
          intervalSec: options.intervalSec,
          keepaliveSec: options.keepaliveSec,
          protocolVersion: options.protocolVersion,
          telemetryQos: qosOf(i),
          reconnect: settings.reconnect,
          handlers: { ...monitor.handlers, onSettled: () => power.settled() },
          onBoot: (module) => power.booted(module),
          tap: trace,
        });
        power.attach(device);
        members.push({ device, monitor, power, qos: qosOf(i), index: indexes[i] });
      }
      injector = new FaultInjector({
        clock,
        links: members.map((member, i) => side.faultLink(i, member.device.network)),
        deviceIds,
        power: members.map((member) => member.power),
        broker: side.broker,
        // aedes reports what a restart without sessions lost; Mosquitto cannot (nothing is excused)
        onBrokerRestart: (keepSessions, atMs) => {
          if (!keepSessions && aedes) ledger.brokerLostState(atMs);
        },
        // the proxy adds latency to none; a simulated link has 20 ms of its own
        baseline: aedes ? undefined : { latencyMs: 0 },
      });
      return new SoakWorld(deviceIds, ledger, side, observer, members, injector, options, traces);
    } catch (error) {
      for (const trace of traces) trace.close();
      await side.broker.close();
      throw error;
    }
  }

  /** The broker's figures now. */
  brokerReport(): BrokerReport {
    return this.side.report();
  }

  /** A broker failure that ends the run (Mosquitto did not come back after a restart), if any. */
  get failure(): Error | undefined {
    return this.side.failure();
  }

  /** Starts the observer now and powers the devices on at seeded times within the first reading interval (after 1 s). */
  powerOn(): void {
    const { clock, random, intervalSec } = this.options;
    this.observer.start();
    const stagger = random.fork("stagger");
    for (const member of this.members) {
      const at = 1000 + Math.floor(stagger.float() * intervalSec * 1000);
      clock.setTimer(at, () => {
        member.device.start();
        member.monitor.started(clock.now());
        this.ledger.started(member.device.id, clock.now());
      });
    }
  }

  /** Stops the broker and closes the pcap traces; resolves once aedes has closed, or Mosquitto and its proxies are gone. */
  close(): Promise<void> {
    for (const trace of this.traces) trace.close();
    return this.side.broker.close();
  }
}

/** The synthetic IPv4 address of the device at `index` in a pcap trace: 10.0.0.2 for the first, then up. */
function deviceAddress(index: number): string {
  const address = 0x0a000002 + index;
  return `10.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** The id of the device at `index` of a soak with these boards (round robin). */
export function deviceId(boards: readonly Board[], index: number): string {
  return `${boards[index % boards.length].name}-${index + 1}`;
}

/** aedes in process, its hooks feeding the ledger and the injector's test-only losses; faults act on the simulated links. */
function aedesSide(
  options: WorldOptions,
  aedes: Extract<WorldBroker, { kind: "aedes" }>,
  ledger: DeliveryLedger,
  observerId: () => string | undefined,
  injector: () => FaultInjector | undefined,
): BrokerSide {
  const { clock } = options;
  const broker = new SoakBroker(
    aedes.modules,
    clock,
    {
      onReceived: (deviceId, seq) => ledger.brokerReceived(deviceId, seq),
      onTelemetry: (deviceId, seq) => ledger.brokerForwarded(deviceId, seq),
      onSubscribe: (clientId) => {
        if (clientId === observerId()) ledger.observerSubscribed();
      },
      onStateLost: (held) => ledger.brokerLostHeld(held, clock.now()),
      forward: (subscriberId, topic, payload) => injector()?.forward(subscriberId, observerId() ?? "", topic, payload) ?? true,
      admit: (_clientId, topic, payload) => injector()?.admit(topic, payload) ?? true,
    },
    { patchAedes: aedes.patchAedes, random: options.random.fork("broker") },
  );
  return {
    broker,
    deviceAccept: () => (connection) => broker.accept(connection),
    observerAccept: (connection) => broker.accept(connection),
    faultLink: (_index, network) => network,
    report: () => ({ name: "aedes", ...broker.stats }),
    failure: () => undefined,
  };
}

/** Mosquitto (or the user's broker at `url`) behind a fault proxy per device; the observer connects directly. */
async function mosquittoSide(options: WorldOptions, url: string | undefined): Promise<BrokerSide> {
  const mosquitto = url === undefined ? await SoakMosquitto.start(options.devices.length) : await SoakMosquitto.external(options.devices.length, url);
  return {
    broker: mosquitto,
    deviceAccept: (index) => mosquitto.deviceAccept(index),
    observerAccept: (connection) => mosquitto.observerAccept(connection),
    faultLink: (index, network) => mosquitto.faultLink(index, network, options.clock),
    report: () => ({ name: "mosquitto", ...mosquitto.stats }),
    failure: () => mosquitto.failure,
  };
}
