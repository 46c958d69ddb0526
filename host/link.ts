/**
 * The byte-moving glue between one module instance, a transport and a clock: the
 * module's `netOpen` / `netSend` / `netClose` imports drive the transport; bytes the
 * transport receives go into `rxBuffer()` / `rxSpace()` / `rxCommit` (what does not fit is
 * kept in order and the transport paused); `netUp` / `netDown` report the connection; and
 * `tick` runs again at the delay it returned. The client API (host/client.ts) and the
 * simulator's devices (host/sim/device.ts) both sit on it.
 *
 * No MQTT here: the module decides keepalive, timeouts, reconnects and resends; this file
 * only moves bytes, gives the time and calls `tick`. What the module reports through
 * `onEvent` / `onMessage` / `onPacket` is recorded during the export and handed to
 * {@link LinkHandlers} by `settle()`, after the export returned, so a handler may call
 * exports again. An optional {@link LinkTap} sees the bytes both ways (a pcap trace,
 * host/pcap.ts); without one, each direction costs one null check.
 *
 * @example
 * const link = await ModuleLink.create({ profile: "desktop", transport, clock, imports: { random }, handlers: {
 *   onEvent: (kind, code, arg) => console.log(kind, code, arg),
 * } });
 * link.exports.start(clock.nowU32()); // after configure()
 * link.start();                        // settle what start() reported and begin ticking
 */
import type { Clock } from "./clock.ts";
import { type DroppedMessage, type ModuleExports, type ModuleHost, ModuleInstance, type ModuleKind, NetDownReason, type Profile } from "./module.ts";
import { defer } from "./platform.ts";
import type { CloseReason, Transport } from "./transport.ts";

/** What the module reported, handed over in order after the export that reported it returned. */
export interface LinkHandlers {
  /** `onEvent(kind, code, arg)` (boards/ABI.md, "Events"); `dropped` with `MESSAGE_DROPPED`, `properties` (MQTT 5) and `reasonCodes` (UNSUBACK) as ModuleHost's, all read while the event was reported. */
  onEvent?(kind: number, code: number, arg: number, dropped?: DroppedMessage, properties?: Buffer, reasonCodes?: Uint8Array): void;
  /** An application message; `payload` is a copy the handler may keep. */
  onMessage?(topic: string, payload: Buffer, flags: number, properties?: Buffer): void;
  /** The trace of one packet: `direction` 0 in, 1 out; `header` the fixed header's first byte. */
  onPacket?(direction: number, header: number, packetId: number, remainingLength: number): void;
  /** Whether `onPacket` wants the traces now (default: always); while it says no, a trace costs nothing. */
  wantsPackets?(): boolean;
  /** `tick` ran and its report was settled (after bytes moved or a timer fired): the module may have made room. */
  onPumped?(): void;
  /** What the exports called so far reported was handed over (the end of an outermost `settle()`): the module's state may have changed. */
  onSettled?(): void;
}

/**
 * Sees the byte stream of every connection both ways, where it enters and leaves the
 * module (so MQTT bytes, whatever the transport wraps them in): a pcap trace
 * (host/pcap.ts). Called synchronously; the bytes are valid only during the call.
 */
export interface LinkTap {
  /** The transport reported the connection up (`transport` may tell its ports). */
  opened(transport: Transport): void;
  /** The module sent these bytes (as many as the transport took). */
  sent(bytes: Uint8Array): void;
  /** The transport delivered these bytes. */
  received(bytes: Uint8Array): void;
  /** The connection ended: "client" when the module closed it, otherwise how the transport saw it end. */
  closed(reason: CloseReason | "client"): void;
}

/**
 * The imports the link does not answer itself: entropy for backoff jitter and the
 * firmware's sensors and outputs. They are called synchronously during an export and
 * must not call back into the module.
 */
export type LinkImports = Pick<ModuleHost, "random" | "adcRead" | "gpioWrite">;

/** What {@link ModuleLink.create} needs. */
export interface ModuleLinkOptions {
  /** The module build to instantiate (its own memory). */
  profile: Profile;
  /** Which module of that profile: the client alone (default) or the telemetry firmware. */
  kind?: ModuleKind;
  /** Where its `.wasm` is, when not in the default place (see `loadModule`). */
  location?: string | URL;
  /** Where `netOpen` connects. */
  transport: Transport;
  /** The time the module sees and the timers that call `tick`. */
  clock: Clock;
  imports: LinkImports;
  handlers: LinkHandlers;
  /** Sees the bytes both ways (a pcap trace); none by default, and then it costs nothing. */
  tap?: LinkTap;
}

/**
 * What an import recorded, settled after the export returns: {@link RECORD_SLOTS} slots
 * of `ModuleLink.records` per record, the kind first, so recording allocates nothing.
 * event: kind, event, code, arg, dropped, properties, reasonCodes; message: kind, topic, payload,
 * flags, properties; packet: kind, direction, header, packetId, remainingLength.
 */
const enum RecordKind {
  event,
  message,
  packet,
}
const RECORD_SLOTS = 7;

/** One connection the module asked for with netOpen. */
interface Connection {
  /** Bytes received that did not fit the module's receive buffer yet. */
  backlog: Uint8Array[];
  paused: boolean;
}

/** One module instance bound to a transport and a clock. */
export class ModuleLink {
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly handlers: LinkHandlers;
  private readonly tap: LinkTap | undefined;
  private instance: ModuleInstance | undefined;
  private connection: Connection | undefined;
  private running = false;
  private timer: unknown;
  private timerSet = false;
  /** When the timer fires (u32 ms); a later deadline keeps it, an earlier one re-arms it. */
  private timerDue = 0;
  private readonly fireTimer = () => {
    this.timerSet = false;
    this.pump();
  };
  private pumpDeferred = false;
  private readonly deferredPump = () => {
    this.pumpDeferred = false;
    this.pump();
  };
  /** The records not yet settled, {@link RECORD_SLOTS} slots each, from `recordsStart` to `recordsEnd`; reused, never sliced. */
  private readonly records: unknown[] = [];
  private recordsStart = 0;
  private recordsEnd = 0;
  private settling = false;
  private closing: Promise<void> = Promise.resolve();
  private transportError: Error | undefined;

  private constructor(options: ModuleLinkOptions) {
    this.transport = options.transport;
    this.clock = options.clock;
    this.handlers = options.handlers;
    this.tap = options.tap;
  }

  /**
   * Instantiates `options.kind` of `options.profile` (compiled once per process, `init()` called) with the
   * link behind its imports. Rejects with a WasmqttError `MODULE_LOAD_FAILED` or
   * `INVALID_ARGUMENT` (unknown profile), like `ModuleInstance.create`.
   */
  static async create(options: ModuleLinkOptions): Promise<ModuleLink> {
    const link = new ModuleLink(options);
    link.instance = await ModuleInstance.create(options.profile, link.moduleHost(options.imports), options.kind, options.location);
    return link;
  }

  /** The module instance: exports, staging, stats. */
  get module(): ModuleInstance {
    if (this.instance === undefined) throw new Error("wasmqtt: the link's module is not instantiated yet");
    return this.instance;
  }

  /** The module's exports (guarded against calls from inside an import). */
  get exports(): ModuleExports {
    return this.module.exports;
  }

  /** True between `start()` and `halt()`: transport callbacks are served and `tick` is scheduled. */
  get active(): boolean {
    return this.running;
  }

  /** Resolves once the transport closed by the last `netClose` is really gone. */
  get closed(): Promise<void> {
    return this.closing;
  }

  /** The failure behind the last connection that ended or could not open, if the transport gave one. */
  get lastError(): Error | undefined {
    return this.transportError;
  }

  /** The u32 millisecond counter the module sees now. */
  now(): number {
    return this.clock.nowU32();
  }

  /**
   * Begins serving the module: call it right after the export that started the connection
   * (`start` or `appStart`) returned. Settles what that export reported and ticks.
   */
  start(): void {
    this.running = true;
    this.settle();
    this.pump();
  }

  /**
   * Stops serving the module: no more ticks, transport callbacks ignored. The connection
   * is left as it is (the module closes it with `netClose`); see `abandon` for a device
   * that loses power.
   */
  halt(): void {
    this.running = false;
    if (this.timerSet) this.clock.clearTimer(this.timer);
    this.timerSet = false;
  }

  /**
   * The device loses power: stops serving the module and closes the transport under it,
   * so the broker sees the connection end without a DISCONNECT.
   */
  abandon(): void {
    this.halt();
    this.netClose();
  }

  /** Hands what the imports recorded to the handlers, in order. Handlers may call exports. */
  settle(): void {
    if (this.settling) return;
    if (this.recordsStart === this.recordsEnd) {
      this.handlers.onSettled?.();
      return;
    }
    this.settling = true;
    try {
      // a handler may call an export whose imports append more: the loop takes those too
      while (this.recordsStart < this.recordsEnd) {
        const at = this.recordsStart;
        this.recordsStart += RECORD_SLOTS; // taken before dispatch: a handler that throws loses only its own record
        this.dispatch(at);
      }
    } finally {
      if (this.recordsStart === this.recordsEnd) {
        this.records.fill(undefined, 0, this.recordsEnd); // let go of payloads, keep the slots
        this.recordsStart = 0;
        this.recordsEnd = 0;
      }
      this.settling = false;
    }
    this.handlers.onSettled?.();
  }

  /** Delivers kept bytes, runs the module's timers now, and sets the timer for the delay `tick` asks for. */
  pump(): void {
    if (!this.running) return;
    if (this.connection !== undefined && this.connection.backlog.length > 0) this.drainBacklog(this.connection);
    if (!this.running) return;
    const now = this.clock.nowU32();
    const delay = this.module.exports.tick(now);
    this.settle();
    if (!this.running) return;
    this.handlers.onPumped?.();
    if (!this.running) return;
    const due = (now + delay) >>> 0;
    if (this.timerSet) {
      // the set timer comes first or together: keep it; when it fires, the tick then says what is next
      if (((due - this.timerDue) | 0) >= 0) return;
      this.clock.clearTimer(this.timer);
    }
    this.timer = this.clock.after(delay, this.fireTimer);
    this.timerSet = true;
    this.timerDue = due;
  }

  /**
   * {@link pump} once after the current turn, however often it is asked for meanwhile: after
   * an export that already sent what it queued (a publish), so that a burst of them costs one
   * `tick` and one look at the timer, not one each.
   */
  pumpSoon(): void {
    if (this.pumpDeferred) return;
    this.pumpDeferred = true;
    defer(this.deferredPump);
  }

  // ---- the module's imports ----------------------------------------------------

  /** The imports: each records or forwards, none calls back into the module. */
  private moduleHost(imports: LinkImports): ModuleHost {
    return {
      netOpen: () => this.netOpen(),
      netSend: (bytes) => this.netSend(bytes),
      netClose: () => this.netClose(),
      onMessage: (topic, payload, flags, properties) => this.record(RecordKind.message, topic, payload, flags, properties, undefined, undefined),
      onEvent: (event, code, arg, dropped, properties, reasonCodes) => this.record(RecordKind.event, event, code, arg, dropped, properties, reasonCodes),
      onPacket: (direction, header, packetId, remainingLength) => {
        const { onPacket, wantsPackets } = this.handlers;
        if (onPacket !== undefined && (wantsPackets?.() ?? true)) this.record(RecordKind.packet, direction, header, packetId, remainingLength, undefined, undefined);
      },
      random: imports.random,
      adcRead: imports.adcRead,
      gpioWrite: imports.gpioWrite,
    };
  }

  private record(kind: RecordKind, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown): void {
    const { records } = this;
    const at = this.recordsEnd;
    records[at] = kind;
    records[at + 1] = a;
    records[at + 2] = b;
    records[at + 3] = c;
    records[at + 4] = d;
    records[at + 5] = e;
    records[at + 6] = f;
    this.recordsEnd = at + RECORD_SLOTS;
  }

  /** Hands the record at slot `at` to its handler. */
  private dispatch(at: number): void {
    const r = this.records;
    switch (r[at] as RecordKind) {
      case RecordKind.event:
        this.handlers.onEvent?.(r[at + 1] as number, r[at + 2] as number, r[at + 3] as number, r[at + 4] as DroppedMessage | undefined, r[at + 5] as Buffer | undefined, r[at + 6] as Uint8Array | undefined);
        return;
      case RecordKind.message:
        this.handlers.onMessage?.(r[at + 1] as string, r[at + 2] as Buffer, r[at + 3] as number, r[at + 4] as Buffer | undefined);
        return;
      case RecordKind.packet:
        this.handlers.onPacket?.(r[at + 1] as number, r[at + 2] as number, r[at + 3] as number, r[at + 4] as number);
    }
  }

  private netOpen(): void {
    if (this.connection !== undefined) this.netClose();
    const connection: Connection = { backlog: [], paused: false };
    this.connection = connection;
    this.transportError = undefined;
    const current = () => this.connection === connection && this.running;
    try {
      this.transport.open({
        onOpen: () => {
          if (!current()) return;
          this.tap?.opened(this.transport);
          this.module.exports.netUp(this.clock.nowU32());
          this.settle();
          this.pump();
        },
        onData: (bytes) => {
          if (!current()) return;
          this.tap?.received(bytes);
          this.receive(connection, bytes);
        },
        onClose: (reason, error) => {
          if (current()) this.transportDown(connection, reason, error);
        },
        onWritable: () => {
          if (current()) this.pump();
        },
      });
    } catch (error) {
      // the transport could not even start: report it as a refused connection, after this import returns
      this.transportError = error instanceof Error ? error : new Error(String(error));
      defer(() => {
        if (current()) this.transportDown(connection, "refused", this.transportError);
      });
    }
  }

  private netSend(bytes: Uint8Array): number {
    if (this.connection === undefined) return 0;
    const taken = this.transport.send(bytes);
    this.tap?.sent(bytes.subarray(0, taken));
    return taken;
  }

  private netClose(): void {
    if (this.connection === undefined) return;
    this.connection = undefined;
    this.tap?.closed("client");
    const closing = this.transport.close();
    if (closing !== undefined) this.closing = closing;
  }

  // ---- moving bytes ---------------------------------------------------------------

  /** Bytes from the transport: into the module's receive buffer as far as it has room, the rest kept in order. */
  private receive(connection: Connection, bytes: Uint8Array): void {
    if (connection.backlog.length > 0) {
      connection.backlog.push(Uint8Array.from(bytes));
      this.drainBacklog(connection);
      return;
    }
    const taken = this.deliver(connection, bytes);
    if (taken < bytes.length && this.connection === connection) {
      connection.backlog.push(Uint8Array.from(bytes.subarray(taken)));
      this.pause(connection);
    }
    this.pump();
  }

  /** Offers the kept bytes again (after a tick made room); resumes the transport once all are in. */
  private drainBacklog(connection: Connection): void {
    while (connection.backlog.length > 0 && this.connection === connection) {
      const chunk = connection.backlog[0];
      const taken = this.deliver(connection, chunk);
      if (taken < chunk.length) {
        if (this.connection === connection) connection.backlog[0] = chunk.subarray(taken);
        this.pause(connection);
        return;
      }
      connection.backlog.shift();
    }
    if (this.connection === connection && connection.paused) {
      connection.paused = false;
      this.transport.resume?.();
    }
  }

  /** Writes what fits into rxBuffer() and commits it; returns how many bytes the module took. */
  private deliver(connection: Connection, bytes: Uint8Array): number {
    const { module } = this;
    const exports = module.exports;
    const now = this.clock.nowU32();
    let offset = 0;
    while (offset < bytes.length && this.connection === connection) {
      let space = exports.rxSpace();
      if (space === 0) {
        // a packet waits for room in the transmit ring: let the module send, then ask again
        exports.tick(now);
        this.settle();
        if (this.connection !== connection) break;
        space = exports.rxSpace();
        if (space === 0) break;
      }
      const n = Math.min(space, bytes.length - offset);
      module.bytes(exports.rxBuffer(), n).set(bytes.subarray(offset, offset + n));
      const status = exports.rxCommit(n, now);
      offset += n;
      this.settle();
      if (status < 0) break; // the module closed the connection because of this input
    }
    return offset;
  }

  private pause(connection: Connection): void {
    if (connection.paused) return;
    connection.paused = true;
    this.transport.pause?.();
  }

  /** The transport reports the connection gone: deliver what it sent first, then netDown. */
  private transportDown(connection: Connection, reason: CloseReason, error: Error | undefined): void {
    this.drainBacklog(connection);
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.transportError = error;
    this.tap?.closed(reason);
    this.module.exports.netDown(this.clock.nowU32(), NetDownReason[reason] ?? NetDownReason.reset);
    this.settle();
    this.pump();
  }
}
