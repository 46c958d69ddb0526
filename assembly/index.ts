// The board ABI (boards/ABI.md): every export of the module. Numbers only cross the
// boundary; strings and payloads travel through the staging buffer.
import { STAGING_CAPACITY } from "./config";
import { OK, INVALID_ARGUMENT } from "./status";
import { validateTopicName, validateTopicFilter } from "./topic";
import { RX_BASE, STAGING_BASE, DROPPED_BASE, client, resetClient, clientTick } from "./client";
import { refreshStats } from "./stats";
import { appTick, appStats, resetTelemetry } from "./firmware/telemetry";

export {
  configure, setReconnect, setTimeouts, start, stop, netUp, netDown, rxSpace, rxCommit, publish,
} from "./client";
export { subscribe, unsubscribe } from "./requests";
export { boardConfigure, appConfigure, appStart, appStop } from "./firmware/telemetry";

/** Resets every region and table; call once after instantiation (there is no start function). */
export function init(): void {
  resetClient();
  resetTelemetry();
}

/**
 * Runs the timers (connect timeout, backoff, keepalive, the telemetry app's readings),
 * answers packets that waited for room, sends what is queued. Returns the ms until
 * the module next needs a tick (the host may call earlier).
 */
export function tick(now: u32): u32 {
  return min(clientTick(now), appTick(now));
}

/** Where the host writes strings and payloads before a call. */
export function stagingBuffer(): usize {
  return STAGING_BASE;
}

/** Size of the staging buffer in bytes. */
export function stagingCapacity(): u32 {
  return STAGING_CAPACITY;
}

/** Where the host writes the next received bytes (at most rxSpace() of them). */
export function rxBuffer(): usize {
  return RX_BASE + client.rxLength;
}

/** The topic name of len bytes in staging: OK, INVALID_TOPIC, or INVALID_ARGUMENT (len beyond staging). */
export function checkTopicName(len: u32): i32 {
  if (len > <u32>STAGING_CAPACITY) return INVALID_ARGUMENT;
  return validateTopicName(STAGING_BASE, len);
}

/** The topic filter of len bytes in staging: OK, INVALID_FILTER, or INVALID_ARGUMENT (len beyond staging). */
export function checkTopicFilter(len: u32): i32 {
  if (len > <u32>STAGING_CAPACITY) return INVALID_ARGUMENT;
  return validateTopicFilter(STAGING_BASE, len);
}

/** The record of the last PUBLISH skipped for its size: flags, topic length, size, topic (layout in boards/ABI.md). */
export function droppedMessage(): usize {
  return DROPPED_BASE;
}

/** The stats block, refreshed now (layout in boards/ABI.md). */
export function statsBuffer(): usize {
  return refreshStats();
}

/** The telemetry app's stats block (layout in boards/ABI.md). */
export function appStatsBuffer(): usize {
  return appStats();
}

/** The first byte the module never uses: its whole RAM need. */
export function staticDataEnd(): u32 {
  return <u32>__heap_base;
}
