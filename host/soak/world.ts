/**
 * The soak's world, wired together: the restartable aedes broker, the observer, the
 * devices (each a {@link SimDevice} with its own module instance, watched by a
 * {@link DeviceMonitor}), the delivery ledger fed by the broker's hooks and the observer,
 * and the fault injector acting on the devices' links, the broker and the clock. Nothing
 * runs until {@link SoakWorld.powerOn} and the clock moves.
 *
 * @example
 * const world = await SoakWorld.create({ clock, options, invariants, settings, expectedReadings, random });
 * world.injector.schedule(planFaults({ spec, deviceIds: world.deviceIds, durationMs, random }));
 * world.powerOn();
 */
import type { Board } from "../boards.ts";
import type { VirtualClock } from "../sim/clock.ts";
import { SimDevice } from "../sim/device.ts";
import type { Random } from "../sim/random.ts";
import { SoakBroker, loadAedes } from "./broker.ts";
import { FaultInjector } from "./injector.ts";
import type { Invariants } from "./invariants.ts";
import { DeliveryLedger } from "./ledger.ts";
import { DeviceMonitor, type MonitorSettings } from "./monitor.ts";
import { Observer } from "./observer.ts";

/** What the world is made of. */
export interface WorldOptions {
  clock: VirtualClock;
  random: Random;
  invariants: Invariants;
  settings: MonitorSettings;
  devices: number;
  /** Boards and telemetry QoS levels, assigned round robin. */
  boards: readonly Board[];
  qos: readonly (0 | 1 | 2)[];
  intervalSec: number;
  keepaliveSec: number;
  /** Readings each device will take, for the ledger's tables. */
  expectedReadings: number;
  /** Timers the virtual environment has made (host/soak/environment.ts): proves aedes took them. */
  virtualTimers(): number;
  patchAedes: boolean;
}

/** A device and what watches it. */
export interface Member {
  device: SimDevice;
  monitor: DeviceMonitor;
  qos: 0 | 1 | 2;
}

/** The broker, the observer, the devices, the ledger and the injector of one soak. */
export class SoakWorld {
  private constructor(
    readonly deviceIds: readonly string[],
    readonly ledger: DeliveryLedger,
    readonly broker: SoakBroker,
    readonly observer: Observer,
    readonly members: readonly Member[],
    readonly injector: FaultInjector,
    private readonly options: WorldOptions,
  ) {}

  /** Builds and wires everything (modules instantiated, nothing started). Rejects when a build is missing. */
  static async create(options: WorldOptions): Promise<SoakWorld> {
    const { clock, random, invariants, settings, boards } = options;
    const deviceIds = Array.from({ length: options.devices }, (_, i) => `${boards[i % boards.length].name}-${i + 1}`);
    const qosOf = (i: number): 0 | 1 | 2 => options.qos[i % options.qos.length];
    // the hooks below reach these once they exist; nothing calls them before the clock runs
    let injector: FaultInjector | undefined;
    let observer: Observer | undefined;
    const ledger = new DeliveryLedger({
      devices: deviceIds.map((id, i) => ({ id, qos: qosOf(i) })),
      expectedReadings: options.expectedReadings,
      invariants,
      now: () => clock.now(),
      readingTime: (startMs, uptimeMs) => injector?.readingTime(startMs, uptimeMs),
    });
    const broker = new SoakBroker(
      loadAedes(options.virtualTimers),
      clock,
      {
        onReceived: (deviceId, seq) => ledger.brokerReceived(deviceId, seq),
        onTelemetry: (deviceId, seq) => ledger.brokerForwarded(deviceId, seq),
        onSubscribe: (clientId) => {
          if (clientId === observer?.clientId) ledger.observerSubscribed();
        },
        onStateLost: (held) => ledger.brokerLostHeld(held, clock.now()),
        forward: (subscriberId, topic, payload) => injector?.forward(subscriberId, observer?.clientId ?? "", topic, payload) ?? true,
        admit: (_clientId, topic, payload) => injector?.admit(topic, payload) ?? true,
      },
      { patchAedes: options.patchAedes },
    );
    observer = await Observer.create({
      clock,
      random: random.fork("observer"),
      accept: (duplex) => broker.accept(duplex),
      onTelemetry: (deviceId, seq, uptimeSec) => ledger.observed(deviceId, seq, uptimeSec),
    });
    const health = {
      healthySince: (index: number) => injector?.healthySince(index) ?? 0,
      jumpedBetween: (fromMs: number, toMs: number) => injector?.jumpedBetween(fromMs, toMs) ?? false,
    };
    const members: Member[] = [];
    for (let i = 0; i < options.devices; i++) {
      const id = deviceIds[i];
      const monitor = new DeviceMonitor({ index: i, id, qos: qosOf(i), settings, invariants, clock, health });
      const device = await SimDevice.create({
        id,
        board: boards[i % boards.length],
        clock,
        random: random.fork(id),
        accept: (duplex) => broker.accept(duplex),
        intervalSec: options.intervalSec,
        keepaliveSec: options.keepaliveSec,
        telemetryQos: qosOf(i),
        reconnect: settings.reconnect,
        handlers: monitor.handlers,
      });
      members.push({ device, monitor, qos: qosOf(i) });
    }
    injector = new FaultInjector({
      clock,
      links: members.map((member) => member.device.network),
      deviceIds,
      broker,
      onBrokerRestart: (keepSessions, atMs) => {
        if (!keepSessions) ledger.brokerLostState(atMs);
      },
    });
    return new SoakWorld(deviceIds, ledger, broker, observer, members, injector, options);
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

  /** Stops the broker; resolves once aedes has closed. */
  close(): Promise<void> {
    return this.broker.close();
  }
}
