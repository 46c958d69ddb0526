/**
 * Applies a fault plan (host/soak/faults.ts) on the virtual clock: to each device's
 * link (its {@link NetworkLink}, or with `--real` its fault proxy), to its power
 * (host/soak/power.ts), to the broker (aedes's
 * {@link SoakBroker}, or Mosquitto) and to the clock itself; keeps the log
 * and counts of what was injected, and answers the monitors' questions about health
 * (since when nothing was wrong with a device's network and the broker) and about clock
 * jumps (did the firmware's counter jump, and what reading time an `uptime_s` stands for).
 *
 * @example
 * const injector = new FaultInjector({ clock, links, broker, deviceIds, onBrokerRestart });
 * injector.schedule(planFaults({ spec, deviceIds, durationMs, random }));
 */
import type { VirtualClock } from "../sim/clock.ts";
import type { LinkChange } from "../sim/network.ts";
import { FAULT_KINDS, type FaultKind, type FaultStep } from "./faults.ts";
import type { HealthSource } from "./monitor.ts";
import { readSeq, telemetryDevice } from "./telemetry.ts";

/** One injected fault, for the report. */
export interface FaultRecord {
  atMs: number;
  kind: FaultKind;
  /** The device id (per-device kinds). */
  device?: string;
  durationMs?: number;
  detail?: string;
  /** `lose`: the seq that was dropped. */
  seq?: number;
}

/** What a per-device fault acts on: a {@link NetworkLink}, or (`--real`) a device's fault proxy. */
export interface FaultLink {
  /** Applies a `drop`, `outage` (reset or blackhole), `sendBuffer` or `latency` change now. */
  apply(change: LinkChange): void;
}

/** What a `restart` acts on: aedes's {@link SoakBroker}, or (`--real`) Mosquitto. */
export interface RestartableBroker {
  /** Stops the broker now and starts it again after `downtimeMs`, with its sessions or without. */
  restart(options: { keepSessions: boolean; downtimeMs?: number }): void;
}

/** What `power-loss` and `deep-sleep` act on: a device's power (host/soak/power.ts). A step that finds the device off or asleep does nothing. */
export interface PowerSwitch {
  /** The power goes now (or during the `save`-th save from now, its write cut after `cut` of the slot) for `offMs`; `lost` is told what it cut when it goes. */
  powerLoss(offMs: number, during: { save: number; cut: number } | undefined, lost: (detail: string) => void): void;
  /** A deep-sleep cycle of `sleepMs` now; returns false when the device was not awake. */
  deepSleep(sleepMs: number): boolean;
}

/** What the injector acts on. */
export interface InjectorTargets {
  clock: VirtualClock;
  /** Each device's link, by device index. */
  links: readonly FaultLink[];
  deviceIds: readonly string[];
  /** Each device's power, by device index (none: the power faults do nothing). */
  power?: readonly PowerSwitch[];
  broker: RestartableBroker;
  /** Called right after the broker went down for a restart. */
  onBrokerRestart?(keepSessions: boolean, atMs: number): void;
  /** Called right after a clock jump (the run tells the other worlds on the same clock: {@link FaultInjector.noteJump}). */
  onJump?(atMs: number, deltaMs: number): void;
  /** The link settings a fault's end restores (default: a NetworkLink's, 20 ms and 5744 B). */
  baseline?: Partial<{ latencyMs: number; sendBufferBytes: number }>;
}

/** The firmware's clock moved by `deltaMs` at `atMs`. */
interface Jump {
  atMs: number;
  deltaMs: number;
}

/** Log entries kept in full (the counts cover the rest). */
const LOG_LIMIT = 5000;

/** Applies faults and tracks what they did to health and time. */
export class FaultInjector implements HealthSource {
  readonly counts: Record<FaultKind, number> = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  readonly log: FaultRecord[] = [];
  /** Broker restarts as they happened (kind and time), for the plots. */
  readonly restarts: { atMs: number; keepSessions: boolean }[] = [];
  private readonly jumps: Jump[] = [];
  private readonly troubleUntil: number[];
  private globalTroubleUntil = 0;
  private readonly active: { partial: number; latency: number }[];
  private readonly pendingLoss = { forward: new Set<string>(), publish: new Set<string>() };
  private readonly baseline: { latencyMs: number; sendBufferBytes: number };

  constructor(private readonly targets: InjectorTargets) {
    this.troubleUntil = targets.deviceIds.map(() => 0);
    this.active = targets.deviceIds.map(() => ({ partial: 0, latency: 0 }));
    this.baseline = { latencyMs: 20, sendBufferBytes: 5744, ...targets.baseline };
  }

  /** Applies a step now, to each of `devices` (indexes; undefined for a broker- or clock-wide step). */
  inject(step: Omit<FaultStep, "device">, devices: readonly (number | undefined)[]): void {
    for (const device of devices) this.apply({ ...step, device });
  }

  /** Sets a timer for every step. */
  schedule(plan: readonly FaultStep[]): void {
    for (const step of plan) this.targets.clock.setTimer(step.atMs, () => this.apply(step));
  }

  // ---- HealthSource -------------------------------------------------------------------

  healthySince(deviceIndex: number): number {
    return Math.max(this.troubleUntil[deviceIndex], this.globalTroubleUntil);
  }

  jumpedBetween(fromMs: number, toMs: number): boolean {
    return this.jumps.some((jump) => jump.atMs > fromMs && jump.atMs <= toMs);
  }

  /** A jump of the clock made elsewhere (another world's injector on the same clock): counts for health and reading times. */
  noteJump(atMs: number, deltaMs: number): void {
    this.jumps.push({ atMs, deltaMs });
    this.globalTroubleUntil = Math.max(this.globalTroubleUntil, atMs);
  }

  /** The sum of the clock jumps up to `atMs`. */
  jumpTotal(atMs = Infinity): number {
    let total = 0;
    for (const jump of this.jumps) if (jump.atMs <= atMs) total += jump.deltaMs;
    return total;
  }

  /**
   * The virtual time at which a device started at `startMs` read `uptimeMs` on its own
   * clock (which clock jumps moved); undefined when a backward jump makes it ambiguous.
   */
  readingTime(startMs: number, uptimeMs: number): number | undefined {
    let shift = 0;
    let from = startMs;
    for (const jump of this.jumps) {
      if (jump.atMs <= startMs) continue;
      if (jump.deltaMs < 0) return undefined;
      // before this jump, uptime ran with virtual time (shifted by the earlier jumps)
      const candidate = startMs + uptimeMs - shift;
      if (candidate < jump.atMs) return Math.max(from, candidate);
      shift += jump.deltaMs;
      from = jump.atMs;
    }
    return Math.max(from, startMs + uptimeMs - shift);
  }

  /**
   * The broker's forward decision for the test-only `lose` fault: false (drop) for the
   * first telemetry message of a device with a pending loss, on its way to `subscriberId`.
   */
  forward(subscriberId: string, observerId: string, topic: string, payload: Buffer): boolean {
    if (this.pendingLoss.forward.size === 0 || subscriberId !== observerId) return true;
    return !this.lose("forward", topic, payload, "dropped by the broker on its way to the observer");
  }

  /** The broker's admit decision for the test-only `lose` fault at the "publish" stage. */
  admit(topic: string, payload: Buffer): boolean {
    if (this.pendingLoss.publish.size === 0) return true;
    return !this.lose("publish", topic, payload, "acknowledged by the broker, then dropped before it was published");
  }

  /** True (and recorded) when the message is a pending loss's. */
  private lose(stage: "forward" | "publish", topic: string, payload: Buffer, detail: string): boolean {
    const deviceId = telemetryDevice(topic);
    if (deviceId === undefined || !this.pendingLoss[stage].delete(deviceId)) return false;
    this.record({ atMs: this.targets.clock.now(), kind: "lose", device: deviceId, seq: readSeq(payload), detail });
    return true;
  }

  // ---- applying -------------------------------------------------------------------------

  private apply(step: FaultStep): void {
    const now = this.targets.clock.now();
    const { device } = step;
    const link = device === undefined ? undefined : this.targets.links[device];
    const id = device === undefined ? undefined : this.targets.deviceIds[device];
    const duration = step.durationMs ?? 0;
    switch (step.kind) {
      case "drop":
        link?.apply({ do: "drop" });
        this.trouble(device, now);
        this.record({ atMs: now, kind: "drop", device: id });
        return;
      case "outage":
      case "long-outage":
      case "blackhole":
        link?.apply({ do: "outage", durationMs: duration, mode: step.kind === "blackhole" ? "blackhole" : "reset" });
        this.trouble(device, now + duration);
        this.record({ atMs: now, kind: step.kind, device: id, durationMs: duration });
        return;
      case "partial":
        this.temporary(device, "partial", duration, () => link?.apply({ do: "sendBuffer", bytes: step.bytes ?? 16 }), () => link?.apply({ do: "sendBuffer", bytes: this.baseline.sendBufferBytes }));
        this.record({ atMs: now, kind: "partial", device: id, durationMs: duration, detail: `send buffer ${step.bytes ?? 16} B` });
        return;
      case "latency":
        this.temporary(device, "latency", duration, () => link?.apply({ do: "latency", ms: step.latencyMs ?? 2000 }), () => link?.apply({ do: "latency", ms: this.baseline.latencyMs }));
        this.record({ atMs: now, kind: "latency", device: id, durationMs: duration, detail: `${step.latencyMs ?? 2000} ms each way` });
        return;
      case "restart": {
        const keepSessions = step.keepSessions ?? true;
        const downtimeMs = step.downtimeMs ?? 0;
        this.targets.broker.restart({ keepSessions, downtimeMs });
        this.targets.onBrokerRestart?.(keepSessions, now);
        this.globalTroubleUntil = Math.max(this.globalTroubleUntil, now + downtimeMs);
        this.restarts.push({ atMs: now, keepSessions });
        this.record({ atMs: now, kind: "restart", device: id, detail: `${keepSessions ? "keeping" : "losing"} sessions, down ${(downtimeMs / 1000).toFixed(1)} s` });
        return;
      }
      case "jump": {
        const delta = step.jumpMs ?? 0;
        this.targets.clock.jump(delta);
        this.noteJump(now, delta);
        this.targets.onJump?.(now, delta);
        this.record({ atMs: now, kind: "jump", detail: `${delta >= 0 ? "+" : ""}${(delta / 1000).toFixed(1)} s` });
        return;
      }
      case "power-loss":
        if (device === undefined) return;
        this.targets.power?.[device]?.powerLoss(duration, step.duringSave === true ? { save: step.save ?? 1, cut: step.cut ?? 0.5 } : undefined, (detail) => {
          const at = this.targets.clock.now();
          this.trouble(device, at + duration);
          this.record({ atMs: at, kind: "power-loss", device: id, durationMs: duration, detail });
        });
        return;
      case "deep-sleep":
        if (device === undefined || this.targets.power?.[device]?.deepSleep(duration) !== true) return;
        this.trouble(device, now + duration);
        this.record({ atMs: now, kind: "deep-sleep", device: id, durationMs: duration });
        return;
      case "lose":
        if (id !== undefined) this.pendingLoss[step.stage ?? "forward"].add(id);
        return; // recorded when the broker drops the message
    }
  }

  /** A fault that changes a link setting for `duration`; overlapping ones restore the baseline when the last ends. */
  private temporary(device: number | undefined, kind: "partial" | "latency", duration: number, begin: () => void, end: () => void): void {
    if (device === undefined) return;
    const now = this.targets.clock.now();
    this.active[device][kind]++;
    begin();
    this.trouble(device, now + duration);
    this.targets.clock.setTimer(now + duration, () => {
      if (--this.active[device][kind] === 0) end();
    });
  }

  private trouble(device: number | undefined, untilMs: number): void {
    if (device === undefined) this.globalTroubleUntil = Math.max(this.globalTroubleUntil, untilMs);
    else this.troubleUntil[device] = Math.max(this.troubleUntil[device], untilMs);
  }

  private record(entry: FaultRecord): void {
    this.counts[entry.kind]++;
    if (this.log.length < LOG_LIMIT) this.log.push(entry);
  }
}
