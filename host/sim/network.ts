/**
 * A simulated network link between one device and a broker, in virtual time. It carries
 * byte streams, not packets: each direction delivers chunks in order after transmission
 * time (bandwidth), latency and jitter, on the virtual clock. Faults — random or scripted
 * connection drops, outages that reset or black-hole connections, changes of latency,
 * jitter and bandwidth — are deterministic given the seed.
 *
 * The broker side of every connection is a Node `Duplex` handed to `accept` (an
 * in-process broker: `aedes.handle(duplex)`); the device side is callbacks, shaped like
 * the ABI's `netOpen` / `netSend` / `netClose` and `netUp` / `netDown`.
 *
 * @example
 * const link = new NetworkLink(clock, random.fork("link"), (duplex) => broker.handle(duplex));
 * link.open({ onOpen: () => up(), onData: (bytes) => receive(bytes), onClose: (reason) => down(reason) });
 * link.script([{ at: 60_000, do: "outage", durationMs: 30_000 }, { at: 120_000, do: "latency", ms: 300 }]);
 */
import { Duplex } from "node:stream";
import type { TimerId, VirtualClock } from "./clock.ts";
import type { Random } from "./random.ts";

/** How one direction of the link behaves. */
export interface DirectionSettings {
  /** One-way latency, ms. */
  latencyMs: number;
  /** Extra delay per chunk, uniform in [0, jitterMs]; the stream stays in order. */
  jitterMs: number;
  /** Transmission rate; Infinity for none. */
  bytesPerSecond: number;
}

/** `up` is device → broker, `down` broker → device. */
export type Direction = "up" | "down" | "both";

/** Link settings; every field has a default. */
export interface LinkOptions {
  /** Default: 20 ms latency, 5 ms jitter, 125 000 B/s (1 Mbit/s). */
  up?: Partial<DirectionSettings>;
  down?: Partial<DirectionSettings>;
  /** Mean rate of random drops of an open connection (default 0). */
  dropsPerHour?: number;
  /** Device send buffer: bytes not yet on the wire that `send` accepts (default 5744, lwIP on ESP32). */
  sendBufferBytes?: number;
}

/** A change to the link, applied at once by `apply` or at `at` by `script`. */
export type LinkChange =
  | { do: "latency"; ms: number; direction?: Direction }
  | { do: "jitter"; ms: number; direction?: Direction }
  | { do: "bandwidth"; bytesPerSecond: number; direction?: Direction }
  | { do: "drops"; perHour: number }
  /**
   * Sets the device's send buffer (bytes `send` accepts while earlier ones are not yet on
   * the wire): a small one makes writes be accepted only partially.
   */
  | { do: "sendBuffer"; bytes: number }
  /** Drops the open connection now; both ends are told. */
  | { do: "drop" }
  /**
   * For `durationMs` every connection attempt is refused. `reset` (default) also drops the
   * current connection; `blackhole` keeps it but holds every byte, both ways, until the end
   * (as TCP would, retransmitting): neither end is told anything.
   */
  | { do: "outage"; durationMs: number; mode?: "reset" | "blackhole" };

/** A `LinkChange` at virtual time `at`. */
export type ScriptStep = LinkChange & { at: number };

/** Why the device's connection ended: refused while opening, dropped by the network, or closed by the broker. */
export type CloseReason = "refused" | "reset" | "closed";

/** The device end of a connection. */
export interface DeviceHandlers {
  /** The connection is up (→ `netUp`). */
  onOpen(): void;
  /** Bytes from the broker, in order (→ `rxBuffer` / `rxCommit`). */
  onData(bytes: Uint8Array): void;
  /** The connection failed or ended (→ `netDown`); not called after the device's own `close()`. */
  onClose(reason: CloseReason): void;
}

/** Counters for tests and the UI. */
export interface LinkStats {
  /** Connections that reached the device's `onOpen`. */
  connects: number;
  refused: number;
  /** Open connections the network dropped (random, scripted or by an outage). */
  drops: number;
  /** Bytes delivered to the broker and to the device. */
  bytesUp: number;
  bytesDown: number;
}

/** One connection: the device's view and the broker's. */
interface Connection {
  handlers: DeviceHandlers;
  state: "connecting" | "open" | "closed";
  broker: Duplex | undefined;
  brokerClosed: boolean;
}

/** Something travelling through a pipe on behalf of a connection. */
interface Carried {
  connection: Connection;
  size: number;
  arrive: () => void;
}

/** One direction: a line of finite rate, then latency and jitter, in order. */
class Pipe {
  private lineFreeAt = 0;
  private lastArrival = 0;
  private inFlight: (Carried & { timer: TimerId; sentAt: number })[] = [];
  private held: Carried[] | undefined;

  constructor(
    readonly settings: DirectionSettings,
    private readonly clock: VirtualClock,
    private readonly random: Random,
  ) {
    nonNegative(settings.latencyMs, "latencyMs");
    nonNegative(settings.jitterMs, "jitterMs");
    positive(settings.bytesPerSecond, "bytesPerSecond");
  }

  carry(item: Carried): void {
    if (this.held !== undefined) {
      this.held.push(item);
      return;
    }
    const { latencyMs, jitterMs, bytesPerSecond } = this.settings;
    const sentAt = Math.max(this.clock.now(), this.lineFreeAt) + (item.size * 1000) / bytesPerSecond;
    this.lineFreeAt = sentAt;
    this.lastArrival = Math.max(this.lastArrival, sentAt + latencyMs + jitterMs * this.random.float());
    const timer = this.clock.setTimer(this.lastArrival, () => {
      this.inFlight.shift(); // arrivals never decrease and ties run FIFO: this is the first
      item.arrive();
    });
    this.inFlight.push({ connection: item.connection, size: item.size, arrive: item.arrive, timer, sentAt });
  }

  /** Bytes accepted but not yet on the wire (held ones included). */
  unsent(): number {
    const now = this.clock.now();
    let bytes = 0;
    // sentAt never decreases along inFlight: count from the end while it is in the future
    for (let i = this.inFlight.length - 1; i >= 0 && this.inFlight[i].sentAt > now; i--) bytes += this.inFlight[i].size;
    for (const item of this.held ?? []) bytes += item.size;
    return bytes;
  }

  /** Holds everything in flight and everything sent from now on. */
  stall(): void {
    if (this.held !== undefined) return;
    for (const item of this.inFlight) this.clock.clearTimer(item.timer);
    this.held = this.inFlight.map(({ connection, size, arrive }) => ({ connection, size, arrive }));
    this.inFlight = [];
  }

  /** Sends what was held, in order, from now. */
  resume(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const item of held) this.carry(item);
  }

  /** Forgets everything carried for `connection`. */
  discard(connection: Connection): void {
    for (const item of this.inFlight) if (item.connection === connection) this.clock.clearTimer(item.timer);
    this.inFlight = this.inFlight.filter((item) => item.connection !== connection);
    this.held = this.held?.filter((item) => item.connection !== connection);
  }
}

const DEFAULT_DIRECTION: DirectionSettings = { latencyMs: 20, jitterMs: 5, bytesPerSecond: 125_000 };

/** A device's link to a broker; one connection at a time. */
export class NetworkLink {
  readonly stats: LinkStats = { connects: 0, refused: 0, drops: 0, bytesUp: 0, bytesDown: 0 };
  private readonly up: Pipe;
  private readonly down: Pipe;
  private readonly dropRandom: Random;
  private sendBufferBytes: number;
  private dropsPerHour: number;
  private outageUntil = -Infinity;
  private connection: Connection | undefined;
  private dropTimer: TimerId | undefined;

  /** `accept` receives the broker end of every connection the network lets through. */
  constructor(
    private readonly clock: VirtualClock,
    random: Random,
    private readonly accept: (broker: Duplex) => void,
    options: LinkOptions = {},
  ) {
    this.up = new Pipe({ ...DEFAULT_DIRECTION, ...options.up }, clock, random.fork("up"));
    this.down = new Pipe({ ...DEFAULT_DIRECTION, ...options.down }, clock, random.fork("down"));
    this.dropRandom = random.fork("drops");
    this.dropsPerHour = options.dropsPerHour ?? 0;
    this.sendBufferBytes = options.sendBufferBytes ?? 5744;
  }

  /** The device's connection: none, being opened, or open. */
  get state(): "idle" | "connecting" | "open" {
    return this.connection?.state === "open" ? "open" : this.connection === undefined ? "idle" : "connecting";
  }

  /** Starts a connection; `handlers.onOpen` or `handlers.onClose("refused")` follows. */
  open(handlers: DeviceHandlers): void {
    if (this.connection !== undefined) throw new Error("the device already has a connection; close() it first");
    const connection: Connection = { handlers, state: "connecting", broker: undefined, brokerClosed: false };
    this.connection = connection;
    if (this.inOutage()) {
      const roundTrip = this.up.settings.latencyMs + this.down.settings.latencyMs;
      this.clock.after(roundTrip, () => this.endForDevice(connection, "refused"));
      return;
    }
    this.up.carry({ connection, size: 0, arrive: () => this.synArrived(connection) });
  }

  /** Queues bytes (copied) for the broker; returns how many the send buffer took (0 when not open). */
  send(bytes: Uint8Array): number {
    const connection = this.connection;
    if (connection?.state !== "open") return 0;
    const accepted = Math.min(bytes.length, Math.max(0, this.sendBufferBytes - this.up.unsent()));
    if (accepted === 0) return 0;
    const chunk = bytes.slice(0, accepted);
    this.up.carry({ connection, size: accepted, arrive: () => this.toBroker(connection, chunk) });
    return accepted;
  }

  /** The device closes its connection; the broker sees the end after the bytes already sent. */
  close(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    this.forget(connection);
    this.up.carry({ connection, size: 0, arrive: () => this.toBroker(connection, null) });
  }

  /** Applies a change now. */
  apply(change: LinkChange): void {
    switch (change.do) {
      case "latency":
        for (const pipe of this.pipes(change.direction)) pipe.settings.latencyMs = nonNegative(change.ms, "latency ms");
        break;
      case "jitter":
        for (const pipe of this.pipes(change.direction)) pipe.settings.jitterMs = nonNegative(change.ms, "jitter ms");
        break;
      case "bandwidth":
        for (const pipe of this.pipes(change.direction)) pipe.settings.bytesPerSecond = positive(change.bytesPerSecond, "bytesPerSecond");
        break;
      case "drops":
        this.dropsPerHour = nonNegative(change.perHour, "drops perHour");
        if (this.connection?.state === "open") this.scheduleDrop(this.connection);
        break;
      case "drop":
        if (this.connection !== undefined) this.drop(this.connection);
        break;
      case "sendBuffer":
        this.sendBufferBytes = positive(change.bytes, "sendBuffer bytes");
        break;
      case "outage":
        this.startOutage(nonNegative(change.durationMs, "outage durationMs"), change.mode ?? "reset");
        break;
    }
  }

  /** Applies each step at its virtual time `at`. */
  script(steps: readonly ScriptStep[]): void {
    for (const step of steps) this.clock.setTimer(step.at, () => this.apply(step));
  }

  private pipes(direction: Direction = "both"): Pipe[] {
    return direction === "up" ? [this.up] : direction === "down" ? [this.down] : [this.up, this.down];
  }

  private inOutage(): boolean {
    return this.clock.now() < this.outageUntil;
  }

  private startOutage(durationMs: number, mode: "reset" | "blackhole"): void {
    const until = this.clock.now() + durationMs;
    this.outageUntil = Math.max(this.outageUntil, until);
    if (mode === "blackhole") {
      this.up.stall();
      this.down.stall();
    } else if (this.connection !== undefined) {
      this.drop(this.connection);
    }
    this.clock.setTimer(until, () => {
      if (this.inOutage()) return;
      this.up.resume();
      this.down.resume();
    });
  }

  /** The SYN reached the broker's host: accept, and answer the device. */
  private synArrived(connection: Connection): void {
    if (connection.state === "closed") return;
    connection.broker = this.brokerEnd(connection);
    this.accept(connection.broker);
    this.down.carry({ connection, size: 0, arrive: () => this.opened(connection) });
  }

  private opened(connection: Connection): void {
    if (connection.state !== "connecting") return;
    connection.state = "open";
    this.stats.connects++;
    this.scheduleDrop(connection);
    connection.handlers.onOpen();
  }

  /** The broker's end of a connection, as a Duplex stream. */
  private brokerEnd(connection: Connection): Duplex {
    const brokerDone = (): void => {
      if (connection.brokerClosed) return;
      connection.brokerClosed = true;
      this.down.carry({ connection, size: 0, arrive: () => this.endForDevice(connection, "closed") });
    };
    return new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, callback) => {
        if (!connection.brokerClosed) {
          this.down.carry({ connection, size: chunk.length, arrive: () => this.toDevice(connection, chunk) });
        }
        callback();
      },
      // what the broker writes corked (a packet in pieces) travels as one segment, as TCP would send it
      writev: (chunks: { chunk: Buffer }[], callback) => {
        if (!connection.brokerClosed) {
          const segment = chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((entry) => entry.chunk));
          this.down.carry({ connection, size: segment.length, arrive: () => this.toDevice(connection, segment) });
        }
        callback();
      },
      final: (callback) => {
        brokerDone();
        callback();
      },
      destroy: (error, callback) => {
        brokerDone();
        callback(error);
      },
    });
  }

  /** Bytes reach the broker, or `null`: the device's end of stream. */
  private toBroker(connection: Connection, chunk: Uint8Array | null): void {
    if (connection.broker === undefined || connection.brokerClosed) return;
    if (chunk !== null) this.stats.bytesUp += chunk.length;
    connection.broker.push(chunk);
  }

  private toDevice(connection: Connection, chunk: Uint8Array): void {
    if (connection.state !== "open") return;
    this.stats.bytesDown += chunk.length;
    connection.handlers.onData(chunk);
  }

  /** The network kills the connection: both ends are told at once, bytes in flight are lost. */
  private drop(connection: Connection): void {
    if (connection.state === "open") this.stats.drops++;
    this.up.discard(connection);
    this.down.discard(connection);
    if (connection.broker !== undefined && !connection.brokerClosed) {
      connection.brokerClosed = true;
      connection.broker.destroy();
    }
    this.endForDevice(connection, connection.state === "open" ? "reset" : "refused");
  }

  /** Tells the device its connection ended, unless the device closed it first. */
  private endForDevice(connection: Connection, reason: CloseReason): void {
    if (connection.state === "closed") return;
    if (reason === "refused") this.stats.refused++;
    this.forget(connection);
    connection.handlers.onClose(reason);
  }

  /** The device side of `connection` is over. */
  private forget(connection: Connection): void {
    connection.state = "closed";
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.cancelDrop();
  }

  /** Draws when a random drop ends `connection` (exponential gaps: drops are a Poisson process). */
  private scheduleDrop(connection: Connection): void {
    this.cancelDrop();
    if (this.dropsPerHour === 0) return;
    const gapMs = (-Math.log(1 - this.dropRandom.float()) / this.dropsPerHour) * 3_600_000;
    this.dropTimer = this.clock.after(gapMs, () => this.drop(connection));
  }

  private cancelDrop(): void {
    if (this.dropTimer !== undefined) this.clock.clearTimer(this.dropTimer);
    this.dropTimer = undefined;
  }
}

function nonNegative(value: number, name: string): number {
  if (!(value >= 0)) throw new RangeError(`${name} must be ≥ 0 (got ${value})`);
  return value;
}

function positive(value: number, name: string): number {
  if (!(value > 0)) throw new RangeError(`${name} must be > 0 (got ${value})`);
  return value;
}
