/**
 * The simulator's terminal view, without dependencies. On a TTY it redraws a table in
 * place (ANSI cursor movement) about four times a second of real time: a header with the
 * virtual time and speed, then one row per device. Elsewhere (a pipe, a log file) it
 * prints one plain line per device every `plainEverySec` virtual seconds, so the output
 * stays readable and, with an in-process broker, the same from run to run. With faults
 * (`wasmqtt sim --faults`) the header counts them and names the last one; plain output
 * gives each fault a line of its own, before the devices' lines that follow it. Devices in
 * deep sleep (`wasmqtt sim --sleep`) show "asleep" as their state, their wakes and the
 * energy a day their mix of awake and asleep time costs (host/sim/energy.ts), against the
 * same board always connected.
 *
 * @example
 * const view = new SimView(sim, { out: process.stdout, footer: ["Ctrl-C to stop"] });
 * view.start();
 * await sim.run();
 * view.stop(); // a last frame (TTY) or a last line per device
 */
import type { FaultRecord } from "../soak/injector.ts";
import type { DeviceSnapshot } from "./device.ts";
import type { SimSnapshot } from "./simulator.ts";

/** What the view watches: snapshots, and the clock to time plain lines on. */
export interface ViewSource {
  snapshot(): SimSnapshot;
  readonly clock: {
    now(): number;
    setTimer(atMs: number, run: () => void): number;
    clearTimer(id: number): void;
  };
}

/** Where the view writes: a stream, with `isTTY` / `columns` / `rows` when it is a terminal. */
export interface ViewOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** How the view behaves; every field has a default. */
export interface ViewOptions {
  /** Default: process.stdout. */
  out?: ViewOutput;
  /** Redraw in place; default `out.isTTY`. */
  tty?: boolean;
  /** Real ms between redraws on a TTY (default 250). */
  refreshMs?: number;
  /** Virtual seconds between plain lines (default 60). */
  plainEverySec?: number;
  /** Extra header lines on a TTY (broker, how to watch). */
  header?: string[];
  /** Lines under the table on a TTY ("Ctrl-C to stop"). */
  footer?: string[];
}

const ESC = "\u001b[";
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const CLEAR_TO_LINE_END = `${ESC}K`;
const CLEAR_TO_SCREEN_END = `${ESC}J`;
const BOLD = `${ESC}1m`;
const DIM = `${ESC}2m`;
const RESET = `${ESC}0m`;

/** The columns of the device table: title, width, alignment, cell. */
const COLUMNS: { title: string; width: number; right: boolean; cell: (device: DeviceSnapshot) => string }[] = [
  { title: "device", width: 18, right: false, cell: (d) => d.id },
  { title: "board", width: 14, right: false, cell: (d) => d.board },
  { title: "state", width: 16, right: false, cell: (d) => d.state },
  { title: "temp °C", width: 8, right: true, cell: (d) => (d.temperatureC === undefined ? "–" : d.temperatureC.toFixed(2)) },
  { title: "moist %", width: 7, right: true, cell: (d) => (d.moisturePercent === undefined ? "–" : String(d.moisturePercent)) },
  { title: "relay", width: 5, right: false, cell: (d) => onOff(d.relay) },
  { title: "led", width: 4, right: false, cell: (d) => onOff(d.led) },
  { title: "pub/ack", width: 11, right: true, cell: (d) => `${d.messagesPublished}/${d.messagesAcknowledged}` },
  { title: "outbox B", width: 11, right: true, cell: (d) => `${d.outbox.used}/${d.outbox.capacity}` },
  { title: "reconn", width: 6, right: true, cell: (d) => String(d.reconnects) },
  { title: "RAM B", width: 12, right: true, cell: (d) => `${d.staticBytes}/${d.ramBudgetBytes}` },
];

/** The columns added when a device deep-sleeps: its wakes, and a day's energy against always connected. */
const SLEEP_COLUMNS: typeof COLUMNS = [
  { title: "wakes", width: 6, right: true, cell: (d) => (d.sleep === undefined ? "–" : String(d.sleep.wakes)) },
  { title: "mAh/day", width: 14, right: true, cell: (d) => (d.sleep === undefined ? "–" : `${formatMAh(d.sleep.energy.mAh)}/${formatMAh(d.sleep.energy.alwaysOnMAh)}`) },
];

/** True when some device deep-sleeps. */
function sleeping(snapshot: SimSnapshot): boolean {
  return snapshot.devices.some((device) => device.sleep !== undefined);
}

/** Watches a simulator and shows it, redrawn in place or as plain lines. */
export class SimView {
  /** True when the view redraws in place (a terminal); false for plain lines. */
  readonly tty: boolean;
  private readonly out: ViewOutput;
  private readonly refreshMs: number;
  private readonly plainEveryMs: number;
  private readonly header: string[];
  private readonly footer: string[];
  private interval: NodeJS.Timeout | undefined;
  private plainTimer: number | undefined;
  private drawnLines = 0;
  private started = false;
  private lastPlainAt = -1;
  /** Fault log entries already printed as plain lines. */
  private faultsPrinted = 0;

  constructor(
    private readonly source: ViewSource,
    options: ViewOptions = {},
  ) {
    this.out = options.out ?? process.stdout;
    this.tty = options.tty ?? this.out.isTTY === true;
    this.refreshMs = options.refreshMs ?? 250;
    this.plainEveryMs = (options.plainEverySec ?? 60) * 1000;
    if (!(this.plainEveryMs > 0)) throw new RangeError(`plainEverySec must be > 0 (got ${options.plainEverySec})`);
    this.header = options.header ?? [];
    this.footer = options.footer ?? [];
  }

  /** Starts drawing: a frame now and then on a real-time interval (TTY), or plain lines on virtual time. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.tty) {
      this.out.write(HIDE_CURSOR);
      this.draw();
      this.interval = setInterval(() => this.draw(), this.refreshMs);
      return;
    }
    this.schedulePlain(Math.floor(this.source.clock.now() / this.plainEveryMs + 1) * this.plainEveryMs);
  }

  /** Stops drawing, after a last frame (TTY, cursor shown again) or a last line per device. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    if (this.interval !== undefined) clearInterval(this.interval);
    if (this.plainTimer !== undefined) this.source.clock.clearTimer(this.plainTimer);
    this.interval = undefined;
    this.plainTimer = undefined;
    if (this.tty) {
      this.draw();
      this.out.write(SHOW_CURSOR);
    } else {
      this.printPlain();
    }
  }

  /** Redraws the frame over the previous one. */
  private draw(): void {
    const width = (this.out.columns ?? 120) - 1; // never the last column: some terminals wrap there
    const snapshot = this.source.snapshot();
    const header = formatHeader(snapshot, this.header);
    let table = formatTable(snapshot);
    // a frame taller than the terminal cannot be redrawn in place: show the first devices only
    const room = (this.out.rows ?? Infinity) - 1 - header.length - this.footer.length;
    if (table.length > room) {
      const shown = Math.max(1, room - 1);
      table = [...table.slice(0, shown), `… ${table.length - shown} more devices (pipe the output to see every one)`];
    }
    const lines = [...header, ...table, ...this.footer];
    const up = this.drawnLines > 0 ? `${ESC}${this.drawnLines}F` : "";
    const body = lines.map((line, index) => {
      const cut = fit(line, width);
      return index === 0 ? `${BOLD}${cut}${RESET}` : index === lines.length - 1 && this.footer.length > 0 ? `${DIM}${cut}${RESET}` : cut;
    });
    this.out.write(`${up}${body.map((line) => `${line}${CLEAR_TO_LINE_END}\n`).join("")}${CLEAR_TO_SCREEN_END}`);
    this.drawnLines = lines.length;
  }

  private schedulePlain(atMs: number): void {
    this.plainTimer = this.source.clock.setTimer(atMs, () => {
      this.printPlain();
      this.schedulePlain(atMs + this.plainEveryMs);
    });
  }

  private printPlain(): void {
    const snapshot = this.source.snapshot();
    if (snapshot.virtualMs === this.lastPlainAt) return; // stop() right after a scheduled print
    this.lastPlainAt = snapshot.virtualMs;
    const faults = snapshot.faults?.log.slice(this.faultsPrinted) ?? [];
    this.faultsPrinted += faults.length;
    this.out.write([...faults.map(formatFaultLine), ...snapshot.devices.map((device) => formatPlainLine(snapshot.virtualMs, device))].map((line) => `${line}\n`).join(""));
  }
}

/** The header: virtual time, speed (asked for and achieved), device count, then `extra` lines. */
export function formatHeader(snapshot: SimSnapshot, extra: readonly string[] = []): string[] {
  const asked = snapshot.speed === Infinity ? "max" : `${formatNumber(snapshot.speed)}×`;
  const achieved = snapshot.wallMs > 0 ? ` (running at ${formatNumber(snapshot.virtualMs / snapshot.wallMs)}×)` : "";
  const until = snapshot.durationMs === undefined ? "" : ` of ${formatVirtualTime(snapshot.durationMs)}`;
  const count = `${snapshot.devices.length} device${snapshot.devices.length === 1 ? "" : "s"}`;
  const lines = [`wasmqtt board simulator  ${formatVirtualTime(snapshot.virtualMs)}${until}  speed ${asked}${achieved}  ${count}  seed ${snapshot.seed}`, ...extra];
  const { faults } = snapshot;
  if (faults !== undefined) {
    const last = faults.log.at(-1);
    lines.push(`faults: ${faults.profile}, ${faults.injected} injected${last === undefined ? "" : `, last ${describeFault(last)} at ${formatVirtualTime(last.atMs)}`}`);
  }
  return lines;
}

/** A fault as a plain line: `[day D HH:MM:SS] fault drop nodemcu-v3-1`. */
export function formatFaultLine(fault: FaultRecord): string {
  return `[${formatVirtualTime(fault.atMs)}] fault ${describeFault(fault)}`;
}

function describeFault(fault: FaultRecord): string {
  const duration = fault.durationMs === undefined ? "" : ` for ${Math.round(fault.durationMs / 1000)} s`;
  return `${fault.kind}${fault.device === undefined ? "" : ` ${fault.device}`}${duration}${fault.detail === undefined ? "" : ` (${fault.detail})`}`;
}

/** The device table: a title row, then one row per device. */
export function formatTable(snapshot: SimSnapshot): string[] {
  const columns = sleeping(snapshot) ? [...COLUMNS, ...SLEEP_COLUMNS] : COLUMNS;
  const row = (cells: string[]): string =>
    cells.map((cell, i) => (columns[i].right ? cell.padStart(columns[i].width) : cell.padEnd(columns[i].width))).join(" ").trimEnd();
  return [row(columns.map((column) => column.title)), ...snapshot.devices.map((device) => row(columns.map((column) => column.cell(device))))];
}

/** One device as a plain `key=value` line, prefixed by the virtual time. */
export function formatPlainLine(virtualMs: number, device: DeviceSnapshot): string {
  const temperature = device.temperatureC === undefined ? "-" : device.temperatureC.toFixed(2);
  const moisture = device.moisturePercent === undefined ? "-" : String(device.moisturePercent);
  return [
    `[${formatVirtualTime(virtualMs)}]`,
    device.id,
    `board=${device.board}`,
    `state=${device.state}`,
    `temp=${temperature}C`,
    `moisture=${moisture}%`,
    `relay=${onOff(device.relay)}`,
    `led=${onOff(device.led)}`,
    `published=${device.messagesPublished}`,
    `acked=${device.messagesAcknowledged}`,
    `outbox=${device.outbox.used}/${device.outbox.capacity}B`,
    `reconnects=${device.reconnects}`,
    `ram=${device.staticBytes}/${device.ramBudgetBytes}B`,
    ...(device.sleep === undefined ? [] : [`wakes=${device.sleep.wakes}`, `energy=${formatMAh(device.sleep.energy.mAh)}mAh/day`, `always-on=${formatMAh(device.sleep.energy.alwaysOnMAh)}mAh/day`]),
  ].join(" ");
}

/** Virtual ms as `day D HH:MM:SS` (day 0 starts at midnight). */
export function formatVirtualTime(ms: number): string {
  const totalSec = Math.floor(ms / 1000);
  const day = Math.floor(totalSec / 86_400);
  const clock = [Math.floor(totalSec / 3600) % 24, Math.floor(totalSec / 60) % 60, totalSec % 60].map((n) => String(n).padStart(2, "0"));
  return `day ${day} ${clock.join(":")}`;
}

function formatNumber(value: number): string {
  return value >= 100 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

/** mAh with three significant digits (1920, 41.3, 6.52). */
function formatMAh(mAh: number): string {
  return mAh >= 100 ? String(Math.round(mAh)) : mAh.toPrecision(3);
}

function onOff(on: boolean): string {
  return on ? "on" : "off";
}

/** Cuts a line to the terminal width (no escape sequences inside the line itself). */
function fit(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}
