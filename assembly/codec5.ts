// MQTT 5.0 packets over (ptr, len), where they differ from MQTT 3.1.1 (codec.ts): a
// property block in every variable header, Reason Codes in the acknowledgements and in
// DISCONNECT, and AUTH. Pure: no state but the decode results. Encoders are sized
// first and written second, as in codec.ts, whose primitives they use. Decoders take the
// body (the Remaining Length bytes) and return REASON_SUCCESS or the Reason Code to
// DISCONNECT with (reasons.ts); what they find goes to codec.ts's `decoded` (the fields
// both versions share), `decoded5` below and properties.ts's `properties`.
import { OK, MALFORMED_PACKET, INVALID_ARGUMENT, INVALID_QOS } from "./status";
import {
  CONNACK, PUBLISH, PUBREL, DISCONNECT, decoded, readU16, writeU16, writeField, writeFixedHeader,
  writeConnectHeader, connectRemainingLength, publishRemainingLength, decodePublish, checkServerHeader, encodeAck, encodeEmpty,
} from "./codec";
import {
  SESSION_EXPIRY_INTERVAL, RECEIVE_MAXIMUM, MAXIMUM_PACKET_SIZE, TOPIC_ALIAS_MAXIMUM, REQUEST_RESPONSE_INFORMATION,
  REQUEST_PROBLEM_INFORMATION, TOPIC_ALIAS, properties, decodeProperties, clearProperties, hasProperty, propertiesLength,
  writePropertyLength, writeProperties, writeByteProperty, writeTwoByteProperty, writeFourByteProperty,
} from "./properties";
import { AUTH, REASON_SUCCESS, REASON_MALFORMED_PACKET, REASON_PROTOCOL_ERROR, REASON_TOPIC_ALIAS_INVALID, isReasonAllowed } from "./reasons";
import { isWellFormedTopicName } from "./topic";

/** Protocol Version of MQTT 5.0 in CONNECT (§3.1.2.2). */
export const PROTOCOL_VERSION_5: u8 = 5;

/** Results of the last successful MQTT 5 decode beyond codec.ts's `decoded` and `properties`. */
@unmanaged
export class Decoded5 {
  /** CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH: the Reason Code (0 when omitted). */
  reasonCode: u32;
}

export const decoded5 = changetype<Decoded5>(memory.data(offsetof<Decoded5>()));

// ---- fixed header (§2.1.3) --------------------------------------------------------

/**
 * Checks the fixed header of a packet from the server (§2.1.3): MQTT 5.0 adds DISCONNECT
 * and AUTH, both with flags 0. Returns REASON_SUCCESS, REASON_MALFORMED_PACKET (reserved
 * type, bad flags) or REASON_PROTOCOL_ERROR (a type only a client sends).
 */
export function checkServerHeader5(header: u8): u32 {
  let type = header >> 4;
  if (type == DISCONNECT || type == AUTH) return (header & 0x0f) == 0 ? REASON_SUCCESS : REASON_MALFORMED_PACKET;
  let status = checkServerHeader(header);
  if (status == OK) return REASON_SUCCESS;
  return status == MALFORMED_PACKET ? REASON_MALFORMED_PACKET : REASON_PROTOCOL_ERROR;
}

/** REASON_SUCCESS when a property block ended exactly at the end of its packet's part, else REASON_MALFORMED_PACKET. */
function endsAt(reason: u32, room: u32): u32 {
  if (reason != REASON_SUCCESS) return reason;
  return properties.size == room ? REASON_SUCCESS : REASON_MALFORMED_PACKET;
}

// ---- CONNECT (§3.1) ----------------------------------------------------------------

/**
 * What the client announces in its CONNECT properties (§3.1.2.11). Each is written only
 * when it differs from the value its absence means, so the defaults cost no bytes.
 */
@unmanaged
export class ConnectProperties {
  /** Seconds; written when not 0 (§3.1.2.11.2). */
  sessionExpiryInterval: u32;
  /** 1..65535; written when below 65535, the default (§3.1.2.11.3). 0 is never written. */
  receiveMaximum: u32;
  /** Bytes; written when not 0, which stands for "no limit" (§3.1.2.11.4). */
  maximumPacketSize: u32;
  /** Written when not 0 (§3.1.2.11.5). */
  topicAliasMaximum: u32;
  /** 0 or 1; written when 1 (§3.1.2.11.6). */
  requestResponseInformation: u32;
  /** 0 or 1; written when 0, as 1 is the default (§3.1.2.11.7). */
  requestProblemInformation: u32;
  /**
   * Properties already encoded, copied after the others: User Properties written with
   * writeUserProperty (§3.1.2.11.8), or any the fields above leave out (the client copies
   * its caller's checked block here). userPropertiesLen bytes at userPropertiesPtr.
   */
  userPropertiesPtr: usize;
  userPropertiesLen: u32;
}

/** Bytes of the properties (without their Property Length) writeConnectProperties writes for p. */
export function connectPropertiesContentLength(p: ConnectProperties): u32 {
  let n: u32 = 0;
  if (p.sessionExpiryInterval != 0) n += 5;
  if (p.receiveMaximum != 0 && p.receiveMaximum < 65535) n += 3;
  if (p.maximumPacketSize != 0) n += 5;
  if (p.topicAliasMaximum != 0) n += 3;
  if (p.requestResponseInformation != 0) n += 2;
  if (p.requestProblemInformation == 0) n += 2;
  return n + p.userPropertiesLen;
}

/** Writes the CONNECT property block for p (§3.1.2.11). Returns propertiesLength(connectPropertiesContentLength(p)). */
export function writeConnectProperties(ptr: usize, p: ConnectProperties): u32 {
  let n = writePropertyLength(ptr, connectPropertiesContentLength(p));
  if (p.sessionExpiryInterval != 0) n += writeFourByteProperty(ptr + n, SESSION_EXPIRY_INTERVAL, p.sessionExpiryInterval);
  if (p.receiveMaximum != 0 && p.receiveMaximum < 65535) n += writeTwoByteProperty(ptr + n, RECEIVE_MAXIMUM, p.receiveMaximum);
  if (p.maximumPacketSize != 0) n += writeFourByteProperty(ptr + n, MAXIMUM_PACKET_SIZE, p.maximumPacketSize);
  if (p.topicAliasMaximum != 0) n += writeTwoByteProperty(ptr + n, TOPIC_ALIAS_MAXIMUM, p.topicAliasMaximum);
  if (p.requestResponseInformation != 0) n += writeByteProperty(ptr + n, REQUEST_RESPONSE_INFORMATION, 1);
  if (p.requestProblemInformation == 0) n += writeByteProperty(ptr + n, REQUEST_PROBLEM_INFORMATION, 0);
  memory.copy(ptr + n, p.userPropertiesPtr, p.userPropertiesLen);
  return n + p.userPropertiesLen;
}

/**
 * Remaining Length of an MQTT 5 CONNECT (§3.1): the 3.1.1 fields (willTopicLen,
 * usernameLen, passwordLen < 0 when absent; in 5.0 a password needs no user name,
 * §3.1.2.9), the CONNECT properties and, with a will, its Will Properties block whose
 * properties take willPropertiesLen bytes (§3.1.3.2).
 */
export function connect5RemainingLength(p: ConnectProperties, clientIdLen: u32, willPropertiesLen: u32, willTopicLen: i32, willPayloadLen: i32, usernameLen: i32, passwordLen: i32): u32 {
  let n = connectRemainingLength(clientIdLen, willTopicLen, willPayloadLen, usernameLen, passwordLen);
  n += propertiesLength(connectPropertiesContentLength(p));
  if (willTopicLen >= 0) n += propertiesLength(willPropertiesLen);
  return n;
}

/**
 * Writes the MQTT 5 CONNECT variable header (§3.1.2): protocol name "MQTT", Protocol
 * Version 5, the flags (Clean Start is the 3.1.1 Clean Session bit, §3.1.2.4), Keep Alive
 * and the properties of p. The payload follows as in 3.1.1, with the Will Properties
 * (writeProperties) before the Will Topic. Returns the bytes written.
 */
export function writeConnect5Header(ptr: usize, flags: u8, keepaliveSec: u32, p: ConnectProperties): u32 {
  let n = writeConnectHeader(ptr, flags, keepaliveSec);
  store<u8>(ptr + 6, PROTOCOL_VERSION_5); // writeConnectHeader wrote level 4 there
  return n + writeConnectProperties(ptr + n, p);
}

// ---- CONNACK (§3.2) ----------------------------------------------------------------

/**
 * CONNACK (§3.2): Acknowledge Flags, Connect Reason Code, properties. Returns
 * REASON_SUCCESS (decoded.sessionPresent, decoded5.reasonCode, properties), or
 * REASON_MALFORMED_PACKET (too short, reserved flag bits, bad properties, bytes after
 * them) or REASON_PROTOCOL_ERROR (a code CONNACK may not carry, Session Present with a
 * refusal [MQTT-3.2.2-6], bad properties). A 3.1.1 CONNACK, as a server without MQTT 5
 * answers (Remaining Length 2, return code 1, §3.1.2.2), is malformed here; codec.ts's
 * decodeConnack reads it.
 */
export function decodeConnack5(body: usize, len: u32): u32 {
  if (len < 3) return REASON_MALFORMED_PACKET;
  let flags = load<u8>(body);
  let code = <u32>load<u8>(body + 1);
  if ((flags & 0xfe) != 0) return REASON_MALFORMED_PACKET; // §3.2.2.1: reserved bits
  if (!isReasonAllowed(CONNACK, code)) return REASON_PROTOCOL_ERROR;
  if (code != REASON_SUCCESS && flags != 0) return REASON_PROTOCOL_ERROR;
  let reason = endsAt(decodeProperties(CONNACK, body + 2, len - 2), len - 2);
  if (reason != REASON_SUCCESS) return reason;
  decoded.sessionPresent = flags == 1;
  decoded5.reasonCode = code;
  return REASON_SUCCESS;
}

// ---- PUBLISH (§3.3) ----------------------------------------------------------------

/** Remaining Length of an MQTT 5 PUBLISH (§3.3.2): topic, packet id when qos > 0, a property block of propertiesLen bytes of properties, payload. */
export function publish5RemainingLength(topicLen: u32, propertiesLen: u32, payloadLen: u32, qos: u32): u32 {
  return publishRemainingLength(topicLen, payloadLen, qos) + propertiesLength(propertiesLen);
}

/**
 * Writes a whole MQTT 5 PUBLISH at ptr, its properties copied from the propertiesLen
 * bytes at propertiesPtr. topicLen may be 0 when the properties hold a Topic Alias the
 * server already maps (§3.3.2.3.4). The caller sized it with publish5RemainingLength.
 * Returns the bytes written.
 */
export function encodePublish5(ptr: usize, topicPtr: usize, topicLen: u32, propertiesPtr: usize, propertiesLen: u32, payloadPtr: usize, payloadLen: u32, qos: u32, retain: bool, packetId: u32): u32 {
  let header = <u8>((PUBLISH << 4) | (qos << 1) | (retain ? 1 : 0));
  let n = writeFixedHeader(ptr, header, publish5RemainingLength(topicLen, propertiesLen, payloadLen, qos));
  n += writeField(ptr + n, topicPtr, topicLen);
  if (qos > 0) {
    writeU16(ptr + n, packetId);
    n += 2;
  }
  n += writeProperties(ptr + n, propertiesPtr, propertiesLen);
  memory.copy(ptr + n, payloadPtr, payloadLen);
  return n + payloadLen;
}

/**
 * MQTT 5 PUBLISH (§3.3): as codec.ts's decodePublish, then the properties between the
 * packet id and the payload. topicAliasMaximum is the Topic Alias Maximum the client
 * announced (§3.1.2.11.5). Returns REASON_SUCCESS (decoded.qos, retain, dup, topic,
 * packetId, payload; properties, properties.topicAlias when present; a zero-length
 * topic then stands for the alias's topic) or REASON_MALFORMED_PACKET (truncated, zero
 * packet id, bad properties, a topic with a wildcard or bad UTF-8), REASON_PROTOCOL_ERROR
 * (bad properties, an empty topic without a Topic Alias, §3.3.2.3.4) or
 * REASON_TOPIC_ALIAS_INVALID (an alias of 0 or above topicAliasMaximum, [MQTT-3.1.2-26]).
 */
export function decodePublish5(header: u8, body: usize, len: u32, topicAliasMaximum: u32): u32 {
  if (decodePublish(header, body, len) != OK) return REASON_MALFORMED_PACKET;
  let rest = decoded.payloadPtr;
  let restLen = decoded.payloadLen;
  let reason = decodeProperties(PUBLISH, rest, restLen);
  if (reason != REASON_SUCCESS) return reason;
  decoded.payloadPtr = rest + properties.size;
  decoded.payloadLen = restLen - properties.size;
  let aliased = hasProperty(TOPIC_ALIAS);
  if (aliased && properties.topicAlias > topicAliasMaximum) return REASON_TOPIC_ALIAS_INVALID;
  if (decoded.topicLen == 0) return aliased ? REASON_SUCCESS : REASON_PROTOCOL_ERROR;
  return isWellFormedTopicName(decoded.topicPtr, decoded.topicLen) ? REASON_SUCCESS : REASON_MALFORMED_PACKET;
}

// ---- PUBACK, PUBREC, PUBREL, PUBCOMP (§3.4–§3.7) ------------------------------------

/** Remaining Length of an MQTT 5 acknowledgement: the Reason Code and the properties are left out while they say nothing (§3.4.2.1). */
export function ack5RemainingLength(reasonCode: u32, propertiesLen: u32): u32 {
  if (propertiesLen > 0) return 3 + propertiesLength(propertiesLen);
  return reasonCode == REASON_SUCCESS ? 2 : 3;
}

/**
 * Writes a PUBACK, PUBREC, PUBREL or PUBCOMP with a Reason Code and properties copied
 * from the propertiesLen bytes at propertiesPtr: 4 bytes (as 3.1.1) for success without
 * properties, 5 for a code without properties, else the whole form (§3.4.2.1). Returns
 * the bytes written.
 */
export function encodeAck5(ptr: usize, type: u8, packetId: u32, reasonCode: u32, propertiesPtr: usize, propertiesLen: u32): u32 {
  let remainingLength = ack5RemainingLength(reasonCode, propertiesLen);
  if (remainingLength == 2) return encodeAck(ptr, type, packetId);
  let n = writeFixedHeader(ptr, (type << 4) | (type == PUBREL ? 0x02 : 0), remainingLength);
  writeU16(ptr + n, packetId);
  store<u8>(ptr + n + 2, <u8>reasonCode);
  n += 3;
  if (propertiesLen > 0) n += writeProperties(ptr + n, propertiesPtr, propertiesLen);
  return n;
}

/**
 * PUBACK, PUBREC, PUBREL or PUBCOMP (the type) from the server (§3.4–§3.7). Returns
 * REASON_SUCCESS (decoded.packetId, decoded5.reasonCode: 0 when omitted; properties,
 * empty when omitted, §3.4.2.1), REASON_MALFORMED_PACKET (too short, zero packet id,
 * bad properties, bytes after them) or REASON_PROTOCOL_ERROR (a code this type may not
 * carry, bad properties).
 */
export function decodeAck5(type: u8, body: usize, len: u32): u32 {
  if (len < 2) return REASON_MALFORMED_PACKET;
  let packetId = readU16(body);
  if (packetId == 0) return REASON_MALFORMED_PACKET;
  let code: u32 = len > 2 ? load<u8>(body + 2) : REASON_SUCCESS;
  if (!isReasonAllowed(type, code)) return REASON_PROTOCOL_ERROR;
  let reason: u32 = REASON_SUCCESS;
  if (len < 4) clearProperties();
  else reason = endsAt(decodeProperties(type, body + 3, len - 3), len - 3);
  if (reason != REASON_SUCCESS) return reason;
  decoded.packetId = packetId;
  decoded5.reasonCode = code;
  return REASON_SUCCESS;
}

// ---- SUBSCRIBE, UNSUBSCRIBE (§3.8, §3.10) ----------------------------------------------

// Subscription Options (§3.8.3.1): bits 0-1 Maximum QoS, bit 2 No Local, bit 3 Retain As
// Published, bits 4-5 Retain Handling, bits 6-7 reserved (0).
export const OPTION_NO_LOCAL: u8 = 0x04;
export const OPTION_RETAIN_AS_PUBLISHED: u8 = 0x08;
/** Retain Handling: send retained messages at subscribe time. */
export const RETAIN_HANDLING_SEND: u32 = 0;
/** Retain Handling: send them only if the subscription did not exist yet. */
export const RETAIN_HANDLING_SEND_IF_NEW: u32 = 1;
/** Retain Handling: do not send them. */
export const RETAIN_HANDLING_DO_NOT_SEND: u32 = 2;

/**
 * The Subscription Options byte (§3.8.3.1), reserved bits 0. Returns it (0..0x2f) or
 * INVALID_QOS (qos above 2) or INVALID_ARGUMENT (retainHandling above 2: both would be a
 * Protocol Error on the wire).
 */
export function subscriptionOptions(qos: u32, noLocal: bool, retainAsPublished: bool, retainHandling: u32): i32 {
  if (qos > 2) return INVALID_QOS;
  if (retainHandling > RETAIN_HANDLING_DO_NOT_SEND) return INVALID_ARGUMENT;
  let options = qos | (retainHandling << 4);
  if (noLocal) options |= OPTION_NO_LOCAL;
  if (retainAsPublished) options |= OPTION_RETAIN_AS_PUBLISHED;
  return <i32>options;
}

/**
 * Remaining Length of an MQTT 5 SUBSCRIBE or UNSUBSCRIBE (§3.8.2, §3.10.2): packet id, a
 * property block of propertiesLen bytes of properties, and entriesLen bytes of entries
 * (a SUBSCRIBE entry is 2 + filter + 1 options byte, an UNSUBSCRIBE entry 2 + filter).
 */
export function subscribe5RemainingLength(entriesLen: u32, propertiesLen: u32): u32 {
  return 2 + propertiesLength(propertiesLen) + entriesLen;
}

/**
 * Writes the fixed header (flags 0b0010, §3.8.1, §3.10.1), packet id and property block
 * (copied from propertiesPtr; a SUBSCRIBE's may hold a Subscription Identifier and User
 * Properties, §3.8.2.1) of a SUBSCRIBE or UNSUBSCRIBE (type). The entries follow:
 * writeSubscription for each SUBSCRIBE filter, codec.ts's writeField for each
 * UNSUBSCRIBE filter. Returns the bytes written.
 */
export function writeSubscribe5Header(ptr: usize, type: u8, remainingLength: u32, packetId: u32, propertiesPtr: usize, propertiesLen: u32): u32 {
  let n = writeFixedHeader(ptr, (type << 4) | 0x02, remainingLength);
  writeU16(ptr + n, packetId);
  n += 2;
  return n + writeProperties(ptr + n, propertiesPtr, propertiesLen);
}

/** Writes one SUBSCRIBE entry (§3.8.3): the filter, then its Subscription Options byte. Returns 3 + filterLen. */
export function writeSubscription(ptr: usize, filterPtr: usize, filterLen: u32, options: u8): u32 {
  let n = writeField(ptr, filterPtr, filterLen);
  store<u8>(ptr + n, options);
  return n + 1;
}

// ---- SUBACK, UNSUBACK (§3.9, §3.11) -------------------------------------------------

/**
 * SUBACK or UNSUBACK (the type) in MQTT 5: packet id, properties, a Reason Code per
 * filter (§3.9.3, §3.11.3). Returns REASON_SUCCESS (decoded.packetId, codesPtr/codesLen,
 * properties), REASON_MALFORMED_PACKET (too short, zero packet id, no codes, bad
 * properties) or REASON_PROTOCOL_ERROR (a code this type may not carry, bad properties).
 */
export function decodeSuback5(type: u8, body: usize, len: u32): u32 {
  if (len < 3) return REASON_MALFORMED_PACKET;
  let packetId = readU16(body);
  if (packetId == 0) return REASON_MALFORMED_PACKET;
  let reason = decodeProperties(type, body + 2, len - 2);
  if (reason != REASON_SUCCESS) return reason;
  let codes = body + 2 + properties.size;
  let codesLen = len - 2 - properties.size;
  if (codesLen == 0) return REASON_MALFORMED_PACKET;
  for (let i: u32 = 0; i < codesLen; i++) {
    if (!isReasonAllowed(type, load<u8>(codes + i))) return REASON_PROTOCOL_ERROR;
  }
  decoded.packetId = packetId;
  decoded.codesPtr = codes;
  decoded.codesLen = codesLen;
  return REASON_SUCCESS;
}

// ---- DISCONNECT (§3.14) ------------------------------------------------------------

/** Remaining Length of an MQTT 5 DISCONNECT: 0 for a normal disconnection without properties, 1 for a code alone (§3.14.2.1). */
export function disconnect5RemainingLength(reasonCode: u32, propertiesLen: u32): u32 {
  if (propertiesLen > 0) return 1 + propertiesLength(propertiesLen);
  return reasonCode == REASON_SUCCESS ? 0 : 1;
}

/** Writes an MQTT 5 DISCONNECT with a Reason Code and properties copied from propertiesPtr, leaving out what says nothing (§3.14.2.1). Returns the bytes written. */
export function encodeDisconnect5(ptr: usize, reasonCode: u32, propertiesPtr: usize, propertiesLen: u32): u32 {
  let remainingLength = disconnect5RemainingLength(reasonCode, propertiesLen);
  if (remainingLength == 0) return encodeEmpty(ptr, DISCONNECT);
  let n = writeFixedHeader(ptr, DISCONNECT << 4, remainingLength);
  store<u8>(ptr + n, <u8>reasonCode);
  n++;
  if (propertiesLen > 0) n += writeProperties(ptr + n, propertiesPtr, propertiesLen);
  return n;
}

/**
 * DISCONNECT from the server (§3.14). Returns REASON_SUCCESS (decoded5.reasonCode: 0
 * when omitted; properties, empty when omitted), REASON_MALFORMED_PACKET (bad
 * properties, bytes after them) or REASON_PROTOCOL_ERROR (a code DISCONNECT may not carry,
 * a Session Expiry Interval, which the server MUST NOT send [MQTT-3.14.2-2], bad properties).
 */
export function decodeDisconnect5(body: usize, len: u32): u32 {
  let code: u32 = len > 0 ? load<u8>(body) : REASON_SUCCESS;
  if (!isReasonAllowed(DISCONNECT, code)) return REASON_PROTOCOL_ERROR;
  let reason: u32 = REASON_SUCCESS;
  if (len < 2) clearProperties();
  else reason = endsAt(decodeProperties(DISCONNECT, body + 1, len - 1), len - 1);
  if (reason != REASON_SUCCESS) return reason;
  if (hasProperty(SESSION_EXPIRY_INTERVAL)) return REASON_PROTOCOL_ERROR;
  decoded5.reasonCode = code;
  return REASON_SUCCESS;
}

// ---- AUTH (§3.15) ------------------------------------------------------------------

/**
 * AUTH (§3.15): a Reason Code and properties, both left out (Remaining Length 0) for
 * success without properties (§3.15.2.1). Returns REASON_SUCCESS (decoded5.reasonCode,
 * properties: Authentication Method / Data, Reason String, User Properties),
 * REASON_MALFORMED_PACKET (a code without its Property Length, bad properties, bytes
 * after them) or REASON_PROTOCOL_ERROR (a code AUTH may not carry, bad properties).
 */
export function decodeAuth(body: usize, len: u32): u32 {
  if (len == 0) {
    clearProperties();
    decoded5.reasonCode = REASON_SUCCESS;
    return REASON_SUCCESS;
  }
  if (len < 2) return REASON_MALFORMED_PACKET;
  let code = <u32>load<u8>(body);
  if (!isReasonAllowed(AUTH, code)) return REASON_PROTOCOL_ERROR;
  let reason = endsAt(decodeProperties(AUTH, body + 1, len - 1), len - 1);
  if (reason != REASON_SUCCESS) return reason;
  decoded5.reasonCode = code;
  return REASON_SUCCESS;
}
