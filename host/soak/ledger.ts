/**
 * The delivery ledger: for every device, which `seq`s the broker received and forwarded
 * and which the observer received — how often, first when (virtual second), in what
 * order — the evidence behind the delivery and order invariants.
 *
 * A reading is the module's to deliver from the moment it accepts it (`seq` 1 …
 * `appStats.sequence`) until the broker acknowledges it. After that, only a broker that
 * loses its state can lose it: a restart without sessions throws away the QoS 2
 * PUBLISHes it held between PUBREC and PUBREL, the messages it had forwarded that the
 * observer had not received yet, and every message published before the observer's
 * SUBSCRIBE was stored again. Those seqs are *excused* — counted as lost with the broker's
 * state, and only those: the ledger knows each one from the broker's own hooks.
 *
 * A device that loses power (the soak's `power-loss` fault, host/soak/power.ts) loses
 * what its RAM held: with persistence, the readings accepted after the image it restores
 * was saved; without, every reading of the boot the loss ended. Those seqs are excused
 * too — counted as lost to power loss, each with its why — unless the broker had
 * forwarded them already (then they are not the device's to lose). Every other reading,
 * those a completed save covered included, must be delivered.
 *
 * Against Mosquitto (`--real`) there are no broker hooks: nothing is excused, and the
 * checks rest on the observer alone (`brokerHooks: false` words the messages that way).
 *
 * Checked as messages arrive: QoS 2 duplicates at the observer, and order (a first
 * delivery with a smaller seq than an earlier first delivery), at the broker and at the
 * observer. Checked at the end ({@link DeliveryLedger.finalCheck}): every seq up to the
 * checkpoint taken shortly before the end was delivered or excused; the firmware's own
 * accounting (readings = published + suppressed + refused; published = sequence) holds.
 *
 * @example
 * const ledger = new DeliveryLedger({ devices, expectedReadings: 8640, invariants, now: () => clock.now() });
 * broker hook:   ledger.brokerForwarded("nodemcu-v3-1", 42);
 * observer hook: ledger.observed("nodemcu-v3-1", 42, 420);
 */
import { formatVirtualTime } from "../sim/view.ts";
import type { AppStats } from "../module.ts";
import type { Invariants } from "./invariants.ts";
import { type LatencyFigures, LatencyRecorder, latencyFigures } from "./latency.ts";

/** A device as the ledger knows it. */
export interface LedgerDevice {
  id: string;
  qos: 0 | 1 | 2;
}

/** What {@link DeliveryLedger} needs. */
export interface LedgerOptions {
  devices: readonly LedgerDevice[];
  /** Readings each device is expected to take: the tables are allocated once at this size (they grow if needed). */
  expectedReadings: number;
  invariants: Invariants;
  /** Virtual ms now. */
  now(): number;
  /**
   * The virtual time at which a device with this start time took the reading stamped
   * `uptimeMs` (its own clock, shifted by clock jumps); undefined when unknown.
   */
  readingTime(startMs: number, uptimeMs: number): number | undefined;
  /** False when the broker reports nothing (Mosquitto): messages then speak of the observer only. Default true. */
  brokerHooks?: boolean;
  /** Where delivery latencies go (default: a recorder of the ledger's own; several ledgers may share one). */
  latency?: LatencyRecorder;
}

/** Delivery figures over all devices. */
export interface DeliveryTotals {
  /** Readings the modules accepted (sum of `sequence`). */
  accepted: number;
  /** Readings refused with OUTBOX_FULL (sum of `rejected`). */
  refused: number;
  /** Distinct seqs the observer received. */
  delivered: number;
  /** Receptions beyond the first. */
  duplicates: number;
  /** Seqs accepted after the final checkpoint and not delivered by the end (still in flight). */
  inFlightAtEnd: number;
  /** Seqs lost with the broker's state (restart without sessions) … */
  lostWithBrokerState: number;
  /** … and how, for the first of them. */
  lostWithBrokerStateDetail: { device: string; seq: number; why: string }[];
  /** Seqs lost to power loss (accepted but not in the image the device restored, or with no persistence at all) … */
  lostToPowerLoss: number;
  /** … and how, for the first of them. */
  lostToPowerLossDetail: { device: string; seq: number; why: string }[];
  /** Seqs the broker forwarded more than once. */
  forwardedTwice: number;
  /** Telemetry messages whose seq could not be read. */
  unreadable: number;
}

/** Excused losses listed in full (the count covers the rest). */
const DETAILS_KEPT = 50;
/** Sequence samples kept per device, for "accepted between … and …". */
const SEQUENCE_SAMPLES = 512;

/** One device's records. */
class DeviceRecord {
  /** Receptions at the observer, per seq (saturating at 255). */
  observed: Uint8Array;
  /** Virtual second of the first reception at the observer, per seq (0: none yet). */
  firstObservedSec: Uint32Array;
  /** Forwards by the broker, per seq (saturating at 255). */
  forwarded: Uint8Array;
  /** Seqs forwarded by the broker that the observer has not received: seq → virtual ms forwarded. */
  readonly transit = new Map<number, number>();
  /** Seqs the broker received but has not forwarded: seq → virtual ms first received. */
  readonly received = new Map<number, number>();
  /** Seqs lost with the broker's state: seq → why. */
  readonly excused = new Map<number, string>();
  /** Seqs lost with the device's RAM at power losses: ranges, each with its why (the first that holds a seq names it). */
  readonly powerExcused: { from: number; to: number; why: string }[] = [];
  /** The device's boots after the first (reboots): the first seq each could accept and when it started, for reading times. */
  readonly boots: { firstSeq: number; startMs: number }[] = [];
  lastFirstObserved = 0;
  lastFirstForwarded = 0;
  delivered = 0;
  duplicates = 0;
  forwardedTwice = 0;
  maxObserved = 0;
  startMs: number | undefined;
  checkpoint: number | undefined;
  readonly sampleTimes = new Float64Array(SEQUENCE_SAMPLES);
  readonly sampleSeqs = new Float64Array(SEQUENCE_SAMPLES);
  samples = 0;

  constructor(
    readonly index: number,
    readonly id: string,
    readonly qos: 0 | 1 | 2,
    size: number,
  ) {
    this.observed = new Uint8Array(size);
    this.firstObservedSec = new Uint32Array(size);
    this.forwarded = new Uint8Array(size);
  }

  /** Makes the tables hold `seq`. */
  reserve(seq: number): void {
    if (seq < this.observed.length) return;
    const size = Math.max(seq + 1, this.observed.length * 2);
    const grow = <T extends Uint8Array | Uint32Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.observed = grow(this.observed, new Uint8Array(size));
    this.firstObservedSec = grow(this.firstObservedSec, new Uint32Array(size));
    this.forwarded = grow(this.forwarded, new Uint8Array(size));
  }
}

/** Per-device delivery records and the checks on them. */
export class DeliveryLedger {
  private readonly records: DeviceRecord[];
  private readonly byId = new Map<string, DeviceRecord>();
  private readonly invariants: Invariants;
  /** The observer's subscription at the broker: not stored yet, stored, or lost in a restart without sessions. */
  private observerSubscription: "never" | "stored" | "lost" = "never";
  private unreadable = 0;
  private readonly lostWithBrokerState: { device: string; seq: number; why: string }[] = [];
  private lostWithBrokerStateCount = 0;
  private readonly lostToPowerLoss: { device: string; seq: number; why: string }[] = [];
  private lostToPowerLossCount = 0;
  /** Every delivery latency. */
  readonly latency: LatencyRecorder;
  /** Latency since the last `takeWindow()`: for the plot. */
  private window = { count: 0, sum: 0, max: 0 };

  constructor(private readonly options: LedgerOptions) {
    this.invariants = options.invariants;
    this.latency = options.latency ?? new LatencyRecorder();
    const size = Math.max(16, Math.ceil(options.expectedReadings * 1.05) + 16);
    this.records = options.devices.map((device, index) => new DeviceRecord(index, device.id, device.qos, size));
    for (const record of this.records) this.byId.set(record.id, record);
  }

  /** The device started (its uptime counts from here). */
  started(deviceId: string, atMs: number): void {
    const record = this.byId.get(deviceId);
    if (record !== undefined) record.startMs = atMs;
  }

  /** The device booted again (after a power loss or a deep sleep) with its uptime zero at `atMs` (a restored image brings an uptime back); its readings from `firstSeq` on are dated by that. */
  rebooted(deviceId: string, atMs: number, firstSeq: number): void {
    this.byId.get(deviceId)?.boots.push({ firstSeq, startMs: atMs });
  }

  /**
   * The device lost power: seqs `fromSeq` … `toSeq` went with its RAM (`why` says how).
   * Each is excused, counted at the end when neither delivered nor forwarded by the broker.
   */
  powerLost(deviceId: string, fromSeq: number, toSeq: number, why: string): void {
    const record = this.byId.get(deviceId);
    if (record === undefined) return;
    if (fromSeq <= toSeq) record.powerExcused.push({ from: fromSeq, to: toSeq, why });
  }

  /** The broker stored the observer's SUBSCRIBE. */
  observerSubscribed(): void {
    this.observerSubscription = "stored";
  }

  /** Broker hook: a PUBLISH of `seq` of `deviceId` arrived (resends too). */
  brokerReceived(deviceId: string, seq: number): void {
    const record = this.byId.get(deviceId);
    if (record === undefined || seq < 1) return;
    record.reserve(seq);
    if (record.forwarded[seq] === 0 && !record.received.has(seq)) record.received.set(seq, this.options.now());
  }

  /** The device's record with room for `seq`; undefined for an unknown device or an unreadable seq (counted). */
  private recordOf(deviceId: string, seq: number): DeviceRecord | undefined {
    const record = this.byId.get(deviceId);
    if (record === undefined) return undefined;
    if (seq < 1) {
      this.unreadable++;
      return undefined;
    }
    record.reserve(seq);
    return record;
  }

  /** Broker hook: it forwarded `seq` of `deviceId` (-1: unreadable). */
  brokerForwarded(deviceId: string, seq: number): void {
    const record = this.recordOf(deviceId, seq);
    if (record === undefined) return;
    const now = this.options.now();
    if (record.forwarded[seq] === 0) {
      if (seq < record.lastFirstForwarded) {
        this.invariants.violate("order", record.id, now, `the broker received seq ${seq} for the first time after seq ${record.lastFirstForwarded}: the module sent them out of order`);
      }
      record.lastFirstForwarded = Math.max(record.lastFirstForwarded, seq);
      if (this.observerSubscription === "lost") this.excuse(record, seq, `forwarded at ${formatVirtualTime(now)} while the broker had no subscription of the observer (restarted without sessions)`);
    } else {
      record.forwardedTwice++;
    }
    if (record.forwarded[seq] < 255) record.forwarded[seq]++;
    record.received.delete(seq);
    if (record.observed[seq] === 0 && !record.transit.has(seq)) record.transit.set(seq, now);
  }

  /** Observer hook: it received `seq` of `deviceId`, stamped `uptimeSec`. */
  observed(deviceId: string, seq: number, uptimeSec: number | undefined): void {
    const record = this.recordOf(deviceId, seq);
    if (record === undefined) return;
    const now = this.options.now();
    const count = record.observed[seq];
    if (count < 255) record.observed[seq]++;
    if (count > 0) {
      record.duplicates++;
      if (record.qos === 2) {
        const forwarded = record.forwarded[seq];
        const how = this.options.brokerHooks === false
          ? ""
          : ` (the broker forwarded it ${forwarded === 1 ? "once: the observer got it again from the broker's redelivery" : `${forwarded} times: the module's PUBLISH or PUBREL reached it as a new message`})`;
        this.invariants.violate("delivery", record.id, now, `QoS 2 reading seq ${seq} was delivered ${count + 1} times, first at ${formatVirtualTime(record.firstObservedSec[seq] * 1000)}${how}`);
      }
      return;
    }
    record.firstObservedSec[seq] = Math.floor(now / 1000);
    if (seq < record.lastFirstObserved) {
      this.invariants.violate("order", record.id, now, `the observer received seq ${seq} for the first time after seq ${record.lastFirstObserved}${seq < record.lastFirstForwarded && record.forwarded[seq] > 0 ? " (the broker had them in order)" : ""}`);
    }
    record.lastFirstObserved = Math.max(record.lastFirstObserved, seq);
    record.maxObserved = Math.max(record.maxObserved, seq);
    record.delivered++;
    record.transit.delete(seq);
    this.recordLatency(record, seq, now, uptimeSec);
  }

  /** A restart without sessions: what the broker had forwarded but the observer not received is lost with its state. */
  brokerLostState(atMs: number): void {
    const why = `forwarded by the broker but lost with its state at the restart without sessions at ${formatVirtualTime(atMs)}`;
    for (const record of this.records) {
      for (const seq of record.transit.keys()) this.excuse(record, seq, why);
      record.transit.clear();
    }
    this.observerSubscription = "lost";
  }

  /** QoS 2 PUBLISHes the broker held (PUBREC sent, no PUBREL yet) when it lost its state. */
  brokerLostHeld(held: readonly { deviceId: string; seq: number }[], atMs: number): void {
    for (const { deviceId, seq } of held) {
      const record = this.byId.get(deviceId);
      if (record !== undefined) this.excuse(record, seq, `held by the broker between PUBREC and PUBREL, lost with its state at the restart without sessions at ${formatVirtualTime(atMs)}`);
    }
  }

  /** Notes each device's `sequence` now (for "accepted between … and …" in messages). */
  sampleSequences(atMs: number, sequences: readonly number[]): void {
    for (const record of this.records) {
      const slot = record.samples % SEQUENCE_SAMPLES;
      record.sampleTimes[slot] = atMs;
      record.sampleSeqs[slot] = sequences[record.index];
      record.samples++;
    }
  }

  /** Every seq up to each device's `sequence` now must be delivered by the final check. */
  checkpoint(sequences: readonly number[]): void {
    for (const record of this.records) record.checkpoint = sequences[record.index];
  }

  /**
   * The final check (after the drain): every seq up to the checkpoint delivered or
   * excused, nothing delivered that was never accepted, and the firmware's accounting.
   * `appStats[i]` is device i's app stats now.
   */
  finalCheck(appStats: readonly AppStats[]): DeliveryTotals {
    const now = this.options.now();
    for (const record of this.records) {
      const stats = appStats[record.index];
      this.checkAccounting(record, stats, now);
      if (record.maxObserved > stats.sequence) {
        this.invariants.violate("delivery", record.id, now, `the observer received seq ${record.maxObserved}, but the device accepted only ${stats.sequence} readings`);
      }
      if (record.qos > 0) this.checkDelivered(record, Math.min(record.checkpoint ?? stats.sequence, stats.sequence));
    }
    return this.totals(appStats);
  }

  /** The delivery figures now, without checking (after `finalCheck`, excused losses included). */
  totals(appStats: readonly Pick<AppStats, "sequence" | "rejected">[]): DeliveryTotals {
    const totals: DeliveryTotals = {
      accepted: 0, refused: 0, delivered: 0, duplicates: 0, inFlightAtEnd: 0,
      lostWithBrokerState: this.lostWithBrokerStateCount, lostWithBrokerStateDetail: [...this.lostWithBrokerState],
      lostToPowerLoss: this.lostToPowerLossCount, lostToPowerLossDetail: [...this.lostToPowerLoss],
      forwardedTwice: 0, unreadable: this.unreadable,
    };
    for (const record of this.records) {
      const stats = appStats[record.index];
      totals.accepted += stats.sequence;
      totals.refused += stats.rejected;
      totals.delivered += record.delivered;
      totals.duplicates += record.duplicates;
      totals.forwardedTwice += record.forwardedTwice;
      const from = Math.min(record.checkpoint ?? stats.sequence, stats.sequence) + 1;
      for (let seq = from; seq <= stats.sequence; seq++) if (seq >= record.observed.length || record.observed[seq] === 0) totals.inFlightAtEnd++;
    }
    return totals;
  }

  /** Latency figures over the whole run (of every ledger sharing the recorder). */
  latencyFigures(): LatencyFigures {
    return latencyFigures(this.latency.data());
  }

  /** Count, sum (whole µs, exact in any order) and max of the latencies since the last call (for the plot), then starts a new window. */
  takeWindow(): { count: number; sumUs: number; maxMs: number } {
    const { count, sum, max } = this.window;
    this.window = { count: 0, sum: 0, max: 0 };
    return { count, sumUs: sum, maxMs: max };
  }

  // ---- helpers ---------------------------------------------------------------------

  private excuse(record: DeviceRecord, seq: number, why: string): void {
    if (record.excused.has(seq)) return;
    record.excused.set(seq, why);
  }

  private checkDelivered(record: DeviceRecord, until: number): void {
    for (let seq = 1; seq <= until; seq++) {
      if (seq < record.observed.length && record.observed[seq] > 0) continue;
      const why = record.excused.get(seq);
      if (why !== undefined) {
        this.lostWithBrokerStateCount++;
        if (this.lostWithBrokerState.length < DETAILS_KEPT) this.lostWithBrokerState.push({ device: record.id, seq, why });
        continue;
      }
      const forwarded = seq < record.forwarded.length ? record.forwarded[seq] : 0;
      const lostWithPower = record.powerExcused.find((range) => range.from <= seq && seq <= range.to)?.why;
      if (lostWithPower !== undefined && forwarded === 0) {
        this.lostToPowerLossCount++;
        if (this.lostToPowerLoss.length < DETAILS_KEPT) this.lostToPowerLoss.push({ device: record.id, seq, why: lostWithPower });
        continue;
      }
      const forwardedAt = record.transit.get(seq);
      const receivedAt = record.received.get(seq);
      const at = forwardedAt ?? receivedAt ?? this.acceptedBy(record, seq) ?? this.options.now();
      const where = this.options.brokerHooks === false
        ? "the observer never received it"
        : forwarded > 0
          ? `the broker forwarded it${forwarded > 1 ? ` ${forwarded} times` : ""}${forwardedAt !== undefined ? ` (first at ${formatVirtualTime(forwardedAt)})` : ""} but the observer never received it`
          : receivedAt !== undefined
            ? `the broker received it at ${formatVirtualTime(receivedAt)} but never forwarded it`
            : `the broker never received it: the module never sent it`;
      this.invariants.violate("delivery", record.id, at, `QoS ${record.qos} reading seq ${seq} (${this.acceptedWhen(record, seq)}) was never delivered: ${where}`);
    }
  }

  /** readings = published + suppressed + refused, and every published reading took the next seq. */
  private checkAccounting(record: DeviceRecord, stats: AppStats, now: number): void {
    if (stats.readings !== stats.published + stats.suppressed + stats.rejected) {
      this.invariants.violate("delivery", record.id, now, `${stats.readings} readings taken but ${stats.published} published + ${stats.suppressed} suppressed + ${stats.rejected} refused: a reading was neither accepted nor refused`);
    }
    if (stats.published !== stats.sequence) {
      this.invariants.violate("delivery", record.id, now, `${stats.published} readings published but the last seq is ${stats.sequence}`);
    }
  }

  /** The first sample time at which the device's sequence had reached `seq`. */
  private acceptedBy(record: DeviceRecord, seq: number): number | undefined {
    const [, after] = this.bracket(record, seq);
    return after;
  }

  private acceptedWhen(record: DeviceRecord, seq: number): string {
    const [before, after] = this.bracket(record, seq);
    if (before === undefined && after === undefined) return "accepted";
    if (before === undefined) return `accepted by ${formatVirtualTime(after ?? 0)}`;
    if (after === undefined) return `accepted after ${formatVirtualTime(before)}`;
    return `accepted between ${formatVirtualTime(before)} and ${formatVirtualTime(after)}`;
  }

  /** The last sample before `seq` was accepted and the first one after, from the kept samples. */
  private bracket(record: DeviceRecord, seq: number): [number | undefined, number | undefined] {
    let before: number | undefined;
    let after: number | undefined;
    const kept = Math.min(record.samples, SEQUENCE_SAMPLES);
    for (let i = 0; i < kept; i++) {
      const time = record.sampleTimes[i];
      if (record.sampleSeqs[i] < seq) before = before === undefined ? time : Math.max(before, time);
      else after = after === undefined ? time : Math.min(after, time);
    }
    return [before, after];
  }

  private recordLatency(record: DeviceRecord, seq: number, now: number, uptimeSec: number | undefined): void {
    if (uptimeSec === undefined || record.startMs === undefined) return;
    let startMs = record.startMs;
    for (let i = record.boots.length - 1; i >= 0; i--) {
      if (record.boots[i].firstSeq > seq) continue;
      startMs = record.boots[i].startMs;
      break;
    }
    const readAt = this.options.readingTime(startMs, uptimeSec * 1000);
    if (readAt === undefined || readAt > now) return;
    const ms = now - readAt;
    this.latency.add(ms);
    this.window.count++;
    this.window.sum += Math.round(ms * 1000);
    this.window.max = Math.max(this.window.max, ms);
  }
}
