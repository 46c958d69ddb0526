// A transport to nowhere for tests of the host without a broker: it answers the CONNECT
// with a CONNACK and takes every byte; a test feeds the broker's side with `receive`.
import type { Transport, TransportHandlers } from "../../../host/index.ts";
import { connack } from "./mqtt-packets.ts";

/**
 * Answers the first send (the CONNECT) with `answer` a turn later, then hands every later
 * send to `sent`, which takes all of it unless a subclass says otherwise.
 *
 * @example
 * const transport = new AcceptingTransport();
 * const client = await connect("mqtt://127.0.0.1:1", { transport, keepalive: 0 });
 * transport.receive(publish("a/b", "x")); // as if the broker had sent it
 */
export class AcceptingTransport implements Transport {
  protected handlers: TransportHandlers | undefined;
  private connected = false;

  /** `answer`: the CONNACK to send (default: a 3.1.1 one accepting a clean session). */
  constructor(private readonly answer: Uint8Array = connack(false, 0)) {}

  open(handlers: TransportHandlers): void {
    this.handlers = handlers;
    setImmediate(() => handlers.onOpen());
  }

  send(bytes: Uint8Array): number {
    if (this.connected) return this.sent(bytes);
    this.connected = true;
    setImmediate(() => this.handlers?.onData(this.answer));
    return bytes.length;
  }

  /** What is sent after the CONNECT; returns how many bytes were taken (all of them here). */
  protected sent(bytes: Uint8Array): number {
    return bytes.length;
  }

  close(): void {}

  /** Delivers bytes to the module as if the broker had sent them. */
  receive(bytes: Uint8Array): void {
    this.handlers?.onData(bytes);
  }
}
