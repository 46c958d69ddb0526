// Commands from devices/<id>/cmd: one flat JSON object, read in place without
// allocation. Recognised members (any order, others ignored):
//   "interval_s": 1 … 86400   reading interval in seconds
//   "read": true              read and publish now
//   "relay": true | false     switch the relay output
//   "led": true | false       switch the LED output

/** What a command payload asked for; fields stay as they were when absent. */
@unmanaged
export class Command {
  /** Bit set of the COMMAND_* members present. */
  present: u32;
  intervalSec: u32;
  relay: bool;
  led: bool;
}

export const COMMAND_INTERVAL: u32 = 1;
export const COMMAND_READ: u32 = 2;
export const COMMAND_RELAY: u32 = 4;
export const COMMAND_LED: u32 = 8;

/** Longest reading interval a command may set: one day. */
export const MAX_INTERVAL_SEC: u32 = 86400;

export const command = changetype<Command>(memory.data(offsetof<Command>()));

const QUOTE: u8 = 0x22;
const COLON: u8 = 0x3a;

/** True when the len bytes at ptr equal the ASCII literal. */
function equalsAscii(ptr: usize, len: u32, literal: string): bool {
  if (len != <u32>literal.length) return false;
  for (let i: u32 = 0; i < len; i++) {
    if (<u32>load<u8>(ptr + i) != <u32>literal.charCodeAt(i)) return false;
  }
  return true;
}

/** True for the JSON whitespace bytes. */
// @ts-ignore: decorator
@inline function isSpace(b: u8): bool {
  return b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d;
}

/** Index of the first non-space byte at or after i. */
function skipSpace(ptr: usize, len: u32, i: u32): u32 {
  while (i < len && isSpace(load<u8>(ptr + i))) i++;
  return i;
}

/**
 * Parses a command payload into `command`. Returns true when at least one recognised
 * member had a valid value; false for anything else (not an object, bad values),
 * leaving the device as it was.
 */
export function parseCommand(ptr: usize, len: u32): bool {
  command.present = 0;
  let i = skipSpace(ptr, len, 0);
  if (i >= len || load<u8>(ptr + i) != 0x7b) return false; // '{'
  i++;
  while (i < len) {
    i = skipSpace(ptr, len, i);
    if (i >= len || load<u8>(ptr + i) != QUOTE) break;
    let keyStart = i + 1;
    let keyEnd = keyStart;
    while (keyEnd < len && load<u8>(ptr + keyEnd) != QUOTE) keyEnd++;
    if (keyEnd >= len) return false;
    i = skipSpace(ptr, len, keyEnd + 1);
    if (i >= len || load<u8>(ptr + i) != COLON) return false;
    i = skipSpace(ptr, len, i + 1);
    let valueStart = i;
    while (i < len) {
      let b = load<u8>(ptr + i);
      if (b == 0x2c || b == 0x7d || isSpace(b)) break; // ',' '}'
      i++;
    }
    if (!readMember(ptr + keyStart, keyEnd - keyStart, ptr + valueStart, i - valueStart)) return false;
    i = skipSpace(ptr, len, i);
    if (i < len && load<u8>(ptr + i) == 0x2c) i++;
  }
  return command.present != 0;
}

/** Applies one member to `command`. Returns false when a recognised member has a bad value. */
function readMember(key: usize, keyLen: u32, value: usize, valueLen: u32): bool {
  if (equalsAscii(key, keyLen, "interval_s")) {
    let seconds = parseUint(value, valueLen);
    if (seconds < 1 || seconds > <i64>MAX_INTERVAL_SEC) return false;
    command.intervalSec = <u32>seconds;
    command.present |= COMMAND_INTERVAL;
  } else if (equalsAscii(key, keyLen, "read")) {
    if (!equalsAscii(value, valueLen, "true")) return false;
    command.present |= COMMAND_READ;
  } else if (equalsAscii(key, keyLen, "relay")) {
    let on = parseBool(value, valueLen);
    if (on < 0) return false;
    command.relay = on == 1;
    command.present |= COMMAND_RELAY;
  } else if (equalsAscii(key, keyLen, "led")) {
    let on = parseBool(value, valueLen);
    if (on < 0) return false;
    command.led = on == 1;
    command.present |= COMMAND_LED;
  }
  return true;
}

/** A decimal of 1–9 digits, or -1. */
function parseUint(ptr: usize, len: u32): i64 {
  if (len == 0 || len > 9) return -1;
  let value: i64 = 0;
  for (let i: u32 = 0; i < len; i++) {
    let digit = <i32>load<u8>(ptr + i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** 1 for true, 0 for false, -1 otherwise. */
function parseBool(ptr: usize, len: u32): i32 {
  if (equalsAscii(ptr, len, "true")) return 1;
  if (equalsAscii(ptr, len, "false")) return 0;
  return -1;
}
