/**
 * One simulated board: an instance of its build profile's module (its own fixed memory)
 * running the telemetry firmware, configured from the board file, its ADC answered from
 * the physics at the current virtual time, its GPIO writes recorded, and its network a
 * {@link NetworkLink} on the simulator's {@link VirtualClock}. The bytes move through a
 * {@link ModuleLink}, exactly as for the client API: the module decides everything MQTT.
 * With `sleep` the firmware deep-sleeps between readings: at its SLEEP event the device
 * keeps the save image in its "RTC memory" (two slots) and powers down; at the wake (as
 * at a `reboot`) its module's memory is put back to what instantiation and `init()` left
 * (the shadow stack pointer, the module's only mutable global, is at its base between
 * calls) and the image restored, so nothing but the block crosses the sleep.
 *
 * @example
 * const device = await SimDevice.create({
 *   id: "nodemcu-v3-1", board: loadBoard("nodemcu-v3"), clock, random: new Random(1).fork("nodemcu-v3-1"),
 *   accept: (duplex) => broker.handle(duplex),
 * });
 * device.start();
 * await clock.runUntil(60_000);
 * device.snapshot().temperatureC; // the last reading the firmware took
 */
import type { Duplex } from "node:stream";
import type { Board, OutputPin, SensorKind } from "../boards.ts";
import { statusError } from "../errors.ts";
import type { Clock } from "../clock.ts";
import { type LinkHandlers, type LinkTap, ModuleLink } from "../link.ts";
import { type SavedSlots, blockImage, restore, slotOf } from "../persist.ts";
import { type AppStats, type ClientState, EventKind, type FirmwareExports, type ModuleInstance, type ModuleStats, type Profile, ProtocolVersion, wasmName } from "../module.ts";
import { Status, WasmqttError, statusName } from "../status.ts";
import type { Transport } from "../transport.ts";
import { AdcModel, type SensorInputs } from "./adc.ts";
import type { TimerId, VirtualClock } from "./clock.ts";
import { type EnergyEstimate, energyPerDay } from "./energy.ts";
import { type LinkOptions, type LinkStats, NetworkLink, type ScriptStep } from "./network.ts";
import { AirTemperature, type AirTemperatureOptions, SoilMoisture, type SoilMoistureOptions } from "./physics.ts";
import type { Random } from "./random.ts";

/** How a simulated device is built; every field but the first five has a default. */
export interface DeviceOptions {
  /** The device id: client id and topic level (1–32 of `A–Z a–z 0–9 - _`). */
  id: string;
  /** The board file it models (profile, ADC, wiring, calibration). */
  board: Board;
  clock: VirtualClock;
  /** The device's own stream; physics, ADC noise, network and backoff jitter fork from it. */
  random: Random;
  /** Receives the broker end of every connection the device's network lets through. */
  accept: (broker: Duplex) => void;
  /** Seconds between readings (default 10). */
  intervalSec?: number;
  /** Publish only when the temperature moved this many °C … (default 0: every reading). */
  deadbandC?: number;
  /** … or the moisture this many percentage points (default 0). */
  deadbandPercent?: number;
  /** MQTT keepalive, seconds (default 60). */
  keepaliveSec?: number;
  /** QoS of the readings (default 1). */
  telemetryQos?: 0 | 1 | 2;
  /** 4 (MQTT 3.1.1, the default) or 5 (MQTT 5.0: setProtocol before appConfigure, the module's own limits announced). */
  protocolVersion?: 4 | 5;
  /** Deep sleep between readings (the firmware's appSetSleep; needs an interval of at least 30 s). */
  sleep?: boolean;
  /** Reconnect backoff bounds, ms (default: the module's own, 1000 … 60000). */
  reconnect?: { minDelayMs: number; maxDelayMs: number };
  /** The network between the device and the broker. */
  network?: LinkOptions;
  /** Network changes at virtual times (outages, latency, drops). */
  networkScript?: readonly ScriptStep[];
  air?: AirTemperatureOptions;
  soil?: SoilMoistureOptions;
  /** Also told what the module reports (after the device's own handling): for soak monitors and traces. */
  handlers?: LinkHandlers;
  /** At every boot (`create`, `reboot`), right after `init()` and before the device is configured: where a host restores a saved session. */
  onBoot?(module: ModuleInstance): void;
  /** Sees the device's MQTT bytes both ways (a pcap trace, host/pcap.ts). */
  tap?: LinkTap;
}

/**
 * An error that escaped the device's module while it served a timer or the network: a trap
 * (`WebAssembly.RuntimeError`) or a host error, with the device named.
 */
export class DeviceFault extends Error {
  constructor(
    readonly deviceId: string,
    override readonly cause: unknown,
  ) {
    super(`${deviceId}: ${cause instanceof WebAssembly.RuntimeError ? "the module trapped" : "the device failed"}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "DeviceFault";
  }

  /** True when the module itself trapped. */
  get trap(): boolean {
    return this.cause instanceof WebAssembly.RuntimeError;
  }
}

/** What the view and the tests see of a device at one moment. */
export interface DeviceSnapshot {
  id: string;
  board: string;
  profile: Profile;
  /** The module's connection state, "asleep" in deep sleep, or "off" after `powerOff` (the module is frozen where it was). */
  state: ClientState | "off" | "asleep";
  /** The simulated network's connection. */
  network: NetworkLink["state"];
  /** The last reading the firmware took; undefined before the first. */
  temperatureC: number | undefined;
  moisturePercent: number | undefined;
  /** What the sensors are really exposed to now. */
  world: SensorInputs;
  /** The outputs as the pins drive them (active-low wiring taken into account). */
  relay: boolean;
  led: boolean;
  /** Readings taken, published (each with a `seq`), held back by the deadband, refused (outbox full). */
  readings: number;
  published: number;
  suppressed: number;
  rejected: number;
  /** The `seq` of the last reading published. */
  sequence: number;
  /** PUBLISHes the module accepted, and those whose QoS flow completed (statsBuffer). */
  messagesPublished: number;
  messagesAcknowledged: number;
  outbox: { used: number; capacity: number };
  reconnects: number;
  /** Why the last connection ended or failed (a status name), if one did. */
  lastLoss: string | undefined;
  /** The module's static RAM (its whole memory need) and the board's budget for it. */
  staticBytes: number;
  ramBudgetBytes: number;
  uptimeSec: number;
  link: LinkStats;
  /** With deep sleep on: the wakes, the time awake and asleep, and the energy that mix costs (host/sim/energy.ts). */
  sleep: SleepSnapshot | undefined;
}

/** A deep-sleeping device's power figures. */
export interface SleepSnapshot {
  asleep: boolean;
  /** Wakes from deep sleep (the firmware's count, kept in the block). */
  wakes: number;
  awakeMs: number;
  asleepMs: number;
  energy: EnergyEstimate;
}

/** Default reading interval, seconds. */
export const DEFAULT_INTERVAL_SEC = 10;
/** Default keepalive, seconds. */
export const DEFAULT_KEEPALIVE_SEC = 60;
/** The firmware's shortest reading interval with deep sleep (assembly/firmware/sleep.ts). */
export const MIN_SLEEP_INTERVAL_SEC = 30;
/** The reading interval of `wasmqtt sim --sleep` without `--interval`, seconds. */
export const DEFAULT_SLEEP_INTERVAL_SEC = 60;

/** `boardConfigure` output flags: the LED / relay is on when its pin is low. */
const LED_ACTIVE_LOW = 1;
const RELAY_ACTIVE_LOW = 2;

/** A simulated board running the telemetry firmware. */
export class SimDevice {
  readonly id: string;
  readonly board: Board;
  /** The device's network: `apply` / `script` changes to it. */
  readonly network: NetworkLink;
  readonly air: AirTemperature;
  readonly soil: SoilMoisture;
  readonly adc: AdcModel;
  private readonly clock: VirtualClock;
  private readonly pins = new Map<number, number>();
  private link: ModuleLink | undefined;
  private lastLoss: string | undefined;
  private phase: "new" | "running" | "asleep" | "stopped" | "off" = "new";
  private readonly options: DeviceOptions;
  /** The module's memory as instantiation and init() left it (its RAM at power on): what a reboot and a wake start from. */
  private pristine: Uint8Array | undefined;
  /** What survives deep sleep: the save images of the firmware's SLEEP events, by slot. */
  private readonly rtc: SavedSlots = {};
  private wakeTimer: TimerId | undefined;
  /** Power time so far, and when the current awake or asleep stretch began (virtual ms). */
  private readonly power = { awakeMs: 0, asleepMs: 0, since: 0 };

  private constructor(options: DeviceOptions) {
    this.options = options;
    this.id = options.id;
    this.board = options.board;
    this.clock = options.clock;
    const random = options.random;
    this.air = new AirTemperature(random.fork("air"), options.air);
    this.soil = new SoilMoisture(random.fork("soil"), options.soil);
    this.adc = new AdcModel(options.board, random.fork("adc"));
    this.network = new NetworkLink(options.clock, random.fork("network"), options.accept, options.network);
    if (options.networkScript !== undefined) this.network.script(options.networkScript);
  }

  /**
   * Instantiates the board's profile, configures the board and the app, and returns the
   * device ready to `start`. Rejects with a WasmqttError: MODULE_LOAD_FAILED (no build, or a
   * build without the telemetry firmware), INVALID_ARGUMENT (a bad id, interval or board).
   */
  static async create(options: DeviceOptions): Promise<SimDevice> {
    const device = new SimDevice(options);
    const entropy = options.random.fork("module");
    const extra = options.handlers;
    device.link = await ModuleLink.create({
      profile: options.board.profile,
      kind: "telemetry",
      transport: transportNaming(device.network, device.id),
      clock: timersNaming(options.clock, device.id),
      imports: {
        random: () => entropy.next(),
        adcRead: (channel) => device.adcRead(channel),
        gpioWrite: (pin, level) => device.pins.set(pin, level),
      },
      handlers: {
        onEvent: (kind, code, arg) => {
          device.onEvent(kind, code, arg);
          extra?.onEvent?.(kind, code, arg);
        },
        onMessage: extra?.onMessage?.bind(extra),
        onPacket: extra?.onPacket?.bind(extra),
        onSettled: extra?.onSettled?.bind(extra),
      },
      tap: options.tap,
    });
    device.pristine = Uint8Array.from(device.link.module.bytes(0, device.memoryBytes()));
    options.onBoot?.(device.link.module);
    device.configure(options);
    return device;
  }

  /** Powers the device on: it starts connecting and takes its first reading now. */
  start(): void {
    if (this.phase !== "new") throw new Error(`${this.id}: start() once, on a new device`);
    const link = this.moduleLink();
    const status = naming(this.id, () => this.firmware().appStart(link.now()));
    if (status < 0) throw statusError(status, `${this.id}: appStart refused`);
    this.phase = "running";
    this.power.since = this.clock.now();
    naming(this.id, () => link.start());
  }

  /** Shuts the device down cleanly: the firmware publishes its retained "offline" status, DISCONNECTs (no will), and the connection closes. */
  stop(): void {
    if (this.phase === "asleep") this.stayAsleep("stopped");
    if (this.phase !== "running") return;
    const link = this.moduleLink();
    this.firmware().appStop(link.now());
    link.settle();
    this.countPower(true);
    this.shutDown();
  }

  /** The device loses power: no DISCONNECT, the connection just ends (the broker publishes the will). */
  powerOff(): void {
    if (this.phase === "asleep") this.stayAsleep("off");
    if (this.phase !== "running") return;
    this.moduleLink().abandon();
    this.countPower(true);
    this.shutDown();
    this.phase = "off";
  }

  /**
   * Powers the device up again after `powerOff` or `stop` (a power loss, a deep sleep):
   * its module's whole memory as instantiation and `init()` left it (nothing of the RAM
   * survives), `onBoot`, configured as at boot, started. Throws like `create` and `start`.
   */
  reboot(): void {
    if (this.phase !== "off" && this.phase !== "stopped") throw new Error(`${this.id}: reboot() a device that is off or stopped`);
    const link = this.moduleLink();
    this.powerOn();
    this.pins.clear();
    naming(this.id, () => {
      this.options.onBoot?.(link.module);
      this.configure(this.options);
    });
    this.phase = "new";
    this.start();
  }

  /** Runs the module's tick now, when the device is running (after a host's save, so a PUBREL held for it goes out). */
  pump(): void {
    if (this.phase === "running") naming(this.id, () => this.moduleLink().pump());
  }

  /** True from `start` until `stop` / `powerOff` (or the module stopping by itself), deep sleep included. */
  get running(): boolean {
    return this.phase === "running" || this.phase === "asleep";
  }

  /** The last level written to a GPIO, if any. */
  pin(gpio: number): number | undefined {
    return this.pins.get(gpio);
  }

  /** The module's stats block. */
  stats(): ModuleStats {
    return this.moduleLink().module.stats();
  }

  /** The size of the module's linear memory in bytes (fixed: the module never grows it). */
  memoryBytes(): number {
    return this.moduleLink().exports.memory.buffer.byteLength;
  }

  /** The firmware's stats block. */
  appStats(): AppStats {
    const stats = this.moduleLink().module.appStats();
    if (stats === undefined) throw this.noFirmware();
    return stats;
  }

  /** Everything the view shows, read now. */
  snapshot(): DeviceSnapshot {
    const stats = this.stats();
    const app = this.appStats();
    const read = app.readings > 0;
    return {
      id: this.id,
      board: this.board.name,
      profile: this.board.profile,
      state: this.phase === "off" || this.phase === "asleep" ? this.phase : stats.state,
      network: this.network.state,
      temperatureC: read ? app.temperatureCenti / 100 : undefined,
      moisturePercent: read ? app.moisturePercent : undefined,
      world: this.inputs(),
      relay: this.isOn(this.board.gpio.relay),
      led: this.isOn(this.board.gpio.led),
      readings: app.readings,
      published: app.published,
      suppressed: app.suppressed,
      rejected: app.rejected,
      sequence: app.sequence,
      messagesPublished: stats.messagesPublished,
      messagesAcknowledged: stats.messagesAcknowledged,
      outbox: { used: stats.outbox.used, capacity: stats.outbox.capacity },
      reconnects: stats.reconnects,
      lastLoss: this.lastLoss,
      staticBytes: stats.staticBytes,
      ramBudgetBytes: this.board.ramBudgetBytes,
      uptimeSec: app.uptimeSec,
      link: { ...this.network.stats },
      sleep: this.options.sleep === true ? this.sleepSnapshot(app.wakes) : undefined,
    };
  }

  /** What the sensors are exposed to at the current virtual time. */
  inputs(): SensorInputs {
    const now = this.clock.now();
    return { airTemperatureC: this.air.at(now), soilMoisturePercent: this.soil.at(now) };
  }

  // ---- setup ---------------------------------------------------------------------

  /** boardConfigure from the board file, reconnect bounds, the protocol, then appConfigure. */
  private configure(options: DeviceOptions): void {
    const firmware = this.firmware();
    const { board } = this;
    const { adc, gpio, calibration } = board;
    const flags = (gpio.led.activeLow ? LED_ACTIVE_LOW : 0) | (gpio.relay.activeLow ? RELAY_ACTIVE_LOW : 0);
    const boardStatus = firmware.boardConfigure(
      adc.bits, adc.referenceMv, Math.round(adc.dividerRatio * 1000), this.channelOf("tmp36"), this.channelOf("soil-moisture"),
      calibration.moisture.dryRaw, calibration.moisture.wetRaw, gpio.led.gpio, gpio.relay.gpio, flags,
    );
    if (boardStatus < 0) throw statusError(boardStatus, `${this.id}: boardConfigure refused the ${board.name} board file`);
    const link = this.moduleLink();
    if (options.reconnect !== undefined) {
      const { minDelayMs, maxDelayMs } = options.reconnect;
      if (link.exports.setReconnect(minDelayMs, maxDelayMs, 1) < 0) {
        throw new WasmqttError("INVALID_ARGUMENT", `${this.id}: reconnect delays ${minDelayMs} … ${maxDelayMs} ms need 0 < min ≤ max`);
      }
    }
    if (options.protocolVersion === 5 && link.exports.setProtocol(ProtocolVersion.MQTT_5, 0xffff, 0xffffffff, 0xffff, 0, 0) < 0) {
      throw new WasmqttError("INVALID_ARGUMENT", `${this.id}: setProtocol(5) refused`);
    }
    const staged = link.module.stage(this.id);
    const intervalSec = options.intervalSec ?? DEFAULT_INTERVAL_SEC;
    const deadbandCenti = Math.round((options.deadbandC ?? 0) * 100);
    const deadbandPercent = Math.round(options.deadbandPercent ?? 0);
    const keepaliveSec = options.keepaliveSec ?? DEFAULT_KEEPALIVE_SEC;
    const status = staged === undefined ? Status.INVALID_ARGUMENT : firmware.appConfigure(staged[0], intervalSec, deadbandCenti, deadbandPercent, keepaliveSec, options.telemetryQos ?? 1);
    link.settle();
    if (status >= 0 && options.sleep === true && firmware.appSetSleep(1) < 0) {
      throw new WasmqttError("INVALID_ARGUMENT", `${this.id}: deep sleep needs an interval of at least ${MIN_SLEEP_INTERVAL_SEC} s (got ${intervalSec} s)`);
    }
    if (status < 0) {
      throw statusError(
        status,
        `${this.id}: appConfigure refused (the id must be 1–32 of A–Z a–z 0–9 - _, the interval 1 … 86400 s, ` +
          `the deadbands and keepalive whole numbers ≥ 0; got interval ${intervalSec} s, deadbands ${deadbandCenti / 100} °C / ${deadbandPercent} %, keepalive ${keepaliveSec} s)`,
      );
    }
  }

  private channelOf(kind: SensorKind): number {
    const sensor = this.board.sensors.find((candidate) => candidate.kind === kind);
    if (sensor === undefined) throw new WasmqttError("INVALID_ARGUMENT", `${this.board.name}: the board file has no ${kind} sensor`);
    return sensor.channel;
  }

  // ---- the module's imports and events ------------------------------------------------

  /** `adcRead(channel)`: the ADC model converting what the sensors see now (a free channel reads 0 V). */
  private adcRead(channel: number): number {
    if (!Number.isInteger(channel) || channel < 0 || channel >= this.board.adc.channels) return 0;
    return this.adc.read(channel, this.inputs());
  }

  private onEvent(kind: number, code: number, arg: number): void {
    if (kind === EventKind.CONNECTION_LOST || kind === EventKind.CONNECT_FAILED) this.lastLoss = statusName(code);
    if (kind === EventKind.CLOSED) this.shutDown();
    if (kind === EventKind.SLEEP) this.sleep(code, arg);
  }

  // ---- deep sleep ---------------------------------------------------------------------

  /** The SLEEP event (the module closed its connection just before): the image to its slot, powered down until the wake. */
  private sleep(sequence: number, sleepMs: number): void {
    this.rtc[slotOf(sequence)] = blockImage(this.moduleLink().module);
    this.shutDown();
    this.phase = "asleep";
    this.countPower(true);
    this.wakeTimer = this.clock.after(sleepMs, () => naming(this.id, () => this.wake()));
  }

  /** Boots again: memory as after instantiation and init(), the saved image restored, appStart. */
  private wake(): void {
    this.wakeTimer = undefined;
    const link = this.moduleLink();
    this.powerOn();
    const restored = restore(link.module, this.rtc, link.now());
    if (restored !== "OK") this.configure(this.options); // nothing survived: boot as new
    this.countPower(false);
    this.phase = "running";
    const status = this.firmware().appStart(link.now());
    if (status < 0) throw statusError(status, `${this.id}: appStart refused after the wake`);
    link.start();
  }

  /** The module's whole memory back to {@link pristine} (the file comment says why that is the whole of its state). */
  private powerOn(): void {
    this.moduleLink().module.bytes(0, this.pristine!.length).set(this.pristine!);
  }

  /** Ends a sleep without a wake (stop, powerOff). */
  private stayAsleep(phase: "stopped" | "off"): void {
    if (this.wakeTimer !== undefined) this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
    this.countPower(false);
    this.phase = phase;
  }

  /** Closes the current awake (falling asleep) or asleep stretch. */
  private countPower(fallingAsleep: boolean): void {
    const now = this.clock.now();
    if (fallingAsleep) this.power.awakeMs += now - this.power.since;
    else this.power.asleepMs += now - this.power.since;
    this.power.since = now;
  }

  private sleepSnapshot(wakes: number): SleepSnapshot {
    const open = this.phase === "running" || this.phase === "asleep" ? this.clock.now() - this.power.since : 0;
    const asleep = this.phase === "asleep";
    const awakeMs = this.power.awakeMs + (asleep ? 0 : open);
    const asleepMs = this.power.asleepMs + (asleep ? open : 0);
    return { asleep, wakes, awakeMs, asleepMs, energy: energyPerDay({ awakeMs, asleepMs, wakes }) };
  }

  private shutDown(): void {
    this.phase = "stopped";
    this.link?.halt();
  }

  // ---- helpers --------------------------------------------------------------------------

  private isOn(output: OutputPin): boolean {
    const level = this.pins.get(output.gpio);
    return level !== undefined && (level !== 0) !== output.activeLow;
  }

  private moduleLink(): ModuleLink {
    if (this.link === undefined) throw new Error(`${this.id}: the device's module is not instantiated yet`);
    return this.link;
  }

  private firmware(): FirmwareExports {
    const firmware = this.moduleLink().module.firmware;
    if (firmware === undefined) throw this.noFirmware();
    return firmware;
  }

  private noFirmware(): WasmqttError {
    return new WasmqttError("MODULE_LOAD_FAILED", `build/${wasmName(this.board.profile, "telemetry")} has no telemetry firmware exports (rebuild it: npm run build)`);
  }
}

/** Runs `run`, rethrowing whatever escapes it as a {@link DeviceFault} naming the device. */
function naming<T>(deviceId: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw error instanceof DeviceFault ? error : new DeviceFault(deviceId, error);
  }
}

/** The clock as the device's ModuleLink sees it: errors from its timers name the device. */
function timersNaming(clock: VirtualClock, deviceId: string): Clock {
  return {
    nowU32: () => clock.nowU32(),
    after: (delayMs, run) => clock.after(delayMs, () => naming(deviceId, run)),
    clearTimer: (id) => clock.clearTimer(id as number),
  };
}

/** The network as the device's ModuleLink sees it: errors from its callbacks name the device. */
function transportNaming(network: NetworkLink, deviceId: string): Transport {
  return {
    open: (handlers) =>
      network.open({
        onOpen: () => naming(deviceId, () => handlers.onOpen()),
        onData: (bytes) => naming(deviceId, () => handlers.onData(bytes)),
        onClose: (reason) => naming(deviceId, () => handlers.onClose(reason)),
      }),
    send: (bytes) => network.send(bytes),
    close: () => network.close(),
  };
}
