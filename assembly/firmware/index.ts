// The telemetry firmware module (build/telemetry-<profile>.wasm): the client core plus
// the telemetry application, what the simulator, the soak and the boards run. An
// application on the core needs exactly this: re-export the core's ABI, register a
// message handler in init(), and run its own timers from tick().
import { resetClient, clientTick } from "../client";
import { setMessageHandler } from "../app";
import { appTick, receiveMessage } from "./telemetry";

export * from "../abi";
export { boardConfigure, appConfigure, appStart, appStop, appStatsBuffer } from "./telemetry";
export { appSetSleep } from "./sleep";

/**
 * Resets every region and table, the board and the app (their state lies in the
 * persistent block's application area, which resetClient empties); call once after
 * instantiation.
 */
export function init(): void {
  resetClient();
  setMessageHandler(receiveMessage);
}

/**
 * Runs the client's timers and the app's readings, answers packets that waited for
 * room, sends what is queued. Returns the ms until the module next needs a tick.
 */
export function tick(now: u32): u32 {
  return min(clientTick(now), appTick(now));
}
