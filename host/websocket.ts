/**
 * MQTT over WebSockets (`ws://`, `wss://`): the module's bytes carried in binary frames of a
 * WebSocket that asked for the `mqtt` subprotocol. Frames are only a carrier: a packet may
 * span frames and a frame may hold many packets, so the bytes of each frame go to the
 * module as they come, in order, like a TCP chunk. The socket is made by a factory, so the
 * same transport runs on the browser's `WebSocket` and, in Node, on the `ws` package's
 * (host/platform.ts); both have the API of {@link WebSocketLike}.
 *
 * @example
 * const transport = new WebSocketTransport("ws://127.0.0.1:8080/mqtt", (url, protocols) => new WebSocket(url, protocols));
 */
import type { Transport, TransportHandlers } from "./transport.ts";

/** The part of the WHATWG WebSocket API the transport uses (the browser's and `ws`'s). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: stop reading frames. */
  pause?(): void;
  resume?(): void;
  /** `ws` only: drop the connection without a closing handshake. */
  terminate?(): void;
}

/** Opens a WebSocket to `url` asking for `protocols`. */
export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

/** The subprotocol MQTT over WebSockets asks for (MQTT 3.1.1 §6.0). */
export const MQTT_SUBPROTOCOL = "mqtt";
/** WebSocket readyState OPEN. */
const OPEN = 1;
/** Close code of a normal closure (RFC 6455 §7.4.1). */
const NORMAL_CLOSURE = 1000;
/** Close code for data of a type the endpoint cannot accept (RFC 6455 §7.4.1): a text frame. */
const UNSUPPORTED_DATA = 1003;
/** `send` takes no more bytes while this many are still buffered in the socket. */
const HIGH_WATER_BYTES = 64 * 1024;
/** How often a full socket is looked at for room (a WebSocket has no drain event). */
const WRITABLE_POLL_MS = 5;
/** How long a closing socket may take to finish the closing handshake before it is dropped. */
const CLOSE_GRACE_MS = 1000;

/** One WebSocket to `url`, opened afresh on every `open`. */
export class WebSocketTransport implements Transport {
  private socket: WebSocketLike | undefined;
  private handlers: TransportHandlers | undefined;
  private writableTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly url: string,
    private readonly factory: WebSocketFactory,
  ) {}

  get label(): string {
    return this.url;
  }

  open(handlers: TransportHandlers): void {
    if (this.socket !== undefined) void this.close();
    const socket = this.factory(this.url, [MQTT_SUBPROTOCOL]);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    this.handlers = handlers;
    let opened = false;
    let failure: Error | undefined;
    const current = () => this.socket === socket;
    socket.onopen = () => {
      opened = true;
      if (current()) handlers.onOpen();
    };
    socket.onmessage = ({ data }) => {
      if (!current() || failure !== undefined) return; // nothing after a text frame is MQTT's
      if (data instanceof ArrayBuffer) {
        handlers.onData(new Uint8Array(data));
        return;
      }
      // MQTT 3.1.1 §6.0: packets travel in binary frames; any other frame closes the connection
      failure = new Error(`${this.url} sent a WebSocket text frame; MQTT travels in binary frames only`);
      socket.close(UNSUPPORTED_DATA, "binary frames only");
    };
    socket.onerror = (event) => {
      failure ??= socketError(event, this.url);
    };
    socket.onclose = ({ code, reason }) => {
      if (!current()) return;
      this.socket = undefined;
      this.stopWritablePoll();
      if (!opened) failure ??= new Error(`WebSocket connection to ${this.url} failed (close code ${code}${reason ? `: ${reason}` : ""})`);
      handlers.onClose(!opened ? "refused" : failure !== undefined || code !== NORMAL_CLOSURE ? "reset" : "closed", failure);
    };
  }

  send(bytes: Uint8Array): number {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== OPEN) return 0;
    if (socket.bufferedAmount >= HIGH_WATER_BYTES) {
      this.pollWritable(socket);
      return 0;
    }
    socket.send(bytes.slice());
    return bytes.length;
  }

  /** Starts the closing handshake after what was sent; resolves once the socket closed, or after a grace period (dropping it where the API allows). */
  close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.stopWritablePoll();
    if (socket === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate?.();
        resolve();
      }, CLOSE_GRACE_MS);
      socket.onclose = () => {
        clearTimeout(timer);
        resolve();
      };
      // closing a socket still connecting fails its handshake with an error event: heard, not thrown
      socket.onerror = () => {};
      socket.onmessage = null;
      socket.close(NORMAL_CLOSURE);
    });
  }

  /** The URL's port as the remote one; a WebSocket tells no local port. */
  ports(): { remote: number } {
    const url = new URL(this.url);
    return { remote: url.port !== "" ? Number(url.port) : url.protocol === "wss:" ? 443 : 80 };
  }

  pause(): void {
    this.socket?.pause?.();
  }

  resume(): void {
    this.socket?.resume?.();
  }

  /** Looks at a full socket every few ms and reports `onWritable` once it has room again. */
  private pollWritable(socket: WebSocketLike): void {
    if (this.writableTimer !== undefined) return;
    this.writableTimer = setTimeout(() => {
      this.writableTimer = undefined;
      if (this.socket !== socket) return;
      if (socket.bufferedAmount >= HIGH_WATER_BYTES) this.pollWritable(socket);
      else this.handlers?.onWritable?.();
    }, WRITABLE_POLL_MS);
  }

  private stopWritablePoll(): void {
    if (this.writableTimer !== undefined) clearTimeout(this.writableTimer);
    this.writableTimer = undefined;
  }
}

/** The Error behind a WebSocket "error" event: `ws` attaches it; a browser gives none. */
function socketError(event: unknown, url: string): Error {
  const { error, message } = (event ?? {}) as { error?: unknown; message?: unknown };
  if (error instanceof Error) return error;
  return new Error(typeof message === "string" && message !== "" ? message : `WebSocket error on ${url}`);
}
