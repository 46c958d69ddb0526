/**
 * Transports: what the module's `netOpen` / `netSend` / `netClose` imports drive. A
 * transport only moves bytes; it never looks inside them. `TcpTransport` is a Node
 * socket; `TlsTransport` (host/tls.ts) and `WebSocketTransport` (host/websocket.ts) carry the
 * same bytes over TLS and WebSockets; the simulator's `NetworkLink` (host/sim/network.ts)
 * has the same shape.
 *
 * @example
 * const tcp = new TcpTransport("127.0.0.1", 1883);
 * tcp.open({ onOpen: () => tcp.send(bytes), onData: (chunk) => {}, onClose: (reason) => {} });
 */
import { type Socket, connect as connectSocket } from "node:net";
import { WriteBatch } from "./write-batch.ts";

/** Why a connection ended, as the transport saw it. */
export type CloseReason = "refused" | "reset" | "closed";

/** What a transport reports about the connection it opened. */
export interface TransportHandlers {
  /** The connection is up (the host answers `netUp`). */
  onOpen(): void;
  /** Bytes from the broker, in order; valid only during the call. */
  onData(bytes: Uint8Array): void;
  /**
   * The connection failed or ended (the host answers `netDown`). Never called after the
   * host's own `close()`. `error` is the underlying failure, when there was one.
   */
  onClose(reason: CloseReason, error?: Error): void;
  /** `send` takes bytes again after it returned less than it was offered. */
  onWritable?(): void;
}

/** A byte stream to one broker. */
export interface Transport {
  /** Starts a connection; `onOpen` or `onClose("refused")` follows, never synchronously. */
  open(handlers: TransportHandlers): void;
  /** Queues bytes (copied before returning); returns how many were taken, 0 when none can be now. */
  send(bytes: Uint8Array): number;
  /**
   * Closes the connection after the bytes already taken; resolves (if it returns a promise)
   * once it is really gone. No `onClose` follows.
   */
  close(): void | Promise<void>;
  /** Stop delivering `onData` until `resume` (the module's receive buffer is full). */
  pause?(): void;
  resume?(): void;
  /** Where the transport connects, for messages. */
  readonly label?: string;
  /** The open connection's local and remote TCP ports, those the transport knows (for a pcap trace). */
  ports?(): { local?: number; remote?: number };
}

/** How long a closing socket may take to flush and see the broker close before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** A TCP connection to `host:port` (Nagle off, each turn's sends in one write), opened afresh on every `open`. */
export class TcpTransport implements Transport {
  private socket: Socket | undefined;
  /** The socket event that means the connection is up. */
  protected readonly openEvent: string = "connect";
  private batch: WriteBatch | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  get label(): string {
    return `${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`;
  }

  open(handlers: TransportHandlers): void {
    if (this.socket !== undefined) void this.close();
    const socket = this.dial();
    this.socket = socket;
    this.batch = new WriteBatch(socket);
    let opened = false;
    let failure: Error | undefined;
    const current = () => this.socket === socket;
    socket.on(this.openEvent, () => {
      opened = true;
      if (current()) handlers.onOpen();
    });
    socket.on("data", (chunk: Buffer) => {
      if (current()) handlers.onData(chunk);
    });
    socket.on("drain", () => {
      if (current()) handlers.onWritable?.();
    });
    socket.on("error", (error) => {
      failure = this.failure(socket, error, opened);
    });
    socket.on("close", () => {
      if (!current()) return;
      this.socket = undefined;
      handlers.onClose(!opened ? "refused" : failure !== undefined ? "reset" : "closed", failure);
    });
  }

  /** Starts the connection (Nagle off). */
  protected dial(): Socket {
    const socket = connectSocket({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    return socket;
  }

  /** The error `onClose` reports for a socket error (`opened`: the connection was up). */
  protected failure(_socket: Socket, error: Error, _opened: boolean): Error {
    return error;
  }

  send(bytes: Uint8Array): number {
    const socket = this.socket;
    if (socket === undefined || socket.connecting || !socket.writable) return 0;
    return this.batch!.take(bytes);
  }

  /** Half-closes after what was written (so a DISCONNECT arrives), reads to the end, and destroys the socket once the broker closes or after a grace period. */
  close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.batch?.flush();
    this.batch = undefined;
    if (socket === undefined || socket.destroyed) return Promise.resolve();
    const gone = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    if (socket.connecting) {
      socket.destroy();
      return gone;
    }
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    socket.resume();
    socket.end();
    return gone;
  }

  ports(): { local?: number; remote?: number } {
    return { local: this.socket?.localPort, remote: this.socket?.remotePort };
  }

  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }
}
