// The client module (build/client-<profile>.wasm): the MQTT client core alone, with no
// application. What the Node API and the CLI load; boards/ABI.md lists its exports.
import { resetClient, clientTick } from "./client";
import { clearMessageHandler } from "./app";

export * from "./abi";

/** Resets every region and table; call once after instantiation (there is no start function). */
export function init(): void {
  resetClient();
  clearMessageHandler();
}

/**
 * Runs the timers (connect timeout, backoff, keepalive), answers packets that waited
 * for room, sends what is queued. Returns the ms until the module next needs a tick
 * (the host may call earlier).
 */
export function tick(now: u32): u32 {
  return clientTick(now);
}
