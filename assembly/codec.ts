// MQTT 3.1.1 serializer and deserializer over (ptr, len). Pure: no state but the
// decode results below. Every read is checked against the bytes really present;
// every encoder has a size function so callers can refuse before writing a byte.
import { OK, MALFORMED_PACKET, PROTOCOL_ERROR } from "./status";

// Control packet types (MQTT 3.1.1 §2.2.1).
export const CONNECT: u8 = 1;
export const CONNACK: u8 = 2;
export const PUBLISH: u8 = 3;
export const PUBACK: u8 = 4;
export const PUBREC: u8 = 5;
export const PUBREL: u8 = 6;
export const PUBCOMP: u8 = 7;
export const SUBSCRIBE: u8 = 8;
export const SUBACK: u8 = 9;
export const UNSUBSCRIBE: u8 = 10;
export const UNSUBACK: u8 = 11;
export const PINGREQ: u8 = 12;
export const PINGRESP: u8 = 13;
export const DISCONNECT: u8 = 14;

/** Largest Remaining Length (§2.2.3): four bytes of seven bits. */
export const MAX_REMAINING_LENGTH: u32 = 268435455;
/** decodeRemainingLength: more bytes are needed to know the length. */
export const NEED_MORE: i32 = 1;

// CONNECT flags (§3.1.2.3).
export const CONNECT_FLAG_CLEAN_SESSION: u8 = 0x02;
export const CONNECT_FLAG_WILL: u8 = 0x04;
export const CONNECT_FLAG_WILL_RETAIN: u8 = 0x20;
export const CONNECT_FLAG_PASSWORD: u8 = 0x40;
export const CONNECT_FLAG_USERNAME: u8 = 0x80;

/** Results of the last successful decode call. */
@unmanaged
export class Decoded {
  /** decodeRemainingLength: the value and how many bytes encoded it. */
  remainingLength: u32;
  lengthBytes: u32;
  /** CONNACK */
  sessionPresent: bool;
  returnCode: u8;
  /** PUBLISH, acks, SUBACK, UNSUBACK */
  packetId: u32;
  /** PUBLISH */
  qos: u32;
  retain: bool;
  dup: bool;
  topicPtr: usize;
  topicLen: u32;
  payloadPtr: usize;
  payloadLen: u32;
  /** SUBACK: the return codes */
  codesPtr: usize;
  codesLen: u32;
}

export const decoded = changetype<Decoded>(memory.data(offsetof<Decoded>()));

// ---- primitives ----------------------------------------------------------

/** Bytes needed to encode value as a Remaining Length (1..4). */
export function remainingLengthSize(value: u32): u32 {
  if (value < 128) return 1;
  if (value < 16384) return 2;
  if (value < 2097152) return 3;
  return 4;
}

/** Writes value (<= MAX_REMAINING_LENGTH) at ptr; returns the bytes written. */
export function encodeRemainingLength(ptr: usize, value: u32): u32 {
  let n: u32 = 0;
  do {
    let digit = value & 0x7f;
    value >>= 7;
    if (value > 0) digit |= 0x80;
    store<u8>(ptr + n, <u8>digit);
    n++;
  } while (value > 0);
  return n;
}

/**
 * Reads a Remaining Length from the len bytes at ptr (§2.2.3).
 * Returns OK (decoded.remainingLength / lengthBytes set), NEED_MORE when the bytes
 * end inside the field, or MALFORMED_PACKET when a fifth byte would be needed.
 */
export function decodeRemainingLength(ptr: usize, len: u32): i32 {
  let value: u32 = 0;
  for (let i: u32 = 0; i < 4; i++) {
    if (i >= len) return NEED_MORE;
    let b = <u32>load<u8>(ptr + i);
    value |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      decoded.remainingLength = value;
      decoded.lengthBytes = i + 1;
      return OK;
    }
  }
  return MALFORMED_PACKET;
}

// @ts-ignore: decorator
@inline export function readU16(ptr: usize): u32 {
  return (<u32>load<u8>(ptr) << 8) | <u32>load<u8>(ptr + 1);
}

// @ts-ignore: decorator
@inline export function writeU16(ptr: usize, value: u32): void {
  store<u8>(ptr, <u8>(value >> 8));
  store<u8>(ptr + 1, <u8>value);
}

/** Writes a length-prefixed string/binary field; returns the bytes written (2 + len). */
export function writeField(ptr: usize, src: usize, len: u32): u32 {
  writeU16(ptr, len);
  memory.copy(ptr + 2, src, len);
  return 2 + len;
}

/** Writes a fixed header; returns its size. */
export function writeFixedHeader(ptr: usize, header: u8, remainingLength: u32): u32 {
  store<u8>(ptr, header);
  return 1 + encodeRemainingLength(ptr + 1, remainingLength);
}

/** Total packet size for a Remaining Length. */
// @ts-ignore: decorator
@inline export function packetSize(remainingLength: u32): u32 {
  return 1 + remainingLengthSize(remainingLength) + remainingLength;
}

// ---- encoders (client → server) ------------------------------------------

/** Remaining Length of a CONNECT with these field lengths (§3.1); fields with len < 0 are absent. */
export function connectRemainingLength(clientIdLen: u32, willTopicLen: i32, willPayloadLen: i32, usernameLen: i32, passwordLen: i32): u32 {
  let n: u32 = 10 + 2 + clientIdLen;
  if (willTopicLen >= 0) n += 2 + <u32>willTopicLen + 2 + <u32>willPayloadLen;
  if (usernameLen >= 0) n += 2 + <u32>usernameLen;
  if (passwordLen >= 0) n += 2 + <u32>passwordLen;
  return n;
}

/**
 * Writes the CONNECT variable header (§3.1.2) at ptr: protocol name "MQTT", level 4,
 * flags, keepalive. Returns the bytes written (10).
 */
export function writeConnectHeader(ptr: usize, flags: u8, keepaliveSec: u32): u32 {
  writeU16(ptr, 4);
  store<u8>(ptr + 2, 0x4d); // 'M'
  store<u8>(ptr + 3, 0x51); // 'Q'
  store<u8>(ptr + 4, 0x54); // 'T'
  store<u8>(ptr + 5, 0x54); // 'T'
  store<u8>(ptr + 6, 4); // protocol level 3.1.1
  store<u8>(ptr + 7, flags);
  writeU16(ptr + 8, keepaliveSec);
  return 10;
}

/** Remaining Length of a PUBLISH (§3.3): topic, packet id when qos > 0, payload. */
export function publishRemainingLength(topicLen: u32, payloadLen: u32, qos: u32): u32 {
  return 2 + topicLen + (qos > 0 ? 2 : 0) + payloadLen;
}

/**
 * Writes a whole PUBLISH at ptr; the caller sized it with publishRemainingLength.
 * Returns the bytes written.
 */
export function encodePublish(ptr: usize, topicPtr: usize, topicLen: u32, payloadPtr: usize, payloadLen: u32, qos: u32, retain: bool, packetId: u32): u32 {
  let header = <u8>((PUBLISH << 4) | (qos << 1) | (retain ? 1 : 0));
  let n = writeFixedHeader(ptr, header, publishRemainingLength(topicLen, payloadLen, qos));
  n += writeField(ptr + n, topicPtr, topicLen);
  if (qos > 0) {
    writeU16(ptr + n, packetId);
    n += 2;
  }
  memory.copy(ptr + n, payloadPtr, payloadLen);
  return n + payloadLen;
}

/** Sets the DUP flag of the encoded PUBLISH at ptr (§3.3.1.1). */
export function setDup(ptr: usize): void {
  store<u8>(ptr, load<u8>(ptr) | 0x08);
}

/**
 * Writes a 4-byte acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK shape) at ptr.
 * PUBREL carries the reserved flags 0b0010 (§3.6.1). Returns 4.
 */
export function encodeAck(ptr: usize, type: u8, packetId: u32): u32 {
  store<u8>(ptr, (type << 4) | (type == PUBREL ? 0x02 : 0));
  store<u8>(ptr + 1, 2);
  writeU16(ptr + 2, packetId);
  return 4;
}

/** Writes a 2-byte packet with no body (PINGREQ, DISCONNECT). Returns 2. */
export function encodeEmpty(ptr: usize, type: u8): u32 {
  store<u8>(ptr, type << 4);
  store<u8>(ptr + 1, 0);
  return 2;
}

// ---- decoders (server → client) ------------------------------------------
// Each takes the fixed header byte and the body (the Remaining Length bytes).

/** Checks the fixed-header flags a server may use for each type (§2.2.2). Returns OK, MALFORMED_PACKET or PROTOCOL_ERROR. */
export function checkServerHeader(header: u8): i32 {
  let type = header >> 4;
  let flags = header & 0x0f;
  if (type == 0 || type == 15) return MALFORMED_PACKET;
  if (type == CONNECT || type == SUBSCRIBE || type == UNSUBSCRIBE || type == PINGREQ || type == DISCONNECT) return PROTOCOL_ERROR;
  if (type == PUBLISH) {
    let qos = (flags >> 1) & 3;
    return qos == 3 || (qos == 0 && (flags & 0x08) != 0) ? MALFORMED_PACKET : OK; // §3.3.1.1-2: no DUP at QoS 0
  }
  if (type == PUBREL) return flags == 0x02 ? OK : MALFORMED_PACKET;
  return flags == 0 ? OK : MALFORMED_PACKET;
}

/** CONNACK (§3.2): returns OK (decoded.sessionPresent, returnCode) or MALFORMED_PACKET. */
export function decodeConnack(body: usize, len: u32): i32 {
  if (len != 2) return MALFORMED_PACKET;
  let flags = load<u8>(body);
  let code = load<u8>(body + 1);
  if ((flags & 0xfe) != 0 || code > 5) return MALFORMED_PACKET;
  if (code != 0 && flags != 0) return MALFORMED_PACKET;
  decoded.sessionPresent = flags == 1;
  decoded.returnCode = code;
  return OK;
}

/**
 * PUBLISH (§3.3): returns OK (decoded.qos, retain, dup, topic, packetId, payload) or
 * MALFORMED_PACKET (truncated topic, zero packet id). The topic is not validated here.
 */
export function decodePublish(header: u8, body: usize, len: u32): i32 {
  return decodePublishHead(header, body, len, len);
}

/**
 * The variable header (§3.3.2: topic name, packet id) of a PUBLISH whose body has len
 * bytes, of which only the first `present` are at body yet. Returns OK (decoded as by
 * decodePublish; the payload may extend past the present bytes), NEED_MORE while the topic
 * or packet id is not all present (decoded.topicLen set once its two length bytes are), or
 * MALFORMED_PACKET (topic or packet id run past len, zero packet id). Writes no result on
 * MALFORMED_PACKET. The topic is not validated here.
 */
export function decodePublishHead(header: u8, body: usize, present: u32, len: u32): i32 {
  if (len < 2) return MALFORMED_PACKET;
  if (present < 2) return NEED_MORE;
  let qos = (<u32>header >> 1) & 3;
  let topicLen = readU16(body);
  let at: u32 = 2 + topicLen;
  let end = at + (qos > 0 ? 2 : 0);
  if (end > len) return MALFORMED_PACKET;
  if (end > present) {
    decoded.topicLen = topicLen;
    return NEED_MORE;
  }
  let packetId: u32 = qos > 0 ? readU16(body + at) : 0;
  if (qos > 0 && packetId == 0) return MALFORMED_PACKET;
  decoded.qos = qos;
  decoded.retain = (header & 1) != 0;
  decoded.dup = (header & 8) != 0;
  decoded.topicPtr = body + 2;
  decoded.topicLen = topicLen;
  decoded.packetId = packetId;
  decoded.payloadPtr = body + end;
  decoded.payloadLen = len - end;
  return OK;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (§3.4–3.7, §3.11): returns OK (decoded.packetId) or MALFORMED_PACKET. */
export function decodeAck(body: usize, len: u32): i32 {
  if (len != 2) return MALFORMED_PACKET;
  let packetId = readU16(body);
  if (packetId == 0) return MALFORMED_PACKET;
  decoded.packetId = packetId;
  return OK;
}

/** SUBACK (§3.9): returns OK (decoded.packetId, codesPtr/codesLen) or MALFORMED_PACKET (bad code, no codes). */
export function decodeSuback(body: usize, len: u32): i32 {
  if (len < 3) return MALFORMED_PACKET;
  let packetId = readU16(body);
  if (packetId == 0) return MALFORMED_PACKET;
  for (let i: u32 = 2; i < len; i++) {
    let code = load<u8>(body + i);
    if (code > 2 && code != 0x80) return MALFORMED_PACKET;
  }
  decoded.packetId = packetId;
  decoded.codesPtr = body + 2;
  decoded.codesLen = len - 2;
  return OK;
}

/** PINGRESP (§3.13): returns OK or MALFORMED_PACKET when it has a body. */
export function decodePingresp(len: u32): i32 {
  return len == 0 ? OK : MALFORMED_PACKET;
}

// ---- tracing -------------------------------------------------------------

/** The Remaining Length of a whole packet of packetLen bytes (the inverse of packetSize). */
export function remainingLengthOf(packetLen: u32): u32 {
  for (let k: u32 = 1; k < 4; k++) {
    if (remainingLengthSize(packetLen - 1 - k) == k) return packetLen - 1 - k;
  }
  return packetLen - 5;
}

/**
 * The packet identifier of a packet with this fixed header byte and body (§2.3.1),
 * or 0 when the type has none or the body is too short to hold one.
 */
export function packetIdOf(header: u8, body: usize, len: u32): u32 {
  let type = header >> 4;
  if (type == PUBLISH) {
    if (((header >> 1) & 3) == 0 || len < 2) return 0;
    let at = readU16(body) + 2;
    return at + 2 <= len ? readU16(body + at) : 0;
  }
  if (type >= PUBACK && type <= UNSUBACK && len >= 2) return readU16(body);
  return 0;
}
