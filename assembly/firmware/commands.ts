// Commands from devices/<id>/cmd: one JSON object (RFC 8259), read in place without
// allocation. Recognised members (any order, each at most once):
//   "interval_s": 1 … 86400   reading interval in seconds, digits only
//   "read": true              read and publish now
//   "relay": true | false     switch the relay output
//   "led": true | false       switch the LED output
// Other members are ignored whatever their (valid) value. A command is all or nothing:
// one fault anywhere refuses it whole.
import { JSON_INVALID, skipColon, skipLiteral, skipSpace, skipString, skipValue, stringEquals } from "./json";

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

/**
 * Parses a command payload into `command`. Returns true when the payload is one JSON
 * object (whitespace around it allowed) with at least one recognised member, none given
 * twice and each with a valid value; false for anything else, with `command.present` 0.
 */
export function parseCommand(ptr: usize, len: u32): bool {
  command.present = 0;
  let end = readObject(ptr, len, skipSpace(ptr, len, 0));
  if (end != JSON_INVALID && skipSpace(ptr, len, end) == len && command.present != 0) return true;
  command.present = 0;
  return false;
}

/** Reads the object that opens at i into `command`; the index after it, or JSON_INVALID. */
function readObject(ptr: usize, len: u32, i: u32): u32 {
  if (i >= len || load<u8>(ptr + i) != 0x7b) return JSON_INVALID; // '{'
  i = skipSpace(ptr, len, i + 1);
  if (i < len && load<u8>(ptr + i) == 0x7d) return i + 1; // '}'
  while (true) {
    let nameEnd = skipString(ptr, len, i);
    if (nameEnd == JSON_INVALID) return JSON_INVALID;
    let member = memberNamed(ptr, i, nameEnd);
    i = skipColon(ptr, len, nameEnd);
    i = member == 0 ? skipValue(ptr, len, i) : readMember(ptr, len, i, member);
    i = skipSpace(ptr, len, i);
    if (i >= len) return JSON_INVALID;
    let b = load<u8>(ptr + i);
    if (b == 0x7d) return i + 1; // '}'
    if (b != 0x2c) return JSON_INVALID; // ','
    i = skipSpace(ptr, len, i + 1);
  }
}

/** The COMMAND_* bit of the member name from start to end (as skipString returned), or 0 for others. */
function memberNamed(ptr: usize, start: u32, end: u32): u32 {
  if (stringEquals(ptr, start, end, "interval_s")) return COMMAND_INTERVAL;
  if (stringEquals(ptr, start, end, "read")) return COMMAND_READ;
  if (stringEquals(ptr, start, end, "relay")) return COMMAND_RELAY;
  if (stringEquals(ptr, start, end, "led")) return COMMAND_LED;
  return 0;
}

/**
 * Reads the value at i of a recognised member into `command`. Returns the index after
 * it, or JSON_INVALID for a repeated member or a value of the wrong type or range.
 */
function readMember(ptr: usize, len: u32, i: u32, member: u32): u32 {
  if ((command.present & member) != 0) return JSON_INVALID;
  command.present |= member;
  if (member == COMMAND_INTERVAL) return readInterval(ptr, len, i);
  let end = skipLiteral(ptr, len, i);
  if (end == JSON_INVALID || load<u8>(ptr + i) == 0x6e) return JSON_INVALID; // 'n': null
  let on = load<u8>(ptr + i) == 0x74; // 't': true, else false
  if (member == COMMAND_READ) return on ? end : JSON_INVALID;
  if (member == COMMAND_RELAY) command.relay = on;
  else command.led = on;
  return end;
}

/**
 * Reads an interval of 1…MAX_INTERVAL_SEC written as plain digits; the index after them,
 * or JSON_INVALID. A fraction or exponent after the digits is left for the caller to refuse.
 */
function readInterval(ptr: usize, len: u32, i: u32): u32 {
  if (i >= len) return JSON_INVALID;
  let digit = <u32>load<u8>(ptr + i) - 0x31;
  if (digit > 8) return JSON_INVALID; // 1–9: no zero, sign or leading zero
  let seconds: u32 = 0;
  while (i < len) {
    digit = <u32>load<u8>(ptr + i) - 0x30;
    if (digit > 9) break;
    if (seconds <= MAX_INTERVAL_SEC) seconds = seconds * 10 + digit; // stays above once above
    i++;
  }
  if (seconds > MAX_INTERVAL_SEC) return JSON_INVALID;
  command.intervalSec = seconds;
  return i;
}
