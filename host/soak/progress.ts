/**
 * The soak's progress line on stderr: virtual time done, simulated device-days per wall
 * second (not in real time, where it says nothing) and the estimated time left. On a terminal it is a bar redrawn in place (at most
 * five times a second); elsewhere (a pipe, CI) a plain line every 10 % of the run or every
 * 30 s of wall time, whichever comes first. Wall time is `performance.now()`, which the
 * soak's virtual environment leaves alone.
 *
 * @example
 * const progress = new Progress(process.stderr, { totalMs, devices: 3 });
 * progress.update(clock.now());
 * progress.done(clock.now());
 */
import { performance } from "node:perf_hooks";
import { formatVirtualTime } from "../sim/view.ts";

/** Where progress goes. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const REDRAW_MS = 200;
const PLAIN_EVERY_MS = 30_000;
const DAY_MS = 86_400_000;

/** Formats wall seconds as `1h02m`, `3m05s` or `12s`. */
export function formatWall(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** A progress bar (TTY) or progress lines (elsewhere). */
export class Progress {
  private readonly started = performance.now();
  private lastDraw = -Infinity;
  private lastPlainTenth = -1;
  private lastPlainWall = this.started;
  private readonly tty: boolean;

  constructor(
    private readonly out: ProgressOutput,
    private readonly options: { totalMs: number; devices: number; label?: string; realTime?: boolean },
  ) {
    this.tty = out.isTTY === true;
  }

  /** Wall seconds since the progress began. */
  get wallSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Reports that virtual time `doneMs` is reached (redraws when due). */
  update(doneMs: number): void {
    const now = performance.now();
    if (this.tty) {
      if (now - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = now;
      this.out.write(`\r${this.line(doneMs)}\u001b[K`);
      return;
    }
    const tenth = Math.floor((10 * doneMs) / this.options.totalMs);
    if (tenth > this.lastPlainTenth || now - this.lastPlainWall >= PLAIN_EVERY_MS) {
      this.lastPlainTenth = tenth;
      this.lastPlainWall = now;
      this.out.write(`${this.line(doneMs)}\n`);
    }
  }

  /** The last line (the bar is left on screen; a plain line only if the last one was not at the end). */
  done(doneMs: number): void {
    if (this.tty) this.out.write(`\r${this.line(doneMs)}\u001b[K\n`);
    else if (this.lastPlainTenth < 10) this.out.write(`${this.line(doneMs)}\n`);
  }

  private line(doneMs: number): string {
    const { totalMs, devices, label, realTime } = this.options;
    const fraction = Math.min(1, totalMs === 0 ? 1 : doneMs / totalMs);
    const wall = this.wallSeconds;
    const rate = wall > 0 ? (devices * doneMs) / DAY_MS / wall : 0;
    const eta = fraction > 0 ? (wall / fraction) * (1 - fraction) : Infinity;
    const days = Number((totalMs / DAY_MS).toFixed(2));
    const total = days >= 1 ? `${days} day${days === 1 ? "" : "s"}` : formatVirtualTime(totalMs);
    const text =
      `${(fraction * 100).toFixed(0).padStart(3)}%  ${formatVirtualTime(doneMs)} / ${total}  ` +
      `${realTime === true ? "" : `${rate.toFixed(2)} device-days/s  `}ETA ${formatWall(eta)} (wall ${formatWall(wall)})`;
    const name = label ?? "soak";
    if (!this.tty) return `${name} ${text}`;
    // the bar takes what the terminal leaves beside a typical line, 10 to 30 columns
    const columns = this.out.columns ?? 100;
    const width = Math.max(10, Math.min(30, columns - 90));
    const filled = Math.round(fraction * width);
    const line = `${name} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${text}`;
    return line.length >= columns ? line.slice(0, columns - 1) : line;
  }
}
