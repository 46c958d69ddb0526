/**
 * Keeping the module's session across process restarts and power loss: the storage side
 * of boards/ABI.md "Persistent state". At load, the saved slots are checked by the module
 * (`persistCheck`), the newest good one is copied back and restored before the first
 * CONNECT; afterwards, whenever `persistGeneration()` moved, the block is made an image
 * (`persistPrepare`) and written to the slot its sequence number names. Storage plumbing
 * only: which bytes are a session, and whether one is good, is the module's business.
 *
 * @example
 * const client = await connect("mqtt://broker", { clientId: "meter-7", clean: false, persist: "meter-7.state" });
 * client.restoreStatus; // "OK" when the saved session came back, undefined when there was none
 */
import type { Clock } from "./clock.ts";
import type { ModuleInstance } from "./module.ts";
import { openStateFile } from "./platform.ts";
import { type StatusName, Status, WasmqttError, statusName } from "./status.ts";

/** The two save slots (boards/ABI.md, "Two slots"): an image of sequence n belongs in `n & 1`, A even, B odd. */
export type SlotName = "a" | "b";

/** What a store holds: either slot may be missing. */
export interface SavedSlots {
  a?: Uint8Array;
  b?: Uint8Array;
}

/**
 * Where the session is kept: `load` returns both slots (or one image, taken as slot A,
 * for a store that makes its own writes atomic; undefined when nothing was saved),
 * `save` writes one image to one slot. For QoS 2 to stay exactly once across a crash,
 * `save` must have made the bytes durable when it returns (the file store does: fsync);
 * a Promise it returns is awaited only for its error.
 */
export interface SessionStore {
  load(): SavedSlots | Uint8Array | undefined | Promise<SavedSlots | Uint8Array | undefined>;
  save(image: Uint8Array, slot: SlotName): void | Promise<void>;
  /** Releases what the store holds open (the file store's descriptor); called by `end()`. */
  close?(): void;
}

/** The `persist` option: a file path (one file, slot A then slot B, fsynced) or a store. */
export type PersistOption = string | SessionStore;

/** When a save follows a change: at once ("change", the default), or at most once per this many ms. */
export type PersistEvery = "change" | number;

/** What the last restore found: "OK", the PERSIST_* code of a refused image, or undefined when nothing was saved. */
export type RestoreStatus = StatusName | undefined;

/** The session of one module instance, kept in one store. */
export class SessionKeeper {
  private readonly module: ModuleInstance;
  private readonly store: SessionStore;
  private readonly every: PersistEvery;
  private readonly clock: Clock;
  private readonly onError: (error: WasmqttError) => void;
  private readonly onSaved: () => void;
  private savedGeneration: number;
  private timer: unknown;
  private timerSet = false;
  private closed = false;

  private constructor(module: ModuleInstance, store: SessionStore, every: PersistEvery, clock: Clock, onError: (error: WasmqttError) => void, onSaved: () => void) {
    this.module = module;
    this.store = store;
    this.every = every;
    this.clock = clock;
    this.onError = onError;
    this.onSaved = onSaved;
    this.savedGeneration = module.exports.persistGeneration();
  }

  /**
   * Opens the store, restores the newest good saved session into the module (just
   * instantiated, before `configure`) and turns on `persistHoldPubrel`.
   *
   * @param onError gets a `PERSIST_SAVE_FAILED` error for each save that failed
   * @param onSaved runs after each save (the module may have PUBRELs to send now)
   * @returns the keeper and what the restore found
   */
  static async open(
    module: ModuleInstance,
    option: PersistOption,
    every: PersistEvery,
    clock: Clock,
    onError: (error: WasmqttError) => void,
    onSaved: () => void,
  ): Promise<{ keeper: SessionKeeper; restoreStatus: RestoreStatus }> {
    const store = typeof option === "string" ? openStateFile(option, module.exports.persistLength()) : option;
    return SessionKeeper.resume(module, store, await store.load(), every, clock, onError, onSaved);
  }

  /**
   * `open` for slots already loaded from `store`, synchronously (a simulated device that
   * reboots inside a virtual-time timer): restores the newest good one into the module
   * (after `init()`, before `configure`) and turns on `persistHoldPubrel`.
   *
   * @returns the keeper and what the restore found
   */
  static resume(
    module: ModuleInstance,
    store: SessionStore,
    loaded: SavedSlots | Uint8Array | undefined,
    every: PersistEvery,
    clock: Clock,
    onError: (error: WasmqttError) => void,
    onSaved: () => void,
  ): { keeper: SessionKeeper; restoreStatus: RestoreStatus } {
    const slots: SavedSlots = loaded instanceof Uint8Array ? { a: loaded } : (loaded ?? {});
    const restoreStatus = restore(module, slots, clock.nowU32());
    module.exports.persistHoldPubrel(1);
    return { keeper: new SessionKeeper(module, store, every, clock, onError, onSaved), restoreStatus };
  }

  /** Call after export calls: saves, or schedules a save, when the module's generation moved. */
  check(): void {
    if (this.closed || this.module.exports.persistGeneration() === this.savedGeneration) return;
    if (this.every === "change") {
      this.save();
      return;
    }
    if (this.timerSet) return;
    this.timerSet = true;
    this.timer = this.clock.after(this.every, () => {
      this.timerSet = false;
      if (!this.closed && this.module.exports.persistGeneration() !== this.savedGeneration) this.save();
    });
  }

  /** A last save of what changed since the previous one, then the store closed; nothing is saved afterwards. */
  close(): void {
    if (this.closed) return;
    if (this.timerSet) this.clock.clearTimer(this.timer);
    this.timerSet = false;
    if (this.module.exports.persistGeneration() !== this.savedGeneration) this.save();
    this.closed = true;
    this.store.close?.();
  }

  /** Makes the block an image and writes it to its slot. */
  private save(): void {
    const { exports } = this.module;
    this.savedGeneration = exports.persistGeneration();
    const slot = slotOf(exports.persistPrepare());
    const image = blockImage(this.module);
    try {
      const written = this.store.save(image, slot);
      if (written instanceof Promise) written.catch((error: unknown) => this.onError(saveError(error, slot)));
    } catch (error) {
      this.onError(saveError(error, slot));
    }
    this.onSaved();
  }
}

/**
 * Checks each slot in the module, restores the newer of those that check, or leaves
 * the module as after `init()`. Returns "OK", the PERSIST_* code of the refused image
 * (slot A's when both were refused), or undefined when no slot holds anything. Also what
 * a simulated board does when it wakes from deep sleep (host/sim/device.ts).
 */
export function restore(module: ModuleInstance, slots: SavedSlots, nowMs: number): RestoreStatus {
  const { exports } = module;
  const base = exports.persistBase();
  const length = exports.persistLength();
  const block = module.bytes(base, length);
  const place = (image: Uint8Array) => {
    block.fill(0);
    block.set(image.subarray(0, length));
  };
  let best: { image: Uint8Array; sequence: number } | undefined;
  let refusal: number | undefined;
  for (const image of [slots.a, slots.b]) {
    if (image === undefined || image.length === 0) continue;
    place(image);
    const checked = exports.persistCheck(base, length);
    if (checked < 0) refusal ??= checked;
    else if (best === undefined || newer(checked, best.sequence)) best = { image, sequence: checked };
  }
  if (best === undefined) {
    exports.init();
    return refusal === undefined ? undefined : (statusName(refusal) as StatusName);
  }
  place(best.image);
  const status = exports.persistRestore(nowMs);
  return status === Status.OK ? "OK" : (statusName(status) as StatusName);
}

/** The slot an image of this sequence number belongs in (boards/ABI.md, "Two slots"). */
export function slotOf(sequence: number): SlotName {
  return (sequence & 1) === 0 ? "a" : "b";
}

/** A copy of the module's persistent block: an image once `persistPrepare` (or the firmware's SLEEP event) made it one. */
export function blockImage(module: ModuleInstance): Uint8Array {
  const { exports } = module;
  return Uint8Array.from(module.bytes(exports.persistBase(), exports.persistLength()));
}

/** True when sequence number `a` is newer than `b` (31-bit serial numbers, boards/ABI.md "Two slots"). */
function newer(a: number, b: number): boolean {
  const ahead = (a - b) & 0x7fffffff;
  return ahead !== 0 && ahead < 0x40000000;
}

function saveError(cause: unknown, slot: SlotName): WasmqttError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new WasmqttError("PERSIST_SAVE_FAILED", `saving the session to slot ${slot} failed: ${why}`, { cause });
}
