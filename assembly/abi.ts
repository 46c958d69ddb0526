// The board ABI (boards/ABI.md) that every module kind shares: the client core's
// exports. Numbers only cross the boundary; strings and payloads travel through the
// staging buffer. Each module's entry file re-exports this and adds its own init() and
// tick(): assembly/index.ts (the client module), assembly/firmware/index.ts (the
// telemetry firmware module).
import { STAGING_CAPACITY } from "./config";
import { INVALID_ARGUMENT } from "./status";
import { validateTopicName, validateTopicFilter } from "./topic";
import { RX_BASE, STAGING_BASE, DROPPED_BASE, client } from "./client";
import { Decoded, decoded } from "./codec";
import { refreshStats } from "./stats";
import { Properties, properties } from "./properties";

export {
  configure, setProtocol, setReconnect, setTimeouts, setInflightWindow, start, stop, disconnect, disconnectWithProperties, netUp, netDown, rxSpace, rxCommit, publish,
  publishWithProperties,
} from "./client";
export { subscribe, subscribeWithIdentifier, subscribeWithProperties, unsubscribe, unsubscribeWithProperties } from "./requests";
export {
  persistBase, persistLength, persistGeneration, persistHoldPubrel, persistPrepare, persistCheck, persistRestore,
} from "./persist";

// The memory map for runtimes that size linear memory from it (WAMR keeps only
// [0, __heap_base) of a module that never grows memory): static data ends at
// __data_end, the shadow stack lies in [__data_end, __heap_base), nothing lies above.
export { __data_end, __heap_base };

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

/**
 * The record of the last MQTT 5 property block decoded: u32 address and u32 length of its
 * properties (after the Property Length). Valid during the onMessage / onEvent call that
 * reports its packet (boards/ABI.md, "MQTT 5"); the address never changes.
 */
export function propertiesRecord(): usize {
  return changetype<usize>(properties) + offsetof<Properties>("contentPtr");
}

/**
 * The record of the Reason Codes of the last SUBACK or MQTT 5 UNSUBACK: u32 address and u32
 * count, one code per filter in its request's order (an UNSUBACK event with no codes: 0).
 * Valid during the SUBACK / UNSUBACK events (boards/ABI.md, "MQTT 5"); the address never changes.
 */
export function reasonCodes(): usize {
  return changetype<usize>(decoded) + offsetof<Decoded>("codesPtr");
}

/** The stats block, refreshed now (layout in boards/ABI.md). */
export function statsBuffer(): usize {
  return refreshStats();
}

/** The first byte the module never uses: its whole RAM need. */
export function staticDataEnd(): u32 {
  return <u32>__heap_base;
}
