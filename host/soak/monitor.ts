/**
 * Watches one device for the invariants that are about behaviour over time: it listens to
 * what the module reports (events and the packet trace, through the device's extra
 * {@link LinkHandlers}) and is asked to check at samples.
 *
 * - keepalive: while connected (CONNECTED … connection lost), the gap between two packets
 *   the module writes — or from the last one to now — never exceeds the keepalive period
 *   plus `keepaliveSlackMs` (the module sends PINGREQ after a period without traffic);
 * - backoff: every BACKOFF delay lies within the reconnect bounds, and the next attempt
 *   (RECONNECTING) comes that long after it, within `backoffSlackMs` — unless the clock
 *   jumped meanwhile;
 * - stuck: once the device's network and the broker have been healthy for `stuckBoundMs`,
 *   a QoS flow completes (PUBLISH_DONE; an outgoing PUBLISH for QoS 0) at least every
 *   `stuckBoundMs`;
 * - module memory and regions, from the stats block at samples: the memory size never
 *   changes, no high-water mark or use exceeds its capacity.
 *
 * @example
 * const monitor = new DeviceMonitor({ index: 0, id, qos: 1, settings, invariants, clock, health });
 * const device = await SimDevice.create({ …, handlers: monitor.handlers });
 * monitor.check(clock.now());                       // every virtual minute
 * monitor.sampleModule(clock.now(), device.stats(), device.memoryBytes());
 */
import type { LinkHandlers } from "../link.ts";
import { EventKind, type ModuleStats } from "../module.ts";
import { statusName } from "../status.ts";
import type { Invariants } from "./invariants.ts";

/** Bounds the monitor holds a device to. */
export interface MonitorSettings {
  keepaliveMs: number;
  /** Allowed lateness of a keepalive packet. */
  keepaliveSlackMs: number;
  reconnect: { minDelayMs: number; maxDelayMs: number };
  /** Allowed difference between a BACKOFF delay and the wait before the next attempt. */
  backoffSlackMs: number;
  /** How long a healthy device may go without progress. */
  stuckBoundMs: number;
}

/** What the monitor asks about the world around the device. */
export interface HealthSource {
  /** Virtual ms since which nothing was wrong with this device's network or the broker. */
  healthySince(deviceIndex: number): number;
  /** True when the firmware's clock jumped in (fromMs, toMs]. */
  jumpedBetween(fromMs: number, toMs: number): boolean;
}

/** Counters for the report. */
export interface MonitorCounts {
  connects: number;
  /** CONNECTION_LOST and CONNECT_FAILED by status name. */
  losses: Record<string, number>;
  backoffs: number;
  maxBackoffMs: number;
  /** The longest silence seen while connected. */
  longestSilenceMs: number;
}

/** What {@link DeviceMonitor} needs. */
export interface MonitorOptions {
  index: number;
  id: string;
  qos: 0 | 1 | 2;
  settings: MonitorSettings;
  invariants: Invariants;
  clock: { now(): number };
  health: HealthSource;
}

/** PUBLISH's packet type in the fixed header's high nibble. */
const PUBLISH = 3;

/** The time-behaviour invariants of one device. */
export class DeviceMonitor {
  readonly counts: MonitorCounts = { connects: 0, losses: {}, backoffs: 0, maxBackoffMs: 0, longestSilenceMs: 0 };
  /** Pass these to the device (`DeviceOptions.handlers`). */
  readonly handlers: LinkHandlers;
  private readonly settings: MonitorSettings;
  private connected = false;
  private lastOutAt = 0;
  private silenceReported = -1;
  private backoffAt: number | undefined;
  private backoffMs = 0;
  private progressAt = 0;
  private stuckReported = -1;
  private running = false;
  private memoryBytes: number | undefined;
  private staticBytes: number | undefined;
  private regionsReported = false;

  constructor(private readonly options: MonitorOptions) {
    this.settings = options.settings;
    this.handlers = {
      onEvent: (kind, code, arg) => this.event(kind, code, arg),
      onPacket: (direction, header) => {
        if (direction === 1) this.sent(header);
      },
    };
  }

  /** The device was powered on now. */
  started(atMs: number): void {
    this.running = true;
    this.progressAt = atMs;
    this.lastOutAt = atMs;
  }

  /** The device lost power or went to deep sleep now: nothing is expected of it until `started` again (a reboot). */
  poweredOff(): void {
    this.running = false;
    this.connected = false;
    this.backoffAt = undefined;
  }

  /** True between CONNECTED and the loss of that connection. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** Checks silence and progress at `now` (call it every virtual minute or so). */
  check(now: number): void {
    if (!this.running) return;
    if (this.connected) this.checkSilence(now - this.lastOutAt, now);
    const { stuckBoundMs } = this.settings;
    const healthyFor = now - this.options.health.healthySince(this.options.index);
    const idleFor = now - this.progressAt;
    if (healthyFor > stuckBoundMs && idleFor > stuckBoundMs && this.stuckReported !== this.progressAt) {
      this.stuckReported = this.progressAt;
      const state = this.connected ? "connected" : "not connected";
      const lastLoss = Object.keys(this.counts.losses).length === 0 ? "" : `; connections lost so far: ${formatLosses(this.counts.losses)}`;
      this.options.invariants.violate(
        "stuck", this.options.id, now,
        `no QoS flow completed for ${seconds(idleFor)} while its network and the broker were healthy for ${seconds(healthyFor)} (bound ${seconds(stuckBoundMs)}; ${state}${lastLoss})`,
      );
    }
  }

  /** Checks the module's memory size and regions against the first sample and their capacities. */
  sampleModule(now: number, stats: ModuleStats, memoryBytes: number): void {
    const { invariants, id } = this.options;
    if (this.memoryBytes === undefined) this.memoryBytes = memoryBytes;
    else if (memoryBytes !== this.memoryBytes) {
      invariants.violate("module-memory", id, now, `memory is ${memoryBytes} bytes, was ${this.memoryBytes} at the first sample`);
      this.memoryBytes = memoryBytes;
    }
    if (this.staticBytes === undefined) this.staticBytes = stats.staticBytes;
    else if (stats.staticBytes !== this.staticBytes) {
      invariants.violate("module-memory", id, now, `staticDataEnd is ${stats.staticBytes}, was ${this.staticBytes} at the first sample`);
      this.staticBytes = stats.staticBytes;
    }
    if (this.regionsReported) return;
    const over = regionOverflows(stats);
    if (over.length > 0) {
      this.regionsReported = true;
      invariants.violate("regions", id, now, over.join("; "));
    }
  }

  // ---- what the module reports ---------------------------------------------------------

  private event(kind: number, code: number, arg: number): void {
    const now = this.options.clock.now();
    switch (kind) {
      case EventKind.CONNECTED:
        this.connected = true;
        this.counts.connects++;
        return;
      case EventKind.CONNECTION_LOST:
        if (this.connected) this.checkSilence(now - this.lastOutAt, now);
        this.connected = false;
        this.lost(code);
        return;
      case EventKind.CONNECT_FAILED:
        this.connected = false;
        this.lost(code);
        return;
      case EventKind.BACKOFF:
        this.connected = false;
        this.backoff(arg, now);
        return;
      case EventKind.RECONNECTING:
        this.reconnecting(now);
        return;
      case EventKind.PUBLISH_DONE:
        this.progressAt = now;
        return;
      case EventKind.CLOSED:
        if (!this.running) return; // switched off on purpose (deep sleep)
        this.connected = false;
        this.running = false;
        this.options.invariants.violate("stuck", this.options.id, now, `the module stopped by itself (CLOSED ${statusName(code)}): it will not reconnect`);
        return;
    }
  }

  private sent(header: number): void {
    const now = this.options.clock.now();
    if (this.connected) this.checkSilence(now - this.lastOutAt, now);
    this.lastOutAt = now;
    if (this.options.qos === 0 && header >> 4 === PUBLISH) this.progressAt = now;
  }

  private checkSilence(silentMs: number, now: number): void {
    if (silentMs > this.counts.longestSilenceMs) this.counts.longestSilenceMs = silentMs;
    const { keepaliveMs, keepaliveSlackMs } = this.settings;
    if (silentMs <= keepaliveMs + keepaliveSlackMs || this.silenceReported === this.lastOutAt) return;
    this.silenceReported = this.lastOutAt;
    this.options.invariants.violate(
      "keepalive", this.options.id, now,
      `connected but sent nothing for ${seconds(silentMs)} (keepalive ${seconds(keepaliveMs)} + ${seconds(keepaliveSlackMs)} slack)`,
    );
  }

  private lost(code: number): void {
    const name = statusName(code);
    this.counts.losses[name] = (this.counts.losses[name] ?? 0) + 1;
  }

  private backoff(delayMs: number, now: number): void {
    this.counts.backoffs++;
    this.counts.maxBackoffMs = Math.max(this.counts.maxBackoffMs, delayMs);
    const { minDelayMs, maxDelayMs } = this.settings.reconnect;
    if (delayMs < minDelayMs || delayMs > maxDelayMs) {
      this.options.invariants.violate("backoff", this.options.id, now, `reconnect delay ${delayMs} ms is outside [${minDelayMs}, ${maxDelayMs}] ms`);
    }
    this.backoffAt = now;
    this.backoffMs = delayMs;
  }

  private reconnecting(now: number): void {
    const since = this.backoffAt;
    this.backoffAt = undefined;
    if (since === undefined || this.options.health.jumpedBetween(since, now)) return;
    const waited = now - since;
    const slack = this.settings.backoffSlackMs;
    if (waited < this.backoffMs - slack || waited > this.backoffMs + slack) {
      this.options.invariants.violate("backoff", this.options.id, now, `waited ${waited} ms before reconnecting after choosing a delay of ${this.backoffMs} ms (±${slack} ms)`);
    }
  }
}

/** "capacity exceeded" descriptions for every region over its capacity. */
export function regionOverflows(stats: ModuleStats): string[] {
  const over: string[] = [];
  const check = (name: string, value: number, capacity: number): void => {
    if (value > capacity) over.push(`${name} ${value} > capacity ${capacity}`);
  };
  check("rx high-water", stats.rx.highWater, stats.rx.capacity);
  check("tx high-water", stats.tx.highWater, stats.tx.capacity);
  check("tx used", stats.tx.used, stats.tx.capacity);
  check("outbox high-water", stats.outbox.highWater, stats.outbox.capacity);
  check("outbox used", stats.outbox.used, stats.outbox.capacity);
  check("in-flight used", stats.inflight.used, stats.inflight.capacity);
  check("subscriptions used", stats.subscriptions.used, stats.subscriptions.capacity);
  check("inbound QoS 2 ids used", stats.inboundQos2.used, stats.inboundQos2.capacity);
  return over;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function formatLosses(losses: Record<string, number>): string {
  return Object.entries(losses).map(([name, count]) => `${name} ×${count}`).join(", ");
}
