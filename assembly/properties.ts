// MQTT 5.0 Properties (MQTT 5.0 §2.2.2) over (ptr, len): the property table, a decoder
// that validates a whole property block and records what it found, and the writers the
// encoders use. Pure: no state but the decode results below; every read is checked
// against the bytes present. A Variable Byte Integer is the Remaining Length encoding
// (§1.5.5), so codec.ts's Remaining Length functions read and write it; reading one
// overwrites decoded.remainingLength / lengthBytes, which the receive path has used by then.
import { OK } from "./status";
import { PUBLISH, decoded, decodeRemainingLength, encodeRemainingLength, remainingLengthSize, readU16, writeU16, writeField } from "./codec";
import { REASON_SUCCESS, REASON_MALFORMED_PACKET, REASON_PROTOCOL_ERROR, REASON_TOPIC_ALIAS_INVALID } from "./reasons";
import { isValidUtf8 } from "./topic";

// Property identifiers (§2.2.2.2, Table 2-4). Every one is a single byte in MQTT 5.0.
export const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
export const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
export const CONTENT_TYPE: u8 = 0x03;
export const RESPONSE_TOPIC: u8 = 0x08;
export const CORRELATION_DATA: u8 = 0x09;
export const SUBSCRIPTION_IDENTIFIER: u8 = 0x0b;
export const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
export const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
export const SERVER_KEEP_ALIVE: u8 = 0x13;
export const AUTHENTICATION_METHOD: u8 = 0x15;
export const AUTHENTICATION_DATA: u8 = 0x16;
export const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
export const WILL_DELAY_INTERVAL: u8 = 0x18;
export const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
export const RESPONSE_INFORMATION: u8 = 0x1a;
export const SERVER_REFERENCE: u8 = 0x1c;
export const REASON_STRING: u8 = 0x1f;
export const RECEIVE_MAXIMUM: u8 = 0x21;
export const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
export const TOPIC_ALIAS: u8 = 0x23;
export const MAXIMUM_QOS: u8 = 0x24;
export const RETAIN_AVAILABLE: u8 = 0x25;
export const USER_PROPERTY: u8 = 0x26;
export const MAXIMUM_PACKET_SIZE: u8 = 0x27;
export const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
export const SUBSCRIPTION_IDENTIFIERS_AVAILABLE: u8 = 0x29;
export const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2a;

/**
 * decodeProperties' packet type for the Will Properties of a CONNECT payload (§3.1.3.2).
 * Control packet type 0 is reserved (§2.1.2), so its bit in the table's masks is free.
 */
export const WILL_PROPERTIES: u32 = 0;

/** Results of the last successful decodeProperties call; pointers point into the packet. */
@unmanaged
export class Properties {
  /** Bit (1 << identifier) is set for every property the block contains. */
  present: u64;
  /** The block: its content (after the Property Length) and its size with the length field. */
  contentPtr: usize;
  contentLen: u32;
  size: u32;
  /** How many User Properties and Subscription Identifiers; walk them with nextUserProperty / nextSubscriptionIdentifier. */
  userPropertyCount: u32;
  subscriptionIdentifierCount: u32;
  /** Numeric properties; valid when present. */
  payloadFormatIndicator: u32;
  messageExpiryInterval: u32;
  /** The first Subscription Identifier, or the one nextSubscriptionIdentifier found. */
  subscriptionIdentifier: u32;
  sessionExpiryInterval: u32;
  serverKeepAlive: u32;
  requestProblemInformation: u32;
  willDelayInterval: u32;
  requestResponseInformation: u32;
  receiveMaximum: u32;
  topicAliasMaximum: u32;
  topicAlias: u32;
  maximumQos: u32;
  retainAvailable: u32;
  maximumPacketSize: u32;
  wildcardSubscriptionAvailable: u32;
  subscriptionIdentifiersAvailable: u32;
  sharedSubscriptionAvailable: u32;
  /** UTF-8 strings and binary data, as (ptr, len); valid when present. */
  contentTypePtr: usize;
  contentTypeLen: u32;
  responseTopicPtr: usize;
  responseTopicLen: u32;
  correlationDataPtr: usize;
  correlationDataLen: u32;
  assignedClientIdentifierPtr: usize;
  assignedClientIdentifierLen: u32;
  authenticationMethodPtr: usize;
  authenticationMethodLen: u32;
  authenticationDataPtr: usize;
  authenticationDataLen: u32;
  responseInformationPtr: usize;
  responseInformationLen: u32;
  serverReferencePtr: usize;
  serverReferenceLen: u32;
  reasonStringPtr: usize;
  reasonStringLen: u32;
  /** The User Property nextUserProperty found: its name and value. */
  userNamePtr: usize;
  userNameLen: u32;
  userValuePtr: usize;
  userValueLen: u32;
}

export const properties = changetype<Properties>(memory.data(offsetof<Properties>()));

// ---- the property table (§2.2.2.2, Table 2-4) --------------------------------
// One u32 per identifier 0..42: bits 0-3 the data type, bits 4-7 the value rule, bits
// 8-15 the field of Properties that keeps the value, bits 16-31 the packets that may
// carry it (bit 16 + packet type; WILL_PROPERTIES is bit 16). A zero entry is no property.

// Data types (§1.5, §2.2.2.2).
// @ts-ignore: decorator
@inline const BYTE: u32 = 1;
// @ts-ignore: decorator
@inline const TWO_BYTE_INTEGER: u32 = 2;
// @ts-ignore: decorator
@inline const FOUR_BYTE_INTEGER: u32 = 3;
// @ts-ignore: decorator
@inline const VARIABLE_BYTE_INTEGER: u32 = 4;
// @ts-ignore: decorator
@inline const UTF8_STRING: u32 = 5;
// @ts-ignore: decorator
@inline const BINARY_DATA: u32 = 6;
// @ts-ignore: decorator
@inline const UTF8_STRING_PAIR: u32 = 7;

// Value rules beyond the data type (none: 0).
/** 0 is a Protocol Error: Receive Maximum, Maximum Packet Size, Subscription Identifier. */
// @ts-ignore: decorator
@inline const NON_ZERO: u32 = 1 << 4;
/** Only 0 and 1 are defined; anything else is a Protocol Error. */
// @ts-ignore: decorator
@inline const ZERO_OR_ONE: u32 = 2 << 4;
/** 0 is not permitted as a Topic Alias (§3.3.2.3.4): Topic Alias invalid. */
// @ts-ignore: decorator
@inline const ALIAS: u32 = 3 << 4;

// Packets (bit 16 + packet type).
// @ts-ignore: decorator
@inline const IN_WILL: u32 = 1 << 16;
// @ts-ignore: decorator
@inline const IN_CONNECT: u32 = 1 << 17;
// @ts-ignore: decorator
@inline const IN_CONNACK: u32 = 1 << 18;
// @ts-ignore: decorator
@inline const IN_PUBLISH: u32 = 1 << 19;
// @ts-ignore: decorator
@inline const IN_ACKS: u32 = (1 << 20) | (1 << 21) | (1 << 22) | (1 << 23); // PUBACK, PUBREC, PUBREL, PUBCOMP
// @ts-ignore: decorator
@inline const IN_SUBSCRIBE: u32 = 1 << 24;
// @ts-ignore: decorator
@inline const IN_SUBACK: u32 = 1 << 25;
// @ts-ignore: decorator
@inline const IN_UNSUBSCRIBE: u32 = 1 << 26;
// @ts-ignore: decorator
@inline const IN_UNSUBACK: u32 = 1 << 27;
// @ts-ignore: decorator
@inline const IN_DISCONNECT: u32 = 1 << 30;
// @ts-ignore: decorator
@inline const IN_AUTH: u32 = 1 << 31;

const TABLE = memory.data<u32>([
  0, // 0x00: no property
  BYTE | ZERO_OR_ONE | (<u32>offsetof<Properties>("payloadFormatIndicator") << 8) | IN_PUBLISH | IN_WILL, // 0x01 §3.3.2.3.2, §3.1.3.2.3
  FOUR_BYTE_INTEGER | (<u32>offsetof<Properties>("messageExpiryInterval") << 8) | IN_PUBLISH | IN_WILL, // 0x02 §3.3.2.3.3, §3.1.3.2.4
  UTF8_STRING | (<u32>offsetof<Properties>("contentTypePtr") << 8) | IN_PUBLISH | IN_WILL, // 0x03 §3.3.2.3.9, §3.1.3.2.5
  0, 0, 0, 0, // 0x04-0x07
  UTF8_STRING | (<u32>offsetof<Properties>("responseTopicPtr") << 8) | IN_PUBLISH | IN_WILL, // 0x08 §3.3.2.3.5, §3.1.3.2.6
  BINARY_DATA | (<u32>offsetof<Properties>("correlationDataPtr") << 8) | IN_PUBLISH | IN_WILL, // 0x09 §3.3.2.3.6, §3.1.3.2.7
  0, // 0x0a
  VARIABLE_BYTE_INTEGER | NON_ZERO | (<u32>offsetof<Properties>("subscriptionIdentifier") << 8) | IN_PUBLISH | IN_SUBSCRIBE, // 0x0b §3.3.2.3.8, §3.8.2.1.2
  0, 0, 0, 0, 0, // 0x0c-0x10
  FOUR_BYTE_INTEGER | (<u32>offsetof<Properties>("sessionExpiryInterval") << 8) | IN_CONNECT | IN_CONNACK | IN_DISCONNECT, // 0x11 §3.1.2.11.2, §3.2.2.3.2, §3.14.2.2.2
  UTF8_STRING | (<u32>offsetof<Properties>("assignedClientIdentifierPtr") << 8) | IN_CONNACK, // 0x12 §3.2.2.3.7
  TWO_BYTE_INTEGER | (<u32>offsetof<Properties>("serverKeepAlive") << 8) | IN_CONNACK, // 0x13 §3.2.2.3.14
  0, // 0x14
  UTF8_STRING | (<u32>offsetof<Properties>("authenticationMethodPtr") << 8) | IN_CONNECT | IN_CONNACK | IN_AUTH, // 0x15 §3.1.2.11.9, §3.2.2.3.17, §3.15.2.2.2
  BINARY_DATA | (<u32>offsetof<Properties>("authenticationDataPtr") << 8) | IN_CONNECT | IN_CONNACK | IN_AUTH, // 0x16 §3.1.2.11.10, §3.2.2.3.18, §3.15.2.2.3
  BYTE | ZERO_OR_ONE | (<u32>offsetof<Properties>("requestProblemInformation") << 8) | IN_CONNECT, // 0x17 §3.1.2.11.7
  FOUR_BYTE_INTEGER | (<u32>offsetof<Properties>("willDelayInterval") << 8) | IN_WILL, // 0x18 §3.1.3.2.2
  BYTE | ZERO_OR_ONE | (<u32>offsetof<Properties>("requestResponseInformation") << 8) | IN_CONNECT, // 0x19 §3.1.2.11.6
  UTF8_STRING | (<u32>offsetof<Properties>("responseInformationPtr") << 8) | IN_CONNACK, // 0x1a §3.2.2.3.15
  0, // 0x1b
  UTF8_STRING | (<u32>offsetof<Properties>("serverReferencePtr") << 8) | IN_CONNACK | IN_DISCONNECT, // 0x1c §3.2.2.3.16, §3.14.2.2.5
  0, 0, // 0x1d-0x1e
  UTF8_STRING | (<u32>offsetof<Properties>("reasonStringPtr") << 8) | IN_CONNACK | IN_ACKS | IN_SUBACK | IN_UNSUBACK | IN_DISCONNECT | IN_AUTH, // 0x1f §3.2.2.3.9, §3.4.2.2.2, …
  0, // 0x20
  TWO_BYTE_INTEGER | NON_ZERO | (<u32>offsetof<Properties>("receiveMaximum") << 8) | IN_CONNECT | IN_CONNACK, // 0x21 §3.1.2.11.3, §3.2.2.3.3
  TWO_BYTE_INTEGER | (<u32>offsetof<Properties>("topicAliasMaximum") << 8) | IN_CONNECT | IN_CONNACK, // 0x22 §3.1.2.11.5, §3.2.2.3.8
  TWO_BYTE_INTEGER | ALIAS | (<u32>offsetof<Properties>("topicAlias") << 8) | IN_PUBLISH, // 0x23 §3.3.2.3.4
  BYTE | ZERO_OR_ONE | (<u32>offsetof<Properties>("maximumQos") << 8) | IN_CONNACK, // 0x24 §3.2.2.3.4
  BYTE | ZERO_OR_ONE | (<u32>offsetof<Properties>("retainAvailable") << 8) | IN_CONNACK, // 0x25 §3.2.2.3.5
  UTF8_STRING_PAIR | IN_CONNECT | IN_CONNACK | IN_PUBLISH | IN_WILL | IN_ACKS | IN_SUBSCRIBE | IN_SUBACK | IN_UNSUBSCRIBE | IN_UNSUBACK | IN_DISCONNECT | IN_AUTH, // 0x26 §3.1.2.11.8, …
  FOUR_BYTE_INTEGER | NON_ZERO | (<u32>offsetof<Properties>("maximumPacketSize") << 8) | IN_CONNECT | IN_CONNACK, // 0x27 §3.1.2.11.4, §3.2.2.3.6
  BYTE | ZERO_OR_ONE | (<u32>offsetof<Properties>("wildcardSubscriptionAvailable") << 8) | IN_CONNACK, // 0x28 §3.2.2.3.11
  BYTE | ZERO_OR_ONE | (<u32>offsetof<Properties>("subscriptionIdentifiersAvailable") << 8) | IN_CONNACK, // 0x29 §3.2.2.3.12
  BYTE | ZERO_OR_ONE | (<u32>offsetof<Properties>("sharedSubscriptionAvailable") << 8) | IN_CONNACK, // 0x2a §3.2.2.3.13
]);
// @ts-ignore: decorator
@inline const LAST_IDENTIFIER: u32 = 0x2a;

/** True when a property with this table entry may appear in this packet type (0..15); false for no property. */
function isAllowed(entry: u32, packetType: u32): bool {
  return packetType <= 15 && ((entry >> (16 + packetType)) & 1) != 0;
}

/** The table entry of an identifier byte, 0 when no property has it. */
function entryOf(identifier: u32): u32 {
  return identifier <= LAST_IDENTIFIER ? load<u32>(TABLE + (identifier << 2)) : 0;
}

// ---- primitives ----------------------------------------------------------------

/** Reads a Four Byte Integer (§1.5.3, big-endian). */
// @ts-ignore: decorator
@inline export function readU32(ptr: usize): u32 {
  return (readU16(ptr) << 16) | readU16(ptr + 2);
}

/** Writes a Four Byte Integer (§1.5.3, big-endian). */
// @ts-ignore: decorator
@inline export function writeU32(ptr: usize, value: u32): void {
  writeU16(ptr, value >> 16);
  writeU16(ptr + 2, value);
}

/**
 * Bytes of a value of this data type at ptr, read no further than end, or 0 when the
 * bytes end inside it or a Variable Byte Integer takes a fifth byte (§1.5.5).
 */
function valueSize(type: u32, ptr: usize, end: usize): u32 {
  let room = <u32>(end - ptr);
  let size: u32;
  if (type == BYTE) size = 1;
  else if (type == TWO_BYTE_INTEGER) size = 2;
  else if (type == FOUR_BYTE_INTEGER) size = 4;
  else if (type == VARIABLE_BYTE_INTEGER) return decodeRemainingLength(ptr, room) == OK ? decoded.lengthBytes : 0;
  else {
    if (room < 2) return 0;
    size = 2 + readU16(ptr);
    if (type == UTF8_STRING_PAIR && size + 2 <= room) size += 2 + readU16(ptr + size);
  }
  return size <= room ? size : 0;
}

/** The numeric value of a Byte, Two / Four Byte Integer or Variable Byte Integer at ptr, already sized by valueSize. */
function numericValue(type: u32, ptr: usize): u32 {
  if (type == BYTE) return load<u8>(ptr);
  if (type == TWO_BYTE_INTEGER) return readU16(ptr);
  if (type == FOUR_BYTE_INTEGER) return readU32(ptr);
  decodeRemainingLength(ptr, 4);
  return decoded.remainingLength;
}

// ---- decoder -----------------------------------------------------------------

/**
 * True when the property with this identifier may appear more than once: User Property
 * (§3.1.2.11.8 and its siblings) always, Subscription Identifier in a PUBLISH (§3.3.2.3.8);
 * for every other property "it is a Protocol Error to include it more than once".
 */
function mayRepeat(identifier: u32, packetType: u32): bool {
  return identifier == USER_PROPERTY || (identifier == SUBSCRIPTION_IDENTIFIER && packetType == PUBLISH);
}

/**
 * Decodes the property block at ptr: its Property Length (a Variable Byte Integer,
 * §2.2.2.1), then that many bytes of properties, which must lie within the len bytes.
 * packetType is the control packet type (§2.1.2) or WILL_PROPERTIES. Returns
 * REASON_SUCCESS (`properties` set; properties.size is the bytes the block took) or, with
 * `properties` empty, the Reason Code to DISCONNECT with:
 * - REASON_MALFORMED_PACKET: the length or a value runs past the bytes, a Variable Byte
 *   Integer takes five bytes (§1.5.5), an unknown identifier or one this packet may not
 *   carry (§2.2.2.2), a string that is not well-formed UTF-8 or holds U+0000 (§1.5.4);
 * - REASON_PROTOCOL_ERROR: a property other than User Property (or a PUBLISH's
 *   Subscription Identifier) twice, a 0 where the property forbids it (Receive Maximum,
 *   Maximum Packet Size, Subscription Identifier), a value other than 0 or 1 where only
 *   those are defined, Authentication Data without Authentication Method (§3.1.2.11.10);
 * - REASON_TOPIC_ALIAS_INVALID: a Topic Alias of 0 (§3.3.2.3.4).
 */
export function decodeProperties(packetType: u32, ptr: usize, len: u32): u32 {
  clearProperties();
  let reason = decodeBlock(packetType, ptr, len);
  if (reason != REASON_SUCCESS) clearProperties(); // nothing of a bad block stays behind
  return reason;
}

/** decodeProperties' work; on failure `properties` holds part of the block. */
function decodeBlock(packetType: u32, ptr: usize, len: u32): u32 {
  if (decodeRemainingLength(ptr, len) != OK) return REASON_MALFORMED_PACKET;
  let lengthBytes = decoded.lengthBytes;
  let contentLen = decoded.remainingLength;
  if (contentLen > len - lengthBytes) return REASON_MALFORMED_PACKET;
  let at = ptr + lengthBytes;
  let end = at + contentLen;
  properties.contentPtr = at;
  properties.contentLen = contentLen;
  properties.size = lengthBytes + contentLen;
  while (at < end) {
    let identifier = <u32>load<u8>(at);
    let entry = entryOf(identifier);
    if (!isAllowed(entry, packetType)) return REASON_MALFORMED_PACKET;
    let size = valueSize(entry & 0xf, at + 1, end);
    if (size == 0) return REASON_MALFORMED_PACKET;
    if (hasProperty(identifier) && !mayRepeat(identifier, packetType)) return REASON_PROTOCOL_ERROR;
    let reason = record(identifier, entry, at + 1);
    if (reason != REASON_SUCCESS) return reason;
    at += 1 + size;
  }
  let authenticationDataAlone = hasProperty(AUTHENTICATION_DATA) && !hasProperty(AUTHENTICATION_METHOD);
  return authenticationDataAlone ? REASON_PROTOCOL_ERROR : REASON_SUCCESS;
}

/** Records an empty block: for a packet whose properties are omitted (§3.4.2.1, §3.14.2.1, §3.15.2.1). */
export function clearProperties(): void {
  properties.present = 0;
  properties.contentLen = 0;
  properties.size = 0;
  properties.userPropertyCount = 0;
  properties.subscriptionIdentifierCount = 0;
}

/** True when the last decoded block contains the property with this identifier. */
export function hasProperty(identifier: u32): bool {
  return ((properties.present >> <u64>identifier) & 1) != 0;
}

/** Validates and keeps one property value at ptr (already sized). Returns REASON_SUCCESS or the code decodeProperties returns for it. */
function record(identifier: u32, entry: u32, ptr: usize): u32 {
  properties.present |= <u64>1 << <u64>identifier;
  let type = entry & 0xf;
  let slot = changetype<usize>(properties) + ((entry >> 8) & 0xff);
  if (type == UTF8_STRING_PAIR) {
    properties.userPropertyCount++;
    let nameLen = readU16(ptr);
    let value = ptr + 2 + nameLen;
    return isValidUtf8(ptr + 2, nameLen) && isValidUtf8(value + 2, readU16(value)) ? REASON_SUCCESS : REASON_MALFORMED_PACKET;
  }
  if (type == UTF8_STRING || type == BINARY_DATA) {
    let len = readU16(ptr);
    if (type == UTF8_STRING && !isValidUtf8(ptr + 2, len)) return REASON_MALFORMED_PACKET;
    store<usize>(slot, ptr + 2);
    store<u32>(slot + sizeof<usize>(), len);
    return REASON_SUCCESS;
  }
  let value = numericValue(type, ptr);
  let rule = entry & 0xf0;
  if (rule == NON_ZERO && value == 0) return REASON_PROTOCOL_ERROR;
  if (rule == ZERO_OR_ONE && value > 1) return REASON_PROTOCOL_ERROR;
  if (rule == ALIAS && value == 0) return REASON_TOPIC_ALIAS_INVALID;
  if (identifier == SUBSCRIPTION_IDENTIFIER) {
    properties.subscriptionIdentifierCount++;
    if (properties.subscriptionIdentifierCount > 1) return REASON_SUCCESS; // keep the first
  }
  store<u32>(slot, value);
  return REASON_SUCCESS;
}

// ---- walking the repeatable properties -------------------------------------------

/**
 * The address of the value of the next property with this identifier in the last
 * decoded block, at or after cursor (0: from the block's start), or 0 when none is left.
 */
function seek(cursor: usize, identifier: u32): usize {
  let at = cursor == 0 ? properties.contentPtr : cursor;
  let end = properties.contentPtr + properties.contentLen;
  while (at < end) {
    let found = <u32>load<u8>(at);
    if (found == identifier) return at + 1;
    at += 1 + valueSize(entryOf(found) & 0xf, at + 1, end);
  }
  return 0;
}

/**
 * Finds the next User Property of the last decoded block, from cursor (0 for the first).
 * Returns the cursor for the next call, with properties.userName / userValue set, or 0
 * when there is none. The packet's bytes must still be where they were decoded.
 */
export function nextUserProperty(cursor: usize): usize {
  let pair = seek(cursor, USER_PROPERTY);
  if (pair == 0) return 0;
  let nameLen = readU16(pair);
  let value = pair + 2 + nameLen;
  properties.userNamePtr = pair + 2;
  properties.userNameLen = nameLen;
  properties.userValuePtr = value + 2;
  properties.userValueLen = readU16(value);
  return properties.userValuePtr + properties.userValueLen;
}

/**
 * Finds the next Subscription Identifier of the last decoded block, from cursor (0 for
 * the first). Returns the cursor for the next call, with properties.subscriptionIdentifier
 * set, or 0 when there is none.
 */
export function nextSubscriptionIdentifier(cursor: usize): usize {
  let value = seek(cursor, SUBSCRIPTION_IDENTIFIER);
  if (value == 0) return 0;
  decodeRemainingLength(value, 4);
  properties.subscriptionIdentifier = decoded.remainingLength;
  return value + decoded.lengthBytes;
}

// ---- encoder ---------------------------------------------------------------------
// Size first, then write: each writer returns the bytes it wrote, which its size
// function states beforehand. A block is its Property Length, then its properties.

/** Bytes of a property block whose properties take contentLen bytes (§2.2.2.1). */
export function propertiesLength(contentLen: u32): u32 {
  return remainingLengthSize(contentLen) + contentLen;
}

/** Writes a Property Length of contentLen (§2.2.2.1); returns its size (1..4). */
export function writePropertyLength(ptr: usize, contentLen: u32): u32 {
  return encodeRemainingLength(ptr, contentLen);
}

/** Writes a whole block: the Property Length, then the contentLen bytes at src. Returns propertiesLength(contentLen). */
export function writeProperties(ptr: usize, src: usize, contentLen: u32): u32 {
  let n = writePropertyLength(ptr, contentLen);
  memory.copy(ptr + n, src, contentLen);
  return n + contentLen;
}

/** Writes a Byte property (identifier, value). Returns 2. */
export function writeByteProperty(ptr: usize, identifier: u8, value: u32): u32 {
  store<u8>(ptr, identifier);
  store<u8>(ptr + 1, <u8>value);
  return 2;
}

/** Writes a Two Byte Integer property. Returns 3. */
export function writeTwoByteProperty(ptr: usize, identifier: u8, value: u32): u32 {
  store<u8>(ptr, identifier);
  writeU16(ptr + 1, value);
  return 3;
}

/** Writes a Four Byte Integer property. Returns 5. */
export function writeFourByteProperty(ptr: usize, identifier: u8, value: u32): u32 {
  store<u8>(ptr, identifier);
  writeU32(ptr + 1, value);
  return 5;
}

/** Bytes of a Variable Byte Integer property holding value (<= 268435455). */
export function variableBytePropertySize(value: u32): u32 {
  return 1 + remainingLengthSize(value);
}

/** Writes a Variable Byte Integer property (value <= 268435455). Returns variableBytePropertySize(value). */
export function writeVariableByteProperty(ptr: usize, identifier: u8, value: u32): u32 {
  store<u8>(ptr, identifier);
  return 1 + encodeRemainingLength(ptr + 1, value);
}

/** Bytes of a UTF-8 Encoded String or Binary Data property of len bytes. */
export function stringPropertySize(len: u32): u32 {
  return 3 + len;
}

/**
 * Writes a UTF-8 Encoded String or Binary Data property (both a two-byte length and the
 * bytes, §1.5.4, §1.5.6) from the len bytes at src. Returns stringPropertySize(len).
 */
export function writeStringProperty(ptr: usize, identifier: u8, src: usize, len: u32): u32 {
  store<u8>(ptr, identifier);
  return 1 + writeField(ptr + 1, src, len);
}

/** Bytes of a User Property whose name and value take nameLen and valueLen bytes. */
export function userPropertySize(nameLen: u32, valueLen: u32): u32 {
  return 5 + nameLen + valueLen;
}

/** Writes a User Property, a UTF-8 String Pair (§1.5.7). Returns userPropertySize(nameLen, valueLen). */
export function writeUserProperty(ptr: usize, namePtr: usize, nameLen: u32, valuePtr: usize, valueLen: u32): u32 {
  store<u8>(ptr, USER_PROPERTY);
  let n = 1 + writeField(ptr + 1, namePtr, nameLen);
  return n + writeField(ptr + n, valuePtr, valueLen);
}
