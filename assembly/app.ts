// The application hook: how code built on the client core (the telemetry firmware in
// firmware/ is the worked example) receives its messages. The core imports nothing
// from any application; an application registers one handler from its module's init().
// The handler is a function reference (a static function, no closure): stored as its
// table index in a memory.data() word and called through call_indirect, so it needs
// no allocation and no import, and a module without an application never calls one.
import { onMessage } from "./host";

/** An application's view of one received message; flags as onMessage's (bit 0 retain, bit 1 dup, bits 2–3 QoS). */
export type MessageHandler = (topicPtr: usize, topicLen: u32, payloadPtr: usize, payloadLen: u32, flags: u32) => void;

/** The registered handler's Function object, or 0 when no application registered one. */
const HANDLER = memory.data(sizeof<usize>());

/** Registers the application's handler: it sees every received message before the host does. */
export function setMessageHandler(handler: MessageHandler): void {
  store<usize>(HANDLER, changetype<usize>(handler));
}

/** Forgets the application's handler (init() of a module without an application). */
export function clearMessageHandler(): void {
  store<usize>(HANDLER, 0);
}

/** Hands one received message to the application, if any, then to the host's onMessage. */
export function deliver(topicPtr: usize, topicLen: u32, payloadPtr: usize, payloadLen: u32, flags: u32): void {
  let handler = load<usize>(HANDLER);
  if (handler != 0) changetype<MessageHandler>(handler)(topicPtr, topicLen, payloadPtr, payloadLen, flags);
  onMessage(topicPtr, topicLen, payloadPtr, payloadLen, flags);
}
