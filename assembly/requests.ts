// SUBSCRIBE and UNSUBSCRIBE (MQTT 3.1.1 §3.8–3.11): requests are recorded in the
// subscription table first and sent from it, so a request made while offline goes out
// on connect, an unanswered one is sent again after a reconnect, and every granted
// filter is subscribed again when the broker reports no session.
import { STAGING_CAPACITY, SUBSCRIPTION_SLOTS, TX_CAPACITY, REQUEST_PROPERTY_BYTES } from "./config";
import { OK, PROTOCOL_ERROR, INVALID_ARGUMENT, INVALID_FILTER, INVALID_QOS, INVALID_STATE, NO_PACKET_ID, PACKET_TOO_LARGE, SUBSCRIPTIONS_FULL } from "./status";
import { SUBSCRIBE, UNSUBSCRIBE, decoded, encodeRemainingLength, packetSize, writeFixedHeader, writeU16 } from "./codec";
import {
  SUBSCRIPTION_FREE, SUBSCRIPTION_PENDING, SUBSCRIPTION_SENT, SUBSCRIPTION_ACTIVE, UNSUBSCRIBE_PENDING, UNSUBSCRIBE_SENT,
} from "./subscriptions";
import { validateTopicFilter } from "./topic";
import { STAGING_BASE, SCRATCH, STATE_CONNECTED, client, subscriptions, tx, sent, sendQueued, allocatePacketId } from "./client";
import { onEvent, EVENT_SUBACK, EVENT_UNSUBACK } from "./host";
import { isV5 } from "./client5";
import {
  SUBSCRIPTION_IDENTIFIER, USER_PROPERTY, properties, decodeProperties, propertiesLength, variableBytePropertySize, writeVariableByteProperty,
} from "./properties";
import { REASON_SUCCESS, isErrorReason } from "./reasons";
import { changed } from "./persist";

/**
 * Records a SUBSCRIBE of the `count` entries in staging, each `[u16 length][filter][u8 qos]`
 * (little-endian length; in MQTT 5.0 the byte is the Subscription Options, MQTT 5.0
 * §3.8.3.1: QoS, No Local, Retain As Published, Retain Handling), and sends it when connected. Returns the packet id (> 0; one
 * SUBACK event per filter follows), or INVALID_ARGUMENT (count, entries beyond staging,
 * a filter twice), INVALID_FILTER, INVALID_QOS, INVALID_STATE (a filter still awaiting
 * its SUBACK or UNSUBACK), PACKET_TOO_LARGE, SUBSCRIPTIONS_FULL or NO_PACKET_ID. A call
 * that repeats a SUBSCRIBE still awaiting its SUBACK exactly (joinedRequest: a restored
 * session's, or one made earlier) joins it: it returns that request's packet id and
 * records nothing; the same filters with other options are INVALID_STATE.
 */
export function subscribe(count: u32, now: u32): i32 {
  return request(count, true, 0, 0, now);
}

/**
 * MQTT 5: subscribe() whose SUBSCRIBE carries this Subscription Identifier (1..268435455,
 * MQTT 5.0 §3.8.2.1.2), which the broker puts in every PUBLISH matching these filters; it
 * goes with the filters on every resend and resubscription. Returns what subscribe()
 * returns; INVALID_ARGUMENT also for an identifier of 0 or above 268435455, or in 3.1.1.
 */
export function subscribeWithIdentifier(count: u32, subscriptionIdentifier: u32, now: u32): i32 {
  if (!isV5() || subscriptionIdentifier == 0 || subscriptionIdentifier > MAX_SUBSCRIPTION_IDENTIFIER) return INVALID_ARGUMENT;
  return request(count, true, subscriptionIdentifier, 0, now);
}

/**
 * MQTT 5: subscribe() whose SUBSCRIBE carries the Subscription Identifier (0: none) and the
 * User Properties (MQTT 5.0 §3.8.2.1.3) of the property block of propertiesLen bytes staged
 * right after the entries (a whole block, its Property Length first, holding only User
 * Properties; 0: none). Each filter's slot keeps them, so a resend and a resubscription carry
 * them too. Returns what subscribeWithIdentifier() returns; INVALID_ARGUMENT also for a bad
 * block or any other property in it, PACKET_TOO_LARGE for User Properties beyond the
 * REQUEST_PROPERTY_BYTES a slot keeps.
 */
export function subscribeWithProperties(count: u32, subscriptionIdentifier: u32, propertiesLen: u32, now: u32): i32 {
  if (!isV5() || subscriptionIdentifier > MAX_SUBSCRIPTION_IDENTIFIER) return INVALID_ARGUMENT;
  return request(count, true, subscriptionIdentifier, propertiesLen, now);
}

/**
 * Records an UNSUBSCRIBE of the `count` entries in staging, each `[u16 length][filter]`,
 * and sends it when connected. A filter the table does not hold takes a free slot; when
 * none is left it is left out (this client holds no subscription to it), and when every
 * filter is left out the UNSUBACK event comes at once, with no packet sent. Returns the
 * packet id (> 0; an UNSUBACK event follows) or the statuses of subscribe() but
 * INVALID_QOS and SUBSCRIPTIONS_FULL; like subscribe(), a call that repeats an
 * UNSUBSCRIBE still awaiting its UNSUBACK exactly returns that request's packet id.
 */
export function unsubscribe(count: u32, now: u32): i32 {
  return request(count, false, 0, 0, now);
}

/**
 * MQTT 5: unsubscribe() whose UNSUBSCRIBE carries the User Properties (MQTT 5.0
 * §3.10.2.1.2) of the block of propertiesLen bytes staged right after the entries, as
 * subscribeWithProperties() takes them. Returns what unsubscribe() returns; INVALID_ARGUMENT
 * also in 3.1.1 or for a bad block, PACKET_TOO_LARGE as subscribeWithProperties().
 */
export function unsubscribeWithProperties(count: u32, propertiesLen: u32, now: u32): i32 {
  if (!isV5()) return INVALID_ARGUMENT;
  return request(count, false, 0, propertiesLen, now);
}

/** The largest Subscription Identifier, a four-byte Variable Byte Integer (MQTT 5.0 §3.8.2.1.2). */
const MAX_SUBSCRIPTION_IDENTIFIER: u32 = 268435455;

/** Size of one staging entry whose filter is len bytes. */
// @ts-ignore: decorator
@inline function entrySize(len: u32, subscribing: bool): u32 {
  return 2 + len + (subscribing ? 1 : 0);
}

function request(count: u32, subscribing: bool, subscriptionIdentifier: u32, propertiesLen: u32, now: u32): i32 {
  let status = checkRequest(count, subscribing, subscriptionIdentifier, propertiesLen);
  if (status == INVALID_STATE) {
    let joined = joinedRequest(count, subscribing, subscriptionIdentifier, propertiesLen);
    if (joined != 0) return <i32>joined;
  }
  if (status != OK) return status;
  // checkRequest decoded the block last: its User Properties, for every slot of the request
  let userPropertiesPtr = properties.contentPtr;
  let userPropertiesLen: u32 = propertiesLen == 0 ? 0 : properties.contentLen;
  let packetId = allocatePacketId();
  if (packetId == 0) return NO_PACKET_ID;
  let pending = subscribing ? SUBSCRIPTION_PENDING : UNSUBSCRIBE_PENDING;
  let entry = STAGING_BASE;
  let recorded: u32 = 0;
  for (let index: u32 = 0; index < count; index++) {
    let len = <u32>load<u16>(entry);
    let qos = subscribing ? <u32>load<u8>(entry + 2 + len) : 0;
    // only an unsubscribe of a filter the table lacks can find no slot (checkRequest)
    let slot = subscriptions.put(entry + 2, len, qos, packetId, recorded, pending);
    if (slot >= 0) {
      subscriptions.setSubscriptionIdentifier(<u32>slot, subscriptionIdentifier);
      subscriptions.setProperties(<u32>slot, userPropertiesPtr, userPropertiesLen);
      recorded++;
    }
    entry += entrySize(len, subscribing);
  }
  if (recorded == 0) {
    decoded.codesLen = 0; // no UNSUBACK, no Reason Codes
    onEvent(EVENT_UNSUBACK, OK, packetId);
  }
  changed();
  sendQueued(now);
  return <i32>packetId;
}

/**
 * Validates the staged entries against staging, the table and the tx ring, and the property
 * block of propertiesLen bytes after them (checkUserProperties). Returns OK or a status of
 * subscribeWithProperties().
 */
function checkRequest(count: u32, subscribing: bool, subscriptionIdentifier: u32, propertiesLen: u32): i32 {
  if (count == 0 || count > <u32>SUBSCRIPTION_SLOTS) return INVALID_ARGUMENT;
  let end = STAGING_BASE + <usize>STAGING_CAPACITY;
  let remainingLength: u32 = 0;
  let status: i32;
  let newSlots: u32 = 0;
  let entry = STAGING_BASE;
  for (let index: u32 = 0; index < count; index++) {
    if (entry + 2 > end) return INVALID_ARGUMENT;
    let len = <u32>load<u16>(entry);
    let size = entrySize(len, subscribing);
    if (entry + size > end) return INVALID_ARGUMENT;
    let filter = entry + 2;
    if (validateTopicFilter(filter, len) != OK) return INVALID_FILTER;
    if (subscribing) {
      status = checkOptions(load<u8>(filter + len));
      if (status != OK) return status;
    }
    if (repeatsEarlierEntry(filter, len, index, subscribing)) return INVALID_ARGUMENT;
    let slot = subscriptions.find(filter, len);
    // an unsubscribed filter the table lacks needs no slot: request() leaves it out when none is free
    if (slot < 0) newSlots += subscribing ? 1 : 0;
    else if (subscriptions.state(<u32>slot) != SUBSCRIPTION_ACTIVE) return INVALID_STATE;
    remainingLength += size;
    entry += size;
  }
  if (propertiesLen > <u32>(end - entry)) return INVALID_ARGUMENT;
  status = checkUserProperties(subscribing ? SUBSCRIBE : UNSUBSCRIBE, entry, propertiesLen);
  if (status != OK) return status;
  remainingLength += headerLength(subscriptionIdentifier, propertiesLen == 0 ? 0 : properties.contentLen);
  if (packetSize(remainingLength) > <u32>TX_CAPACITY) return PACKET_TOO_LARGE;
  return subscriptions.hasRoom(newSlots) ? OK : SUBSCRIPTIONS_FULL;
}

/**
 * The packet id of the request awaiting its SUBACK (subscribing) or UNSUBACK that the
 * `count` staged entries repeat exactly: all of its filters and no other, in its order, with
 * the same options, Subscription Identifier and User Properties (the block of propertiesLen
 * bytes after the entries). Returns 0 when they do not.
 */
function joinedRequest(count: u32, subscribing: bool, subscriptionIdentifier: u32, propertiesLen: u32): u32 {
  let end = STAGING_BASE + <usize>STAGING_CAPACITY;
  let packetId: u32 = 0;
  let state: u8 = SUBSCRIPTION_FREE;
  let first: u32 = 0;
  let entry = STAGING_BASE;
  for (let index: u32 = 0; index < count; index++) {
    if (entry + 2 > end) return 0;
    let len = <u32>load<u16>(entry);
    let size = entrySize(len, subscribing);
    if (entry + size > end) return 0;
    let slot = subscriptions.find(entry + 2, len);
    if (slot < 0) return 0;
    let s = <u32>slot;
    if (index == 0) {
      first = s;
      packetId = subscriptions.packetId(s);
      state = subscriptions.state(s);
      let awaiting = subscribing
        ? state == SUBSCRIPTION_PENDING || state == SUBSCRIPTION_SENT
        : state == UNSUBSCRIBE_PENDING || state == UNSUBSCRIBE_SENT;
      if (!awaiting) return 0;
    } else if (subscriptions.state(s) != state || subscriptions.packetId(s) != packetId) return 0;
    if (subscriptions.index(s) != index) return 0;
    if (subscribing && subscriptions.qos(s) != <u32>load<u8>(entry + 2 + len)) return 0;
    entry += size;
  }
  if (packetId == 0 || subscriptions.requestSize(packetId, state) != count) return 0;
  if (subscribing && subscriptions.subscriptionIdentifier(first) != subscriptionIdentifier) return 0;
  if (propertiesLen > <u32>(end - entry)) return 0;
  if (checkUserProperties(subscribing ? SUBSCRIBE : UNSUBSCRIBE, entry, propertiesLen) != OK) return 0;
  let userPropertiesLen: u32 = propertiesLen == 0 ? 0 : properties.contentLen;
  if (subscriptions.propertiesLen(first) != userPropertiesLen) return 0;
  return memory.compare(subscriptions.propertiesPtr(first), properties.contentPtr, userPropertiesLen) == 0 ? packetId : 0;
}

/**
 * A staged entry's last byte: the QoS (3.1.1), or the Subscription Options (5.0, §3.8.3.1:
 * reserved bits 0, Retain Handling at most 2). Returns OK, INVALID_QOS or INVALID_ARGUMENT.
 */
function checkOptions(options: u8): i32 {
  if (!isV5()) return options > 2 ? INVALID_QOS : OK;
  if ((options & 3) == 3) return INVALID_QOS;
  return (options & 0xc0) != 0 || (options & 0x30) == 0x30 ? INVALID_ARGUMENT : OK;
}

/**
 * A request's property block of len bytes at ptr (a whole block; len 0: none) for a packet of
 * this type: only User Properties, at most REQUEST_PROPERTY_BYTES of them. Returns OK
 * (properties holds the block), INVALID_ARGUMENT (malformed, another property) or
 * PACKET_TOO_LARGE (more than a slot keeps).
 */
function checkUserProperties(type: u8, ptr: usize, len: u32): i32 {
  if (len == 0) return OK;
  if (decodeProperties(type, ptr, len) != REASON_SUCCESS || properties.size != len) return INVALID_ARGUMENT;
  if (properties.present != (<u64>1 << <u64>USER_PROPERTY)) return INVALID_ARGUMENT;
  return properties.contentLen <= <u32>REQUEST_PROPERTY_BYTES ? OK : PACKET_TOO_LARGE;
}

/**
 * Bytes of a SUBSCRIBE / UNSUBSCRIBE before its entries: packet id, and in 5.0 the property
 * block: the Subscription Identifier if any, then userPropertiesLen bytes of User Properties
 * (MQTT 5.0 §3.8.2.1, §3.10.2.1).
 */
function headerLength(subscriptionIdentifier: u32, userPropertiesLen: u32): u32 {
  if (!isV5()) return 2;
  return 2 + propertiesLength((subscriptionIdentifier == 0 ? 0 : variableBytePropertySize(subscriptionIdentifier)) + userPropertiesLen);
}

/** True when one of the first `count` staged entries holds the same filter. */
function repeatsEarlierEntry(filter: usize, len: u32, count: u32, subscribing: bool): bool {
  let entry = STAGING_BASE;
  for (let index: u32 = 0; index < count; index++) {
    let other = <u32>load<u16>(entry);
    if (other == len && memory.compare(entry + 2, filter, len) == 0) return true;
    entry += entrySize(other, subscribing);
  }
  return false;
}

/**
 * Prepares the table for a new connection: unanswered requests are sent again and,
 * when the broker kept no session, every granted filter is subscribed again, each
 * in its own SUBSCRIBE with a fresh packet id.
 */
export function resetRequests(sessionPresent: bool): void {
  subscriptions.moveAll(SUBSCRIPTION_SENT, SUBSCRIPTION_PENDING);
  subscriptions.moveAll(UNSUBSCRIBE_SENT, UNSUBSCRIBE_PENDING);
  if (sessionPresent) return;
  for (let i: u32 = 0; i < subscriptions.slots; i++) {
    if (subscriptions.state(i) != SUBSCRIPTION_ACTIVE) continue;
    let packetId = allocatePacketId();
    if (packetId == 0) return;
    subscriptions.assign(i, packetId, 0);
    subscriptions.setState(i, SUBSCRIPTION_PENDING);
  }
}

/** Sends every pending request that fits the tx ring, oldest slot first (none: no scan, subscriptions.queued). */
export function sendRequests(now: u32): void {
  if (client.state != STATE_CONNECTED || !subscriptions.queued) return;
  for (let i: u32 = 0; i < subscriptions.slots; i++) {
    let state = subscriptions.state(i);
    if (state != SUBSCRIPTION_PENDING && state != UNSUBSCRIBE_PENDING) continue;
    if (!sendRequest(i, now)) return;
  }
  subscriptions.queued = false;
}

/**
 * Writes the SUBSCRIBE or UNSUBSCRIBE that slot `member` waits in: every slot in its
 * state with its packet id, in position order, renumbered 0, 1, … as written so the
 * SUBACK's return codes map back exactly. The request always holds `member`, so none
 * goes out without a filter (§3.8.3, §3.10.3). Returns false when the tx ring lacks room.
 */
function sendRequest(member: u32, now: u32): bool {
  let packetId = subscriptions.packetId(member);
  let pending = subscriptions.state(member);
  let subscribing = pending == SUBSCRIPTION_PENDING;
  let subscriptionIdentifier = subscribing ? subscriptions.subscriptionIdentifier(member) : 0; // the same in every slot of the request
  let userPropertiesLen = subscriptions.propertiesLen(member); // likewise
  let remainingLength = headerLength(subscriptionIdentifier, userPropertiesLen);
  for (let i: u32 = 0; i < subscriptions.slots; i++) {
    if (subscriptions.state(i) == pending && subscriptions.packetId(i) == packetId) {
      remainingLength += entrySize(subscriptions.filterLen(i), subscribing);
    }
  }
  if (tx.free() < packetSize(remainingLength)) return false;
  // fixed header with the reserved flags 0b0010 (§3.8.1, §3.10.1), packet id, then each filter
  let header = <u8>(((subscribing ? SUBSCRIBE : UNSUBSCRIBE) << 4) | 0x02);
  let n = writeFixedHeader(SCRATCH, header, remainingLength);
  writeU16(SCRATCH + n, packetId);
  n += 2;
  tx.write(SCRATCH, n);
  if (isV5()) {
    // Property Length (two bytes at most: REQUEST_PROPERTY_BYTES + 5 < 16384), the identifier if any, the User Properties
    let identifierSize: u32 = subscriptionIdentifier == 0 ? 0 : variableBytePropertySize(subscriptionIdentifier);
    n = encodeRemainingLength(SCRATCH, identifierSize + userPropertiesLen);
    if (subscriptionIdentifier != 0) n += writeVariableByteProperty(SCRATCH + n, SUBSCRIPTION_IDENTIFIER, subscriptionIdentifier);
    tx.write(SCRATCH, n);
    tx.write(subscriptions.propertiesPtr(member), userPropertiesLen);
  }
  let position: u32 = 0;
  for (let slot = subscriptions.firstOfRequest(packetId, pending); slot >= 0; slot = subscriptions.firstOfRequest(packetId, pending)) {
    let s = <u32>slot;
    let len = subscriptions.filterLen(s);
    writeU16(SCRATCH, len);
    tx.write(SCRATCH, 2);
    tx.write(subscriptions.filterPtr(s), len);
    if (subscribing) tx.writeByte(<u8>subscriptions.qos(s));
    subscriptions.assign(s, packetId, position++);
    subscriptions.setState(s, subscribing ? SUBSCRIPTION_SENT : UNSUBSCRIBE_SENT);
  }
  sent(header, packetId, remainingLength, now);
  return true;
}

/**
 * SUBACK (decoded, §3.9): answers the SUBSCRIBE sent with its packet id as a whole:
 * each filter granted becomes active, each refused (0x80; in 5.0 any Reason Code ≥ 0x80)
 * is dropped; one event per return code. Returns OK, or PROTOCOL_ERROR with nothing changed when no SUBSCRIBE
 * awaits this id or the return codes do not match its filters one for one (§3.9.3).
 */
export function handleSuback(): i32 {
  let packetId = decoded.packetId;
  let count = decoded.codesLen;
  if (subscriptions.requestSize(packetId, SUBSCRIPTION_SENT) != count) return PROTOCOL_ERROR;
  for (let index: u32 = 0; index < count; index++) {
    let code = load<u8>(decoded.codesPtr + index);
    let slot = subscriptions.findRequest(packetId, index, SUBSCRIPTION_SENT); // found: sendRequest numbered them 0..count-1
    if (slot >= 0) subscriptions.setState(<u32>slot, isErrorReason(code) ? SUBSCRIPTION_FREE : SUBSCRIPTION_ACTIVE); // 0x80 in 3.1.1
    onEvent(EVENT_SUBACK, code, packetId | (index << 16));
  }
  changed();
  return OK;
}

/**
 * UNSUBACK (decoded, §3.11): frees the filters of the UNSUBSCRIBE sent with its packet
 * id; in 5.0 its Reason Codes, one per filter in the UNSUBSCRIBE's order (MQTT 5.0
 * §3.11.3), are at decoded.codesPtr during the event (3.1.1: none, codesLen 0). Returns
 * OK, or PROTOCOL_ERROR with nothing changed when no UNSUBSCRIBE awaits this id or, in
 * 5.0, the Reason Codes do not match its filters one for one.
 */
export function handleUnsuback(): i32 {
  let packetId = decoded.packetId;
  if (!isV5()) decoded.codesLen = 0;
  else if (subscriptions.requestSize(packetId, UNSUBSCRIBE_SENT) != decoded.codesLen) return PROTOCOL_ERROR;
  if (subscriptions.moveRequest(packetId, UNSUBSCRIBE_SENT, SUBSCRIPTION_FREE) == 0) return PROTOCOL_ERROR;
  changed();
  onEvent(EVENT_UNSUBACK, OK, packetId);
  return OK;
}
