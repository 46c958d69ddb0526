// MQTT 5.0 in the client state machine: what a 5.0 connection adds to the 3.1.1 one of
// client.ts. The protocol choice and the limits the client announces in CONNECT (its
// fixed buffers), the broker's limits from CONNACK, the inbound Topic Alias table, the
// caller's property blocks (CONNECT, PUBLISH), and the Reason Code the client sends in
// its DISCONNECT when it closes the connection because of the broker's input (MQTT 5.0
// §4.13). client.ts calls these only while `session5.version` is 5.
import { RX_CAPACITY, TX_CAPACITY, INFLIGHT_SLOTS, INBOUND_QOS2_SLOTS, TOPIC_ALIAS_SLOTS, MAX_TOPIC_LENGTH, STAGING_CAPACITY } from "./config";
import {
  OK, MALFORMED_PACKET, PROTOCOL_ERROR, PACKET_TOO_LARGE, INVALID_ARGUMENT, CONNACK_REFUSED_BASE, CONNACK_REFUSED,
  QOS_NOT_SUPPORTED, RETAIN_NOT_SUPPORTED,
} from "./status";
import { CONNECT, PUBLISH, DISCONNECT, decoded, decodeRemainingLength, remainingLengthSize, encodeRemainingLength, readU16, writeU16, packetSize } from "./codec";
import { ConnectProperties, decodePublish5, disconnect5RemainingLength } from "./codec5";
import {
  RECEIVE_MAXIMUM, MAXIMUM_PACKET_SIZE, TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS, MAXIMUM_QOS, RETAIN_AVAILABLE, SERVER_KEEP_ALIVE,
  SUBSCRIPTION_IDENTIFIER, AUTHENTICATION_METHOD, SESSION_EXPIRY_INTERVAL, SERVER_REFERENCE, WILL_PROPERTIES, properties, decodeProperties, hasProperty,
} from "./properties";
import {
  REASON_SUCCESS, REASON_MALFORMED_PACKET, REASON_PROTOCOL_ERROR, REASON_PACKET_TOO_LARGE, REASON_TOPIC_ALIAS_INVALID,
  REASON_UNSUPPORTED_PROTOCOL_VERSION, REASON_CLIENT_IDENTIFIER_NOT_VALID, REASON_SERVER_UNAVAILABLE,
  REASON_BAD_USER_NAME_OR_PASSWORD, REASON_NOT_AUTHORIZED, isReasonAllowed,
} from "./reasons";
import { SCRATCH, tx, sent } from "./client";
import { SESSION5_STRUCT } from "./persist";

/** Protocol Version of MQTT 3.1.1 in CONNECT (MQTT 3.1.1 §3.1.2.2), the default. */
export const VERSION_311: u32 = 4;
/** Protocol Version of MQTT 5.0 (§3.1.2.2). */
export const VERSION_5: u32 = 5;

/** An inbound Topic Alias slot: u16 topic length (0: no topic mapped), then the topic. */
// @ts-ignore: decorator
@inline const ALIAS_SLOT_SIZE: u32 = 2 + <u32>MAX_TOPIC_LENGTH;
/** The inbound Topic Alias table: alias n (1..TOPIC_ALIAS_SLOTS) in slot n - 1; per connection (§3.3.2.3.4). */
const ALIAS_BASE = memory.data(TOPIC_ALIAS_SLOTS * ALIAS_SLOT_SIZE);

/** An outbound Topic Alias slot: u32 last use, u16 topic length (0: free), then the topic. */
// @ts-ignore: decorator
@inline const OUT_SLOT_SIZE: u32 = 6 + <u32>MAX_TOPIC_LENGTH;
/** The outbound Topic Alias table (autoAssignTopicAlias): alias n in slot n - 1, least recently used replaced; per connection. */
const OUT_ALIAS_BASE = memory.data(TOPIC_ALIAS_SLOTS * OUT_SLOT_SIZE);

/** setProtocol flags: bit 0, assign Topic Aliases to outbound PUBLISHes. */
export const PROTOCOL_FLAG_AUTO_ALIAS: u32 = 1;

/** What a 5.0 connection knows beyond client.ts's Client. */
@unmanaged
export class Session5 {
  /** VERSION_311 or VERSION_5: the Protocol Version of the CONNECT configure() encodes. */
  version: u32;
  /** What CONNECT announces (§3.1.2.11.3–5), never more than the module holds. */
  receiveMaximum: u32;
  maximumPacketSize: u32;
  topicAliasMaximum: u32;
  /** Bytes of the caller's property blocks (CONNECT, then with a will its Will Properties), staged after the will payload for configure(). */
  connectPropertiesLen: u32;
  /** The Will Properties prepareConnect5 found (content, in staging; 0 bytes: none), for configure() to copy. */
  willPropertiesPtr: usize;
  willPropertiesLen: u32;
  /** The Session Expiry Interval the CONNECT carries (0 when absent), which bounds the DISCONNECT's (§3.14.2.2.2). */
  sessionExpiryInterval: u32;
  /** Keep Alive from configure(), in ms, until a Server Keep Alive replaces it (§3.2.2.3.14). */
  keepaliveMs: u32;
  /** The broker's limits from the last CONNACK (§3.2.2.3), their defaults when absent. */
  sendMaximum: u32;
  serverMaximumPacketSize: u32;
  maximumQos: u32;
  retainAvailable: u32;
  serverTopicAliasMaximum: u32;
  /** The Reason Code to DISCONNECT with for the input being rejected; 0 when the status says it. */
  disconnectReason: u32;
  /** The properties of the PUBLISH being queued, checked by checkPublish5: content pointer and length. */
  publishPropertiesPtr: usize;
  publishPropertiesLen: u32;
  /** The properties of the caller's DISCONNECT, checked by checkDisconnect5 (in staging; 0 bytes: none). */
  disconnectPropertiesPtr: usize;
  disconnectPropertiesLen: u32;
  /** setProtocol's flags (PROTOCOL_FLAG_AUTO_ALIAS). */
  flags: u32;
  /** Counts outbound alias uses: the least recently used slot has the smallest stamp. */
  aliasClock: u32;
}

/** In the persistent block (persist.ts): a restored session keeps its protocol and limits. */
export const session5 = changetype<Session5>(SESSION5_STRUCT);
/** The properties of the CONNECT configure() encodes. */
export const connect5 = changetype<ConnectProperties>(memory.data(offsetof<ConnectProperties>()));

/** True on a 5.0 connection (configured with setProtocol(5, …)). */
// @ts-ignore: decorator
@inline export function isV5(): bool {
  return session5.version == VERSION_5;
}

/** The broker's limits before any CONNACK says otherwise (§3.2.2.3: the meaning of each one's absence). */
function defaultLimits(): void {
  session5.sendMaximum = INFLIGHT_SLOTS;
  session5.serverMaximumPacketSize = 0xffffffff;
  session5.maximumQos = 2;
  session5.retainAvailable = 1;
  session5.serverTopicAliasMaximum = 0;
}

/** MQTT 3.1.1, no 5.0 state: what init() starts from. */
export function resetSession5(): void {
  memory.fill(changetype<usize>(session5), 0, offsetof<Session5>());
  session5.version = VERSION_311;
  defaultLimits();
}

/**
 * Chooses the protocol of the next configure(): VERSION_311 (every other argument 0) or
 * VERSION_5 with the Receive Maximum, Maximum Packet Size and Topic Alias Maximum to
 * announce, each lowered to what the module holds (inbound QoS 2 slots, receive buffer,
 * alias slots), the size of the caller's CONNECT property block, and flags
 * (PROTOCOL_FLAG_AUTO_ALIAS). Returns OK or INVALID_ARGUMENT (another version, a 0
 * Receive Maximum or Maximum Packet Size, values beyond their fields, a block larger than
 * staging, unknown flags).
 */
export function chooseProtocol(version: u32, receiveMaximum: u32, maximumPacketSize: u32, topicAliasMaximum: u32, propertiesLen: u32, flags: u32): i32 {
  if ((flags & ~PROTOCOL_FLAG_AUTO_ALIAS) != 0) return INVALID_ARGUMENT;
  if (version == VERSION_311) {
    if ((receiveMaximum | maximumPacketSize | topicAliasMaximum | propertiesLen | flags) != 0) return INVALID_ARGUMENT;
  } else if (version != VERSION_5) return INVALID_ARGUMENT;
  else if (receiveMaximum == 0 || receiveMaximum > 0xffff || maximumPacketSize == 0 || topicAliasMaximum > 0xffff) return INVALID_ARGUMENT;
  if (propertiesLen > <u32>STAGING_CAPACITY) return INVALID_ARGUMENT;
  session5.version = version;
  session5.receiveMaximum = min(receiveMaximum, <u32>INBOUND_QOS2_SLOTS);
  session5.maximumPacketSize = min(maximumPacketSize, <u32>RX_CAPACITY);
  session5.topicAliasMaximum = min(topicAliasMaximum, <u32>TOPIC_ALIAS_SLOTS);
  session5.connectPropertiesLen = propertiesLen;
  session5.flags = flags;
  defaultLimits();
  return OK;
}

/**
 * Fills connect5 from the announced limits and the caller's property blocks, len bytes at
 * ptr (len 0: none): the CONNECT block (Property Length first, §2.2.2.1), then, only with
 * a will, its Will Properties block (§3.1.3.2), which session5.willPropertiesPtr/Len then
 * hold. The CONNECT block may hold what the caller decides (Session Expiry Interval,
 * Request Response / Problem Information, User Properties), not what the module announces
 * or does not do (Receive Maximum, Maximum Packet Size, Topic Alias Maximum,
 * authentication); the Will block any Will Property (Will Delay Interval, Payload Format
 * Indicator, Message Expiry Interval, Content Type, Response Topic, Correlation Data, User
 * Properties). Returns OK or INVALID_ARGUMENT (a bad block, a refused property, bytes after
 * the blocks, a Will block without a will).
 */
export function prepareConnect5(ptr: usize, len: u32, hasWill: bool): i32 {
  connect5.sessionExpiryInterval = 0;
  connect5.receiveMaximum = session5.receiveMaximum;
  connect5.maximumPacketSize = session5.maximumPacketSize;
  connect5.topicAliasMaximum = session5.topicAliasMaximum;
  connect5.requestResponseInformation = 0;
  connect5.requestProblemInformation = 1;
  connect5.userPropertiesPtr = ptr;
  connect5.userPropertiesLen = 0;
  session5.willPropertiesPtr = ptr;
  session5.willPropertiesLen = 0;
  session5.sessionExpiryInterval = 0;
  if (len == 0) return OK;
  if (decodeProperties(CONNECT, ptr, len) != REASON_SUCCESS) return INVALID_ARGUMENT;
  let announced = hasProperty(RECEIVE_MAXIMUM) || hasProperty(MAXIMUM_PACKET_SIZE) || hasProperty(TOPIC_ALIAS_MAXIMUM);
  if (announced || hasProperty(AUTHENTICATION_METHOD)) return INVALID_ARGUMENT;
  if (hasProperty(SESSION_EXPIRY_INTERVAL)) session5.sessionExpiryInterval = properties.sessionExpiryInterval;
  // the caller's properties travel after the module's, copied as they are
  connect5.userPropertiesPtr = properties.contentPtr;
  connect5.userPropertiesLen = properties.contentLen;
  let rest = len - properties.size;
  if (rest == 0) return OK;
  if (!hasWill) return INVALID_ARGUMENT;
  let will = ptr + properties.size;
  if (decodeProperties(WILL_PROPERTIES, will, rest) != REASON_SUCCESS || properties.size != rest) return INVALID_ARGUMENT;
  session5.willPropertiesPtr = properties.contentPtr;
  session5.willPropertiesLen = properties.contentLen;
  return OK;
}

// ---- closing for bad input (§4.13) -----------------------------------------------

/** Records the Reason Code to DISCONNECT with and returns the status the connection closes with. */
export function reject5(reason: u32): i32 {
  session5.disconnectReason = reason;
  if (reason == REASON_MALFORMED_PACKET) return MALFORMED_PACKET;
  if (reason == REASON_PACKET_TOO_LARGE) return PACKET_TOO_LARGE;
  return PROTOCOL_ERROR;
}

/** OK for REASON_SUCCESS, else reject5(reason). */
export function check5(reason: u32): i32 {
  return reason == REASON_SUCCESS ? OK : reject5(reason);
}

/** The Reason Code of the DISCONNECT for closing with status (the one reject5 recorded, else the status's), and forgets it. */
export function disconnectReasonFor(status: i32): u32 {
  let reason = session5.disconnectReason;
  session5.disconnectReason = 0;
  if (reason != 0) return reason;
  if (status == MALFORMED_PACKET) return REASON_MALFORMED_PACKET;
  if (status == PACKET_TOO_LARGE) return REASON_PACKET_TOO_LARGE;
  return REASON_PROTOCOL_ERROR;
}

/** True when a client may DISCONNECT with this Reason Code (Table 2-6; 0 in 3.1.1, whose DISCONNECT has none). */
export function isDisconnectReason(code: u32): bool {
  return isV5() ? isReasonAllowed(DISCONNECT, code) : code == 0;
}

// ---- CONNACK (§3.2) ----------------------------------------------------------------

/**
 * The status a CONNACK refusal (Reason Code ≥ 0x80) ends the attempt with: the 3.1.1
 * refusal of the same meaning (CONNACK_REFUSED_BASE - its return code), else CONNACK_REFUSED.
 */
export function connackRefusal(code: u32): i32 {
  let returnCode: i32 = 0;
  if (code == REASON_UNSUPPORTED_PROTOCOL_VERSION) returnCode = 1;
  else if (code == REASON_CLIENT_IDENTIFIER_NOT_VALID) returnCode = 2;
  else if (code == REASON_SERVER_UNAVAILABLE) returnCode = 3;
  else if (code == REASON_BAD_USER_NAME_OR_PASSWORD) returnCode = 4;
  else if (code == REASON_NOT_AUTHORIZED) returnCode = 5;
  return returnCode == 0 ? CONNACK_REFUSED : CONNACK_REFUSED_BASE - returnCode;
}

/**
 * Takes the broker's limits from an accepting CONNACK just decoded (properties): Receive
 * Maximum (the send quota, at most the module's in-flight slots), Maximum Packet Size,
 * Maximum QoS, Retain Available, Topic Alias Maximum; forgets the aliases (both ways) of
 * the last connection. Returns the keepalive period in ms: the Server Keep Alive when given.
 */
export function acceptConnack5(): u32 {
  session5.sendMaximum = hasProperty(RECEIVE_MAXIMUM) ? min(properties.receiveMaximum, <u32>INFLIGHT_SLOTS) : INFLIGHT_SLOTS;
  session5.serverMaximumPacketSize = hasProperty(MAXIMUM_PACKET_SIZE) ? properties.maximumPacketSize : 0xffffffff;
  session5.maximumQos = hasProperty(MAXIMUM_QOS) ? properties.maximumQos : 2;
  session5.retainAvailable = hasProperty(RETAIN_AVAILABLE) ? properties.retainAvailable : 1;
  session5.serverTopicAliasMaximum = hasProperty(TOPIC_ALIAS_MAXIMUM) ? properties.topicAliasMaximum : 0;
  memory.fill(ALIAS_BASE, 0, TOPIC_ALIAS_SLOTS * ALIAS_SLOT_SIZE);
  memory.fill(OUT_ALIAS_BASE, 0, TOPIC_ALIAS_SLOTS * OUT_SLOT_SIZE);
  session5.aliasClock = 0;
  return hasProperty(SERVER_KEEP_ALIVE) ? properties.serverKeepAlive * 1000 : session5.keepaliveMs;
}

// ---- PUBLISH (§3.3) ----------------------------------------------------------------

/**
 * An inbound 5.0 PUBLISH: decoded (codec5.ts) against the Topic Alias Maximum announced,
 * its alias resolved: a topic with an alias is kept in the alias's slot, an empty topic
 * takes the slot's (decoded.topicPtr/topicLen then point into the table). Returns OK or
 * reject5 of REASON_MALFORMED_PACKET, REASON_PROTOCOL_ERROR (an empty topic whose alias
 * maps none, §3.3.2.3.4), REASON_TOPIC_ALIAS_INVALID (0 or above the maximum; a topic
 * longer than MAX_TOPIC_LENGTH, which no slot can keep).
 */
export function decodeInboundPublish5(header: u8, body: usize, len: u32): i32 {
  let reason = decodePublish5(header, body, len, session5.topicAliasMaximum);
  if (reason != REASON_SUCCESS || !hasProperty(TOPIC_ALIAS)) return check5(reason);
  let slot = ALIAS_BASE + (properties.topicAlias - 1) * ALIAS_SLOT_SIZE;
  let topicLen = decoded.topicLen;
  if (topicLen == 0) {
    let mapped = <u32>load<u16>(slot);
    if (mapped == 0) return reject5(REASON_PROTOCOL_ERROR);
    decoded.topicPtr = slot + 2;
    decoded.topicLen = mapped;
    return OK;
  }
  if (topicLen > <u32>MAX_TOPIC_LENGTH) return reject5(REASON_TOPIC_ALIAS_INVALID);
  store<u16>(slot, <u16>topicLen);
  memory.copy(slot + 2, decoded.topicPtr, topicLen);
  return OK;
}

/**
 * Checks an outbound 5.0 PUBLISH against the broker's limits and the caller's property
 * block of len bytes at ptr (a whole block, or len 0 for none), and keeps the block's
 * content in session5.publishPropertiesPtr/Len. The block may not hold a Topic Alias (the
 * module's) or a Subscription Identifier (the server's, §3.3.4). Returns OK,
 * QOS_NOT_SUPPORTED, RETAIN_NOT_SUPPORTED or INVALID_ARGUMENT (a bad block).
 */
export function checkPublish5(qos: u32, retain: bool, ptr: usize, len: u32): i32 {
  let status = checkServerLimits(qos, retain);
  if (status != OK) return status;
  session5.publishPropertiesPtr = ptr;
  session5.publishPropertiesLen = 0;
  if (len == 0) return OK;
  if (decodeProperties(PUBLISH, ptr, len) != REASON_SUCCESS || properties.size != len) return INVALID_ARGUMENT;
  if (hasProperty(TOPIC_ALIAS) || hasProperty(SUBSCRIPTION_IDENTIFIER)) return INVALID_ARGUMENT;
  session5.publishPropertiesPtr = properties.contentPtr;
  session5.publishPropertiesLen = properties.contentLen;
  return OK;
}

/** OK, or QOS_NOT_SUPPORTED above the broker's Maximum QoS, RETAIN_NOT_SUPPORTED for retain without Retain Available (§3.2.2.3.4–5). */
function checkServerLimits(qos: u32, retain: bool): i32 {
  if (qos > session5.maximumQos) return QOS_NOT_SUPPORTED;
  if (retain && session5.retainAvailable == 0) return RETAIN_NOT_SUPPORTED;
  return OK;
}

/**
 * A PUBLISH the outbox holds (the whole packet of len bytes at ptr, queued or to be sent
 * again) against the limits of the CONNACK just accepted, which may be lower than those it
 * was queued under: OK, QOS_NOT_SUPPORTED, RETAIN_NOT_SUPPORTED, or PACKET_TOO_LARGE above
 * the broker's Maximum Packet Size (§3.2.2.3.6: the client MUST NOT send it).
 */
export function checkQueuedPublish5(ptr: usize, len: u32): i32 {
  let header = <u32>load<u8>(ptr);
  let status = checkServerLimits((header >> 1) & 3, (header & 1) != 0);
  if (status != OK) return status;
  return len > session5.serverMaximumPacketSize ? PACKET_TOO_LARGE : OK;
}

/**
 * Checks the caller's DISCONNECT property block of len bytes at ptr (a whole block; len 0:
 * none) and keeps its content in session5.disconnectPropertiesPtr/Len for sendDisconnect.
 * Returns OK, INVALID_ARGUMENT (a bad block or one a DISCONNECT may not carry, a block in
 * 3.1.1, a Server Reference, which only a server sends (§3.14.2.2.5), a non-zero Session
 * Expiry Interval when the CONNECT's was 0 [MQTT-3.14.2-2]) or PACKET_TOO_LARGE (the
 * DISCONNECT above the broker's Maximum Packet Size or the tx ring).
 */
export function checkDisconnect5(reasonCode: u32, ptr: usize, len: u32): i32 {
  session5.disconnectPropertiesPtr = ptr;
  session5.disconnectPropertiesLen = 0;
  if (len == 0) return OK;
  if (!isV5()) return INVALID_ARGUMENT;
  if (decodeProperties(DISCONNECT, ptr, len) != REASON_SUCCESS || properties.size != len) return INVALID_ARGUMENT;
  if (hasProperty(SERVER_REFERENCE)) return INVALID_ARGUMENT;
  if (hasProperty(SESSION_EXPIRY_INTERVAL) && properties.sessionExpiryInterval != 0 && session5.sessionExpiryInterval == 0) return INVALID_ARGUMENT;
  let size = packetSize(disconnect5RemainingLength(reasonCode, properties.contentLen));
  if (size > session5.serverMaximumPacketSize || size > <u32>TX_CAPACITY) return PACKET_TOO_LARGE;
  session5.disconnectPropertiesPtr = properties.contentPtr;
  session5.disconnectPropertiesLen = properties.contentLen;
  return OK;
}

// ---- outbound Topic Aliases (§3.3.2.3.4) -------------------------------------------

/**
 * The outbound alias slot holding this topic (0-based), or -1 - the slot to take for it:
 * a free one, else the least recently used, among the first `slots`.
 */
function findOutboundAlias(topic: usize, topicLen: u32, slots: u32): i32 {
  let victim: u32 = 0;
  let oldest: u32 = 0xffffffff;
  for (let i: u32 = 0; i < slots; i++) {
    let slot = OUT_ALIAS_BASE + i * OUT_SLOT_SIZE;
    let len = <u32>load<u16>(slot, 4);
    if (len == topicLen && memory.compare(slot + 6, topic, len) == 0) return <i32>i;
    let stamp: u32 = len == 0 ? 0 : load<u32>(slot);
    if (stamp < oldest) {
      oldest = stamp;
      victim = i;
    }
  }
  return -1 - <i32>victim;
}

/**
 * Writes a queued 5.0 PUBLISH (the whole packet of len bytes at ptr, as the outbox holds
 * it) into the tx ring. With autoAssignTopicAlias and a broker Topic Alias Maximum, a first
 * send gets a Topic Alias: the topic's own when this connection mapped it (the topic is
 * then left out), else a new mapping in a free or the least recently used slot, never
 * above the broker's maximum. A resend (DUP) carries its full topic and no alias, as does
 * a PUBLISH the alias would take above the broker's Maximum Packet Size. Returns false,
 * writing nothing and mapping nothing, when the tx ring lacks room.
 */
export function transmitPublish5(ptr: usize, len: u32, packetId: u32, now: u32): bool {
  let header = load<u8>(ptr);
  let slots = min(session5.serverTopicAliasMaximum, <u32>TOPIC_ALIAS_SLOTS);
  if ((session5.flags & PROTOCOL_FLAG_AUTO_ALIAS) != 0 && slots > 0 && (header & 0x08) == 0) {
    // the outbox holds a packet encodePublish5 wrote: fixed header, topic, packet id, properties, payload
    decodeRemainingLength(ptr + 1, 4);
    let topicField = ptr + 1 + decoded.lengthBytes;
    let topicLen = readU16(topicField);
    let idLen: u32 = (header & 6) != 0 ? 2 : 0;
    let block = topicField + 2 + topicLen + idLen;
    decodeRemainingLength(block, 4);
    let content = block + decoded.lengthBytes;
    let contentLen = decoded.remainingLength;
    let payload = content + contentLen;
    let payloadLen = <u32>(ptr + len - payload);
    let found = findOutboundAlias(topicField + 2, topicLen, slots);
    let sentTopicLen = found >= 0 ? 0 : topicLen;
    let newContentLen = contentLen + 3;
    let remainingLength: u32 = 2 + sentTopicLen + idLen + remainingLengthSize(newContentLen) + newContentLen + payloadLen;
    let size: u32 = 1 + remainingLengthSize(remainingLength) + remainingLength;
    if (size <= session5.serverMaximumPacketSize) {
      if (tx.free() < size) return false;
      let index = found >= 0 ? <u32>found : <u32>(-1 - found);
      let slot = OUT_ALIAS_BASE + index * OUT_SLOT_SIZE;
      if (found < 0) {
        store<u16>(slot, <u16>topicLen, 4);
        memory.copy(slot + 6, topicField + 2, topicLen);
      }
      store<u32>(slot, ++session5.aliasClock);
      store<u8>(SCRATCH, header);
      let n = 1 + encodeRemainingLength(SCRATCH + 1, remainingLength);
      writeU16(SCRATCH + n, sentTopicLen);
      tx.write(SCRATCH, n + 2);
      tx.write(topicField + 2, sentTopicLen);
      tx.write(topicField + 2 + topicLen, idLen);
      n = encodeRemainingLength(SCRATCH, newContentLen);
      store<u8>(SCRATCH + n, TOPIC_ALIAS);
      writeU16(SCRATCH + n + 1, index + 1);
      tx.write(SCRATCH, n + 3);
      tx.write(content, contentLen);
      tx.write(payload, payloadLen);
      sent(header, packetId, remainingLength, now);
      return true;
    }
  }
  if (tx.free() < len) return false;
  tx.write(ptr, len);
  decodeRemainingLength(ptr + 1, 4);
  sent(header, packetId, decoded.remainingLength, now);
  return true;
}
