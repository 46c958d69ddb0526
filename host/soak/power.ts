/**
 * A soak device's power: the `power-loss` and `deep-sleep` faults (host/soak/faults.ts)
 * on one {@link SimDevice}, its simulated flash and RTC memory, and what a reboot costs
 * the delivery ledger.
 *
 * - **Power loss**: the connection just ends (no DISCONNECT) and the RAM is gone; after
 *   the off time the device reboots — its module's whole memory as at power on, `init()`,
 *   restore, configured as at boot, started (`SimDevice.reboot`). With persistence
 *   (`--persist`) the device keeps its session in two flash slots through the host's own
 *   {@link SessionKeeper} (host/persist.ts): saved at every `persistGeneration()` change,
 *   `persistHoldPubrel(1)` on, the slot of each image chosen by its sequence number, and
 *   at boot the newest slot that `persistCheck` accepts restored (boards/ABI.md,
 *   "Persistent state"). A power loss `duringSave` falls during a save (the next, or a
 *   later one, so that every kind of save gets cut): the
 *   slot's write stops after a part of its bytes (the rest keep what the slot held), so
 *   that image fails its CRC and the other slot — the last complete save — comes back.
 * - **Deep sleep**: the device shuts down cleanly (the firmware's `appStop`: retained
 *   "offline", DISCONNECT), its persistent block is kept in RTC memory — the last image
 *   saved to flash with persistence, else one `persistPrepare` makes — and the rest of
 *   its RAM is lost; it sleeps, then reboots and restores the RTC copy. Nothing is lost.
 *
 * **What the ledger is told.** Every save notes how many readings the device had
 * accepted (the firmware's `sequence`): a restored image covers those. At the reboot
 * after a power loss, the readings accepted after the restored image was saved — with no
 * persistence, every reading so far — are excused as lost with the RAM
 * (`DeliveryLedger.powerLost`, each with its why: the ABI's "What a power loss costs");
 * the readings a restored image covers are not, so one of them never delivered fails the
 * run. QoS 1 may arrive twice (an acknowledgement after the save is redone), QoS 2 must
 * arrive once.
 *
 * **The firmware's counters.** The telemetry firmware's state lies in the persistent
 * block's application area, so a boot gets back only what the restored image held: the
 * counters as at the last save, or with nothing restored (no `--persist`, no complete
 * save) zeros. So that a `seq` names one reading for the device's whole life, and the
 * ledger's accounting (readings = published + suppressed + refused, published =
 * sequence) holds across boots, the soak's device carries the counters of the app stats
 * block — sequence, readings, published, suppressed, refused — as they were when it went
 * down into the new boot, written over the restored ones before the firmware is
 * configured: numbering goes on after the last reading accepted, not the last saved, so
 * a lost reading's seq is never reused. The firmware's code is untouched; its uptime is
 * not carried: it goes on from the restored image's, or from 0 when nothing was restored.
 * The module's counters are RAM too: a boot that restored nothing starts them at 0, so
 * the reconnects counted before it are kept here for the report.
 *
 * @example
 * const power = new DevicePower({ id, clock, persist: true, ledger, monitor });
 * const device = await SimDevice.create({ …, handlers: { ...monitor.handlers, onSettled: () => power.settled() }, onBoot: (module) => power.booted(module) });
 * power.attach(device);
 * power.powerLoss(30_000, { save: 2, cut: 0.5 }, (detail) => log(detail));
 */
import type { Clock } from "../clock.ts";
import type { ModuleInstance } from "../module.ts";
import { type RestoreStatus, type SavedSlots, SessionKeeper, type SessionStore, type SlotName, blockImage, restore } from "../persist.ts";
import type { VirtualClock } from "../sim/clock.ts";
import type { SimDevice } from "../sim/device.ts";
import { formatVirtualTime } from "../sim/view.ts";
import { DURING_SAVE_WITHIN_MS } from "./faults.ts";
import type { PowerSwitch } from "./injector.ts";
import type { DeliveryLedger } from "./ledger.ts";
import type { DeviceMonitor } from "./monitor.ts";

/** The sequence number's offset in the persistent block's header (boards/ABI.md, "Layout"). */
const SEQUENCE_OFFSET = 12;
/** The app stats block's u32 fields carried across a reboot, over what the restore brought back (boards/ABI.md, "The telemetry firmware"): sequence, readings, published, suppressed, rejected. */
const CARRIED_FIELDS = [4, 5, 6, 7, 8] as const;

/** What the power faults did, for the report (summed over devices). */
export interface PowerFigures {
  /** Power losses, and those that cut a save. */
  powerLosses: number;
  duringSave: number;
  /** Images written to flash whole. */
  saves: number;
  /** Boots after a power loss that restored an image from flash, and those that found none (the device started empty). */
  restored: number;
  startedEmpty: number;
  /** Deep-sleep cycles, and wakes whose RTC image the module refused (its readings are not excused). */
  deepSleeps: number;
  wakeRefused: number;
}

/** Figures of a device the power faults never touched. */
export function noPowerFigures(): PowerFigures {
  return { powerLosses: 0, duringSave: 0, saves: 0, restored: 0, startedEmpty: 0, deepSleeps: 0, wakeRefused: 0 };
}

/** What {@link DevicePower} needs. */
export interface DevicePowerOptions {
  id: string;
  clock: VirtualClock;
  /** Keep the session in flash (`--persist`). */
  persist: boolean;
  ledger: DeliveryLedger;
  monitor: DeviceMonitor;
}

/** A save the power will cut: saves to let through first, the part of the slot written, and what to do once it is cut. */
interface Cut {
  skip: number;
  fraction: number;
  then(detail: string): void;
}

/** What an image written to a slot covers: its sequence number, the readings the device had accepted, when. */
interface Cover {
  image: number;
  readings: number;
  atMs: number;
}

/** Two slots of simulated flash: the device's {@link SessionStore}, whose next write the power may cut. */
class Flash implements SessionStore {
  readonly slots: SavedSlots = {};
  /** What the image last written to each slot (whole or cut) covers. */
  readonly covers: { a?: Cover; b?: Cover } = {};
  /** The last image written whole. */
  last: Uint8Array | undefined;
  /** Set: a save to cut. */
  cut: Cut | undefined;

  constructor(private readonly written: (image: Uint8Array, slot: SlotName, whole: boolean) => void) {}

  load(): SavedSlots {
    return this.slots;
  }

  /** Writes `image` to `slot`, or when a cut is set only its first bytes over what the slot held, then the cut happens. */
  save(image: Uint8Array, slot: SlotName): void {
    const cut = this.cut;
    if (cut === undefined || cut.skip-- > 0) {
      this.slots[slot] = image;
      this.last = image;
      this.written(image, slot, true);
      return;
    }
    this.cut = undefined;
    const bytes = Math.floor(cut.fraction * image.length);
    const torn = new Uint8Array(image.length);
    const before = this.slots[slot];
    if (before !== undefined) torn.set(before.subarray(0, image.length));
    torn.set(image.subarray(0, bytes));
    this.slots[slot] = torn;
    this.written(image, slot, false); // a cut whose lost bytes equal the slot's old ones is the whole image: it covers the same
    cut.then(`during a save: image ${sequenceOf(image)} to slot ${slot.toUpperCase()} cut after ${bytes} of ${image.length} bytes`);
  }
}

/** One device's power: see the file comment. */
export class DevicePower implements PowerSwitch {
  readonly figures = noPowerFigures();
  /** Reconnects the module counted in boots whose counters are gone (started empty: its stats block is RAM too); add them to its `reconnects`. */
  reconnectsForgotten = 0;
  private device: SimDevice | undefined;
  /** The device's module instance (the same across reboots: its memory is what reboots). */
  private module: ModuleInstance | undefined;
  private keeper: SessionKeeper | undefined;
  private readonly flash: Flash | undefined;
  private state: "on" | "armed" | "off" | "asleep" = "on";
  /** The armed power loss (a token: a deadline of an older one finds another here). */
  private arm: object | undefined;
  /** What the next boot carries over and restores. */
  private next: { cause: "power" | "wake"; counters: number[]; lastSeq: number; reconnects: number; atMs: number; rtc?: Uint8Array } | undefined;
  private readonly keeperClock: Clock;

  constructor(private readonly options: DevicePowerOptions) {
    const { clock } = options;
    this.keeperClock = { nowU32: () => clock.nowU32(), after: (ms, run) => clock.after(ms, run), clearTimer: (id) => clock.clearTimer(id as number) };
    if (options.persist) {
      const flash = new Flash((image, slot, whole) => {
        flash.covers[slot] = { image: sequenceOf(image), readings: this.device?.appStats().sequence ?? 0, atMs: clock.now() };
        if (whole) this.figures.saves++;
      });
      this.flash = flash;
    }
  }

  /** The device these faults act on (once it is created). */
  attach(device: SimDevice): void {
    this.device = device;
  }

  /** `DeviceOptions.onBoot`: restores what survives (flash or RTC), carries the counters, and after a power loss tells the ledger what was lost. */
  booted(module: ModuleInstance): void {
    this.module = module;
    const boot = this.next;
    this.next = undefined;
    const now = this.options.clock.nowU32();
    let status: RestoreStatus;
    if (this.flash !== undefined) {
      const loaded = boot?.cause === "wake" ? boot.rtc : this.flash.slots;
      const fail = (error: Error): never => {
        throw error;
      };
      ({ keeper: this.keeper, restoreStatus: status } = SessionKeeper.resume(module, this.flash, loaded, "change", this.keeperClock, fail, () => this.saved()));
    } else if (boot?.cause === "wake") {
      status = restore(module, { a: boot.rtc }, now);
    }
    if (boot === undefined) return;
    carry(module, boot.counters);
    // the ledger dates this boot's readings by their uptime, which a restored image brings back
    this.options.ledger.rebooted(this.options.id, this.options.clock.now() - (module.appStats()?.uptimeSec ?? 0) * 1000, boot.lastSeq + 1);
    if (status !== "OK") this.reconnectsForgotten += boot.reconnects;
    if (boot.cause === "wake") {
      if (status !== "OK") this.figures.wakeRefused++;
      return;
    }
    const lost = formatVirtualTime(boot.atMs);
    if (status === "OK") {
      this.figures.restored++;
      const image = sequenceAt(module);
      const { a, b } = this.flash?.covers ?? {};
      const cover = a?.image === image ? a : b?.image === image ? b : undefined;
      const covered = cover?.readings ?? 0;
      const when = cover === undefined ? "" : `, saved at ${formatVirtualTime(cover.atMs)}`;
      this.options.ledger.powerLost(this.options.id, covered + 1, boot.lastSeq, `accepted after the image restored (image ${image}${when}) was saved; lost with the RAM at the power loss at ${lost}`);
      return;
    }
    this.figures.startedEmpty++;
    const why = this.flash === undefined
      ? `accepted before the power loss at ${lost}, with no persistence: lost with the RAM`
      : `accepted before the power loss at ${lost}, with no complete save to restore: lost with the RAM`;
    this.options.ledger.powerLost(this.options.id, 1, boot.lastSeq, why);
  }

  /** `LinkHandlers.onSettled`: with persistence, a save when the module's generation moved. */
  settled(): void {
    this.keeper?.check();
  }

  /** The power goes now, or with persistence during the `during.save`-th save from now (within DURING_SAVE_WITHIN_MS); nothing when the device is not running. */
  powerLoss(offMs: number, during: { save: number; cut: number } | undefined, lost: (detail: string) => void): void {
    if (this.state !== "on" || this.device?.running !== true) return;
    const { flash } = this;
    if (during === undefined || flash === undefined) {
      this.lose(offMs, flash === undefined ? "no persistence" : "between saves", lost);
      return;
    }
    this.state = "armed";
    const arm = {};
    this.arm = arm;
    flash.cut = { skip: during.save - 1, fraction: during.cut, then: (detail) => this.lose(offMs, detail, lost, true) };
    this.options.clock.after(DURING_SAVE_WITHIN_MS, () => {
      if (this.arm !== arm || this.state !== "armed") return;
      flash.cut = undefined;
      this.lose(offMs, `between saves (no save came within ${DURING_SAVE_WITHIN_MS / 60_000} min)`, lost);
    });
  }

  /** A deep-sleep cycle of `sleepMs` from now. Returns false (and does nothing) when the device is not running, or a power loss waits for a save. */
  deepSleep(sleepMs: number): boolean {
    const device = this.device;
    if (this.state !== "on" || device?.running !== true) return false;
    const counters = countersOf(device);
    this.options.monitor.poweredOff();
    device.stop();
    let rtc = this.flash?.last;
    if (rtc === undefined && this.module !== undefined) rtc = prepared(this.module);
    this.next = { cause: "wake", counters, lastSeq: counters[0], reconnects: device.stats().reconnects, atMs: this.options.clock.now(), rtc };
    this.keeper = undefined;
    this.state = "asleep";
    this.figures.deepSleeps++;
    this.options.clock.after(sleepMs, () => this.wake());
    return true;
  }

  // ---- helpers ---------------------------------------------------------------------

  /** The power goes now: the RAM is lost, the device boots again after `offMs`. */
  private lose(offMs: number, detail: string, lost: (detail: string) => void, cutSave = false): void {
    const device = this.device;
    if (device === undefined) return;
    const counters = countersOf(device);
    this.next = { cause: "power", counters, lastSeq: counters[0], reconnects: device.stats().reconnects, atMs: this.options.clock.now() };
    this.arm = undefined;
    this.state = "off";
    this.keeper = undefined;
    this.options.monitor.poweredOff();
    device.powerOff();
    this.figures.powerLosses++;
    if (cutSave) this.figures.duringSave++;
    lost(`${detail}; off ${(offMs / 1000).toFixed(1)} s`);
    this.options.clock.after(offMs, () => this.wake());
  }

  /** Power (back) on: a reboot (`booted` tells the ledger how to date its readings). */
  private wake(): void {
    const device = this.device;
    if (device === undefined || this.next === undefined) return;
    const now = this.options.clock.now();
    this.state = "on";
    this.options.monitor.started(now);
    device.reboot();
  }

  /** After a save: the module may send a PUBREL it held for it. */
  private saved(): void {
    this.options.clock.after(0, () => this.device?.pump());
  }
}

/** The carried counters of the app stats block now (sequence first). */
function countersOf(device: SimDevice): number[] {
  const app = device.appStats();
  return [app.sequence, app.readings, app.published, app.suppressed, app.rejected];
}

/** Writes the carried counters into the app stats block of the module just booted. */
function carry(module: ModuleInstance, counters: readonly number[]): void {
  const firmware = module.firmware;
  if (firmware === undefined) return;
  const view = new DataView(module.exports.memory.buffer);
  const base = firmware.appStatsBuffer();
  CARRIED_FIELDS.forEach((field, i) => view.setUint32(base + field * 4, counters[i], true));
}

/** The block made an image by the module (no flash: the deep sleep's RTC copy). */
function prepared(module: ModuleInstance): Uint8Array {
  module.exports.persistPrepare();
  return blockImage(module);
}

/** The sequence number in an image's header. */
function sequenceOf(image: Uint8Array): number {
  return new DataView(image.buffer, image.byteOffset, image.byteLength).getUint32(SEQUENCE_OFFSET, true) & 0x7fffffff;
}

/** The sequence number of the image the module restored (its block's header). */
function sequenceAt(module: ModuleInstance): number {
  return sequenceOf(module.bytes(module.exports.persistBase(), SEQUENCE_OFFSET + 4));
}
