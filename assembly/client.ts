// The client state machine: connect and CONNACK, keepalive, reconnect with backoff,
// the QoS flows in both directions, and resend after reconnect. All protocol timing
// lives here; the host only reports the time (a wrapping u32 ms counter), network
// events and received bytes. Times are only ever subtracted, so the wrap is harmless.
import {
  RX_CAPACITY, TX_CAPACITY, OUTBOX_CAPACITY, STAGING_CAPACITY, CONNECT_CAPACITY,
  INFLIGHT_SLOTS, SUBSCRIPTION_SLOTS, INBOUND_QOS2_SLOTS, MAX_TOPIC_LENGTH,
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RECONNECT_MIN_MS, DEFAULT_RECONNECT_MAX_MS, MAX_TICK_DELAY_MS,
} from "./config";
import {
  OK, MALFORMED_PACKET, PROTOCOL_ERROR, PACKET_TOO_LARGE, OUTBOX_FULL, INVALID_TOPIC, INVALID_QOS,
  NO_PACKET_ID, INVALID_ARGUMENT, INVALID_STATE, CONNACK_REFUSED_BASE, KEEPALIVE_TIMEOUT,
  CONNECT_TIMEOUT, CONNECTION_LOST, CONNECTION_REFUSED, CLIENT_STOPPED, DISCONNECTED,
} from "./status";
import {
  CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT,
  CONNECT_FLAG_CLEAN_SESSION, CONNECT_FLAG_WILL, CONNECT_FLAG_WILL_RETAIN, CONNECT_FLAG_PASSWORD, CONNECT_FLAG_USERNAME,
  NEED_MORE, decoded, decodeRemainingLength, encodeRemainingLength, checkServerHeader, decodeConnack, decodePublish, decodePublishHead, decodeAck, readU16,
  decodeSuback, decodePingresp, connectRemainingLength, writeConnectHeader, writeFixedHeader, writeField,
  publishRemainingLength, encodePublish, encodeAck, encodeEmpty, packetSize, packetIdOf, remainingLengthOf,
} from "./codec";
import { ByteRing } from "./ring";
import {
  Outbox, InboundQos2, RECORD_DONE, RECORD_QUEUED, RECORD_AWAIT_PUBACK, RECORD_AWAIT_PUBREC,
  RECORD_AWAIT_PUBCOMP, RECORD_QUEUED_PUBREL,
} from "./session";
import { isValidUtf8, isWellFormedTopicName, validateTopicName } from "./topic";
import { Subscriptions } from "./subscriptions";
import { backoffDelay } from "./backoff";
import {
  netOpen, netSend, netClose, onEvent, onPacket, random,
  EVENT_CONNECTED, EVENT_CONNECT_FAILED, EVENT_CONNECTION_LOST, EVENT_RECONNECTING, EVENT_PUBLISH_DONE,
  EVENT_CLOSED, EVENT_BACKOFF, EVENT_MESSAGE_DROPPED, EVENT_AUTH, PACKET_IN, PACKET_OUT,
} from "./host";
import { sendRequests, handleSuback, handleUnsuback, resetRequests } from "./requests";
import {
  connect5RemainingLength, writeConnect5Header, decodeConnack5, decodeAck5, decodeSuback5, decodeDisconnect5,
  publish5RemainingLength, encodePublish5, encodeDisconnect5, disconnect5RemainingLength, decodeAuth, checkServerHeader5, decoded5,
} from "./codec5";
import { writeProperties } from "./properties";
import { AUTH, REASON_PROTOCOL_ERROR, REASON_PACKET_TOO_LARGE, REASON_RECEIVE_MAXIMUM_EXCEEDED, isErrorReason } from "./reasons";
import {
  session5, connect5, isV5, resetSession5, prepareConnect5, reject5, check5, disconnectReasonFor, isDisconnectReason,
  chooseProtocol, connackRefusal, acceptConnack5, decodeInboundPublish5, checkPublish5, checkQueuedPublish5, checkDisconnect5, transmitPublish5,
} from "./client5";
import { deliver } from "./app";
import {
  CLIENT_STRUCT, OUTBOX_STRUCT, INBOUND_QOS2_STRUCT, SUBSCRIPTIONS_STRUCT, CONNECT_BASE, OUTBOX_BASE, INBOUND_QOS2_BASE,
  SUBSCRIPTIONS_BASE, resetPersistence, changed, pubrelOwed, pubrelHeld,
} from "./persist";

// Client states (the stats block's `state`).
export const STATE_IDLE: u32 = 0;
export const STATE_CONNECTING: u32 = 1;
export const STATE_AWAIT_CONNACK: u32 = 2;
export const STATE_CONNECTED: u32 = 3;
export const STATE_BACKOFF: u32 = 4;
export const STATE_STOPPED: u32 = 5;

/** Largest answer to one inbound packet (PUBACK, PUBREC, PUBCOMP): kept free in the tx ring before parsing. */
const ANSWER_BYTES: u32 = 4;
/** How soon tick() wants to run again while bytes wait for netSend to take them. */
const TX_RETRY_MS: u32 = 5;

// ---- regions -------------------------------------------------------------

/** Received bytes not yet parsed; a partial packet waits at the start. */
export const RX_BASE = memory.data(RX_CAPACITY);
/** Where the host writes strings and payloads before a call. */
export const STAGING_BASE = memory.data(STAGING_CAPACITY);
/** Room to assemble small packets and headers before they go into the tx ring. */
export const SCRATCH = memory.data(8);
const TX_BASE = memory.data(TX_CAPACITY);
// The CONNECT packet (encoded once by configure()), the outbox, the inbound QoS 2 ids and
// the subscription table live in the persistent block (persist.ts), as do the tables' structs.
/**
 * The last PUBLISH skipped for its size (boards/ABI.md, "Oversized messages"): u32 flags
 * as onMessage's, u32 topic length, u32 packet size, then the topic when it is at most
 * MAX_TOPIC_LENGTH bytes.
 */
export const DROPPED_BASE = memory.data(12 + MAX_TOPIC_LENGTH);

/**
 * Everything the client remembers between calls. The fields before `state` are the
 * session's and lie in the persistent block (persist.ts); `state` and those after it
 * belong to one connection and lie just past the block.
 */
@unmanaged
export class Client {
  keepaliveMs: u32;
  connectTimeoutMs: u32;
  reconnectMinMs: u32;
  reconnectMaxMs: u32;
  reconnectEnabled: bool;
  nextPacketId: u32;
  connectLength: u32;
  rxHighWater: u32;
  rxOversizeDropped: u32;
  outboxRejected: u32;
  packetsSent: u32;
  packetsReceived: u32;
  messagesPublished: u32;
  messagesAcknowledged: u32;
  messagesDelivered: u32;
  reconnects: u32;
  bytesSent: u32;
  bytesReceived: u32;
  protocolErrors: u32;
  /** QoS 2 flows the broker ended with PUBACK. */
  qos2Downgraded: u32;
  /** The most QoS 1/2 flows under way at once (setInflightWindow): 1 to INFLIGHT_SLOTS. */
  inflightWindow: u32;
  // ---- the connection: not persisted ----
  state: u32;
  sessionPresent: bool;
  pingOutstanding: bool;
  /** Reconnect attempts since the last CONNACK that accepted us. */
  attempt: u32;
  /** When the current connect attempt or backoff began. */
  phaseStartedAt: u32;
  backoffMs: u32;
  lastSentAt: u32;
  lastReceivedAt: u32;
  pingSentAt: u32;
  rxLength: u32;
  /** Received bytes of a skipped PUBLISH still to discard as they arrive. */
  rxDiscard: u32;
  /** The fixed header byte of a PUBLISH being skipped until its packet id is read and it is answered (0: none). */
  skipHeader: u32;
  /** Its bytes after the packet id. */
  skipTail: u32;
}

export const client = changetype<Client>(CLIENT_STRUCT);
export const tx = changetype<ByteRing>(memory.data(offsetof<ByteRing>()));
export const outbox = changetype<Outbox>(OUTBOX_STRUCT);
export const inboundQos2 = changetype<InboundQos2>(INBOUND_QOS2_STRUCT);
export const subscriptions = changetype<Subscriptions>(SUBSCRIPTIONS_STRUCT);

/** Resets every region and table and the settings to their defaults. */
export function resetClient(): void {
  memory.fill(changetype<usize>(client), 0, offsetof<Client>());
  client.connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
  client.reconnectMinMs = DEFAULT_RECONNECT_MIN_MS;
  client.reconnectMaxMs = DEFAULT_RECONNECT_MAX_MS;
  client.reconnectEnabled = true;
  client.nextPacketId = 1;
  client.inflightWindow = INFLIGHT_SLOTS;
  tx.reset(TX_BASE, TX_CAPACITY);
  outbox.reset(OUTBOX_BASE, OUTBOX_CAPACITY);
  inboundQos2.reset(INBOUND_QOS2_BASE, INBOUND_QOS2_SLOTS);
  inboundQos2.overflows = 0;
  subscriptions.reset(SUBSCRIPTIONS_BASE, SUBSCRIPTION_SLOTS);
  resetSession5();
  resetPersistence();
}

// ---- time ----------------------------------------------------------------

/** Milliseconds from `since` to `now` on the wrapping clock. */
// @ts-ignore: decorator
@inline function elapsed(now: u32, since: u32): u32 {
  return now - since;
}

/** Milliseconds left of `span` that began at `since` (0 when it is over). */
function remaining(now: u32, since: u32, span: u32): u32 {
  let gone = elapsed(now, since);
  return gone >= span ? 0 : span - gone;
}

/** True while a connection is open (CONNECT sent or session running). */
// @ts-ignore: decorator
@inline function isOpen(): bool {
  return client.state == STATE_AWAIT_CONNACK || client.state == STATE_CONNECTED;
}

// ---- settings --------------------------------------------------------------

/**
 * Encodes the CONNECT packet from the strings in staging (client id, username,
 * password, will topic, will payload, back to back; in MQTT 5.0 then the caller's CONNECT
 * property block and, with a will, its Will Properties block, setProtocol's length in all)
 * and the flags of boards/ABI.md.
 * Returns OK, INVALID_STATE (connection under way), INVALID_ARGUMENT (bad flags or
 * lengths, client id or username not UTF-8, password without username §3.1.2.9),
 * INVALID_TOPIC (will topic), INVALID_QOS (will QoS 3) or PACKET_TOO_LARGE; in 5.0 also
 * INVALID_ARGUMENT for a property block client5.ts prepareConnect5 refuses.
 */
export function configure(clientIdLen: u32, usernameLen: u32, passwordLen: u32, willTopicLen: u32, willPayloadLen: u32, flags: u32, keepaliveSec: u32): i32 {
  if (client.state != STATE_IDLE && client.state != STATE_STOPPED) return INVALID_STATE;
  let v5 = isV5();
  let total = <u64>clientIdLen + usernameLen + passwordLen + willTopicLen + willPayloadLen + session5.connectPropertiesLen;
  if ((flags & ~0x7f) != 0 || keepaliveSec > 0xffff || total > <u64>STAGING_CAPACITY) return INVALID_ARGUMENT;
  let hasUsername = (flags & 2) != 0;
  let hasPassword = (flags & 4) != 0;
  let hasWill = (flags & 8) != 0;
  let willQos = (flags >> 5) & 3;
  if (willQos == 3) return INVALID_QOS;
  if (hasPassword && !hasUsername && !v5) return INVALID_ARGUMENT; // 5.0 allows it (MQTT 5.0 §3.1.2.9)
  if (!hasWill && (willTopicLen | willPayloadLen | willQos | (flags & 16)) != 0) return INVALID_ARGUMENT;
  if (!hasUsername && usernameLen != 0 || !hasPassword && passwordLen != 0) return INVALID_ARGUMENT;
  if (clientIdLen > 0xffff || usernameLen > 0xffff || passwordLen > 0xffff || willPayloadLen > 0xffff) return INVALID_ARGUMENT;

  let clientId = STAGING_BASE;
  let username = clientId + clientIdLen;
  let password = username + usernameLen;
  let willTopic = password + passwordLen;
  let willPayload = willTopic + willTopicLen;
  if (!isValidUtf8(clientId, clientIdLen) || !isValidUtf8(username, usernameLen)) return INVALID_ARGUMENT;
  if (hasWill && validateTopicName(willTopic, willTopicLen) != OK) return INVALID_TOPIC;
  if (v5 && prepareConnect5(willPayload + willPayloadLen, session5.connectPropertiesLen, hasWill) != OK) return INVALID_ARGUMENT;

  let willTopicField = hasWill ? <i32>willTopicLen : -1;
  let willPayloadField = hasWill ? <i32>willPayloadLen : -1;
  let usernameField = hasUsername ? <i32>usernameLen : -1;
  let passwordField = hasPassword ? <i32>passwordLen : -1;
  let remainingLength = v5
    ? connect5RemainingLength(connect5, clientIdLen, session5.willPropertiesLen, willTopicField, willPayloadField, usernameField, passwordField)
    : connectRemainingLength(clientIdLen, willTopicField, willPayloadField, usernameField, passwordField);
  let size = packetSize(remainingLength);
  if (size > <u32>CONNECT_CAPACITY || size > <u32>TX_CAPACITY) return PACKET_TOO_LARGE;

  let connectFlags: u32 = 0;
  if ((flags & 1) != 0) connectFlags |= CONNECT_FLAG_CLEAN_SESSION;
  if (hasWill) connectFlags |= CONNECT_FLAG_WILL | (willQos << 3) | ((flags & 16) != 0 ? CONNECT_FLAG_WILL_RETAIN : 0);
  if (hasUsername) connectFlags |= CONNECT_FLAG_USERNAME;
  if (hasPassword) connectFlags |= CONNECT_FLAG_PASSWORD;

  // fixed header, variable header (§3.1.2), then the payload fields in order (§3.1.3)
  let p = CONNECT_BASE;
  let n = writeFixedHeader(p, CONNECT << 4, remainingLength);
  n += v5 ? writeConnect5Header(p + n, <u8>connectFlags, keepaliveSec, connect5) : writeConnectHeader(p + n, <u8>connectFlags, keepaliveSec);
  n += writeField(p + n, clientId, clientIdLen);
  if (hasWill) {
    if (v5) n += writeProperties(p + n, session5.willPropertiesPtr, session5.willPropertiesLen); // MQTT 5.0 §3.1.3.2
    n += writeField(p + n, willTopic, willTopicLen);
    n += writeField(p + n, willPayload, willPayloadLen);
  }
  if (hasUsername) n += writeField(p + n, username, usernameLen);
  if (hasPassword) n += writeField(p + n, password, passwordLen);
  client.connectLength = n;
  client.keepaliveMs = keepaliveSec * 1000;
  session5.keepaliveMs = client.keepaliveMs;
  changed();
  return OK;
}

/**
 * Chooses MQTT 3.1.1 (version 4, every other argument 0; the default) or MQTT 5.0
 * (version 5) for the next configure(), with the limits its CONNECT announces, each
 * lowered to the module's (boards/ABI.md, "MQTT 5"), the size of the caller's CONNECT
 * property block, and flags (bit 0: assign Topic Aliases to outbound PUBLISHes).
 * configure() must follow. Returns OK, INVALID_STATE (connection under way) or
 * INVALID_ARGUMENT (client5.ts chooseProtocol).
 */
export function setProtocol(version: u32, receiveMaximum: u32, maximumPacketSize: u32, topicAliasMaximum: u32, propertiesLen: u32, flags: u32): i32 {
  if (client.state != STATE_IDLE && client.state != STATE_STOPPED) return INVALID_STATE;
  let status = chooseProtocol(version, receiveMaximum, maximumPacketSize, topicAliasMaximum, propertiesLen, flags);
  if (status == OK) {
    client.connectLength = 0; // the CONNECT is encoded again by configure()
    changed();
  }
  return status;
}

/**
 * Sets the reconnect backoff bounds; `enabled` 0 means a lost connection stays down, any
 * other value that it reconnects (a u32, not a bool: a bool argument keeps only its low
 * byte). Returns OK or INVALID_ARGUMENT (min = 0 or min > max).
 */
export function setReconnect(minDelayMs: u32, maxDelayMs: u32, enabled: u32): i32 {
  if (minDelayMs == 0 || minDelayMs > maxDelayMs) return INVALID_ARGUMENT;
  client.reconnectMinMs = minDelayMs;
  client.reconnectMaxMs = maxDelayMs;
  client.reconnectEnabled = enabled != 0;
  changed();
  return OK;
}

/**
 * Sets how many QoS 1/2 flows may be under way at once, from 1 to the profile's
 * INFLIGHT_SLOTS (the default); in MQTT 5.0 the broker's Receive Maximum (§3.2.2.3.3)
 * lowers it further. Takes effect at once: a larger window sends queued PUBLISHes now, a
 * smaller one lets the flows under way complete before the next goes out. Returns the
 * window in effect (≥ 1: the smaller of `window` and the last CONNACK's Receive Maximum),
 * or INVALID_ARGUMENT (0, or more than INFLIGHT_SLOTS; the window stays as it was).
 */
export function setInflightWindow(window: u32, now: u32): i32 {
  if (window == 0 || window > <u32>INFLIGHT_SLOTS) return INVALID_ARGUMENT;
  client.inflightWindow = window;
  sendQueued(now);
  return <i32>min(window, session5.sendMaximum);
}

/** Sets how long opening the connection and its CONNACK may take. Returns OK or INVALID_ARGUMENT (0). */
export function setTimeouts(connectTimeoutMs: u32): i32 {
  if (connectTimeoutMs == 0) return INVALID_ARGUMENT;
  client.connectTimeoutMs = connectTimeoutMs;
  changed();
  return OK;
}

// ---- connection life cycle -------------------------------------------------

/** Starts connecting now. Returns OK or INVALID_STATE (running already, or not configured). */
export function start(now: u32): i32 {
  if (client.state != STATE_IDLE && client.state != STATE_STOPPED) return INVALID_STATE;
  if (client.connectLength == 0) return INVALID_STATE;
  client.attempt = 0;
  openConnection(now);
  return OK;
}

/** Ends the session cleanly: DISCONNECT when connected, then netClose; no reconnect after it. Returns OK. */
export function stop(now: u32): i32 {
  return disconnect(0, now);
}

/**
 * stop() with the DISCONNECT's Reason Code (MQTT 5.0 §3.14.2.1; e.g. 0x04, Disconnect
 * with Will Message). Returns OK, or INVALID_ARGUMENT for a code a client's DISCONNECT
 * may not carry (any but 0 in 3.1.1).
 */
export function disconnect(reasonCode: u32, now: u32): i32 {
  return disconnectWithProperties(reasonCode, 0, now);
}

/**
 * disconnect() whose MQTT 5 DISCONNECT carries the property block of propertiesLen bytes
 * in staging (a whole block, its Property Length first; 0: none): Session Expiry Interval,
 * Reason String, User Properties (MQTT 5.0 §3.14.2.2). Returns OK, INVALID_ARGUMENT (a code
 * or a block client5.ts checkDisconnect5 refuses, any block in 3.1.1) or PACKET_TOO_LARGE;
 * nothing is done then.
 */
export function disconnectWithProperties(reasonCode: u32, propertiesLen: u32, now: u32): i32 {
  if (!isDisconnectReason(reasonCode) || propertiesLen > <u32>STAGING_CAPACITY) return INVALID_ARGUMENT;
  let status = checkDisconnect5(reasonCode, STAGING_BASE, propertiesLen);
  if (status != OK) return status;
  let state = client.state;
  if (state == STATE_CONNECTED) sendDisconnect(reasonCode, now);
  session5.disconnectPropertiesLen = 0; // sent, or nowhere to send them
  if (state == STATE_STOPPED) return OK;
  if (state == STATE_CONNECTING || isOpen()) netClose();
  closed(STATE_STOPPED);
  onEvent(EVENT_CLOSED, CLIENT_STOPPED, 0);
  return OK;
}

/** The connection netOpen asked for is up: sends CONNECT. */
export function netUp(now: u32): void {
  if (client.state != STATE_CONNECTING) return;
  client.state = STATE_AWAIT_CONNACK;
  client.lastReceivedAt = now;
  transmit(CONNECT_BASE, client.connectLength, 0, now);
  flush(now);
}

/** The connection failed or the peer closed it. */
export function netDown(now: u32, reason: u32): void {
  let state = client.state;
  if (state == STATE_CONNECTING) connectFailed(now, CONNECTION_REFUSED, reason);
  else if (state == STATE_AWAIT_CONNACK) connectFailed(now, CONNECTION_LOST, reason);
  else if (state == STATE_CONNECTED) connectionLost(now, CONNECTION_LOST);
}

/**
 * Runs the timers (connect timeout, backoff, keepalive), answers packets that waited
 * for room, sends what is queued. Returns the ms until it next needs to run.
 */
export function clientTick(now: u32): u32 {
  let state = client.state;
  if (state == STATE_CONNECTING || state == STATE_AWAIT_CONNACK) {
    if (elapsed(now, client.phaseStartedAt) >= client.connectTimeoutMs) connectFailed(now, CONNECT_TIMEOUT, 0);
  } else if (state == STATE_BACKOFF) {
    if (elapsed(now, client.phaseStartedAt) >= client.backoffMs) {
      client.reconnects++;
      onEvent(EVENT_RECONNECTING, OK, client.attempt);
      openConnection(now);
    }
  } else if (state == STATE_CONNECTED) {
    keepalive(now);
  }
  if (isOpen() && client.rxLength > 0) parseReceived(now);
  sendQueued(now);
  return nextTick(now);
}

function openConnection(now: u32): void {
  client.state = STATE_CONNECTING;
  client.phaseStartedAt = now;
  client.rxLength = 0;
  client.pingOutstanding = false;
  tx.clear();
  netOpen();
}

/** Forgets the connection's bytes and enters `state`. */
function closed(state: u32): void {
  client.state = state;
  client.rxLength = 0;
  client.rxDiscard = 0;
  client.skipHeader = 0;
  client.pingOutstanding = false;
  tx.clear();
}

/**
 * Writes a DISCONNECT with the Reason Code (5.0; 0 in 3.1.1) and, from disconnect(), the
 * properties checkDisconnect5 kept, when the tx ring has room after what it holds, and
 * hands it to netSend.
 */
function sendDisconnect(reasonCode: u32, now: u32): void {
  flush(now);
  let propertiesLen = session5.disconnectPropertiesLen;
  session5.disconnectPropertiesLen = 0;
  if (propertiesLen == 0) {
    let len = isV5() ? encodeDisconnect5(SCRATCH, reasonCode, 0, 0) : encodeEmpty(SCRATCH, DISCONNECT);
    if (tx.free() < len) return;
    transmit(SCRATCH, len, 0, now);
  } else {
    // fixed header and Reason Code, Property Length, properties (MQTT 5.0 §3.14): SCRATCH holds one part at a time
    let remainingLength = disconnect5RemainingLength(reasonCode, propertiesLen);
    if (tx.free() < packetSize(remainingLength)) return;
    store<u8>(SCRATCH, DISCONNECT << 4);
    let n = 1 + encodeRemainingLength(SCRATCH + 1, remainingLength);
    store<u8>(SCRATCH + n, <u8>reasonCode);
    tx.write(SCRATCH, n + 1);
    tx.write(SCRATCH, encodeRemainingLength(SCRATCH, propertiesLen));
    tx.write(session5.disconnectPropertiesPtr, propertiesLen);
    sent(DISCONNECT << 4, 0, remainingLength, now);
  }
  flush(now);
}

/** The attempt failed before a CONNACK accepted us (status, with the CONNACK return code or the host's reason). */
function connectFailed(now: u32, status: i32, detail: u32): void {
  netClose();
  onEvent(EVENT_CONNECT_FAILED, status, detail);
  scheduleReconnect(now, status);
}

/** A running session's connection is gone (status says why; detail: a Reason Code in 5.0, else 0). */
function connectionLost(now: u32, status: i32, detail: u32 = 0): void {
  netClose();
  onEvent(EVENT_CONNECTION_LOST, status, detail);
  scheduleReconnect(now, status);
}

/**
 * Closes a connection because of what came over it: counted, then reported like any loss.
 * Answers already owed for earlier packets go to netSend first, as far as it takes them;
 * in 5.0 a session then gets a DISCONNECT with the Reason Code (§4.13), which the event
 * reports as its arg.
 */
function rejectInput(now: u32, status: i32): void {
  client.protocolErrors++;
  let reason: u32 = isV5() ? disconnectReasonFor(status) : 0;
  if (client.state == STATE_CONNECTED && reason != 0) sendDisconnect(reason, now);
  flush(now);
  if (client.state == STATE_AWAIT_CONNACK) connectFailed(now, status, reason);
  else connectionLost(now, status, reason);
}

function scheduleReconnect(now: u32, status: i32): void {
  if (!client.reconnectEnabled) {
    closed(STATE_STOPPED);
    onEvent(EVENT_CLOSED, status, 0);
    return;
  }
  closed(STATE_BACKOFF);
  client.attempt++;
  client.backoffMs = backoffDelay(client.attempt, client.reconnectMinMs, client.reconnectMaxMs, random());
  client.phaseStartedAt = now;
  onEvent(EVENT_BACKOFF, OK, client.backoffMs);
}

/** PINGREQ when nothing was sent or heard for a keepalive period; the connection is dead when its PINGRESP (or any packet) does not come within another. */
function keepalive(now: u32): void {
  let period = client.keepaliveMs;
  if (period == 0) return;
  if (client.pingOutstanding) {
    if (elapsed(now, client.pingSentAt) >= period) connectionLost(now, KEEPALIVE_TIMEOUT);
    return;
  }
  let idle = elapsed(now, client.lastSentAt) >= period || elapsed(now, client.lastReceivedAt) >= period;
  if (idle && tx.free() >= 2) {
    encodeEmpty(SCRATCH, PINGREQ);
    transmit(SCRATCH, 2, 0, now);
    client.pingOutstanding = true;
    client.pingSentAt = now;
  }
}

function nextTick(now: u32): u32 {
  let delay = MAX_TICK_DELAY_MS;
  let state = client.state;
  if (state == STATE_CONNECTING || state == STATE_AWAIT_CONNACK) {
    delay = min(delay, remaining(now, client.phaseStartedAt, client.connectTimeoutMs));
  } else if (state == STATE_BACKOFF) {
    delay = min(delay, remaining(now, client.phaseStartedAt, client.backoffMs));
  } else if (state == STATE_CONNECTED && client.keepaliveMs > 0) {
    let period = client.keepaliveMs;
    if (client.pingOutstanding) delay = min(delay, remaining(now, client.pingSentAt, period));
    else {
      delay = min(delay, remaining(now, client.lastSentAt, period));
      delay = min(delay, remaining(now, client.lastReceivedAt, period));
    }
  }
  if (tx.length > 0) delay = min(delay, TX_RETRY_MS);
  return delay;
}

// ---- sending -------------------------------------------------------------

/** Hands queued bytes to netSend until it takes no more. */
function flush(now: u32): void {
  while (tx.length > 0) {
    let run = tx.contiguous();
    let taken = min<u32>(netSend(tx.headPtr(), run), run);
    if (taken == 0) return;
    tx.consume(taken);
    client.bytesSent += taken;
    if (taken < run) return;
  }
}

/** Reports a packet as written to the tx ring: trace, counters, keepalive clock. */
export function sent(header: u8, packetId: u32, remainingLength: u32, now: u32): void {
  onPacket(PACKET_OUT, header, packetId, remainingLength);
  client.packetsSent++;
  client.lastSentAt = now;
}

/** Writes a whole encoded packet at ptr into the tx ring; the caller checked tx.free(). */
function transmit(ptr: usize, len: u32, packetId: u32, now: u32): void {
  tx.write(ptr, len);
  sent(load<u8>(ptr), packetId, remainingLengthOf(len), now);
}

/** Sends a queued PUBLISH: through the tx ring, or from ptr to netSend when the ring is empty (5.0: client5.ts transmitPublish5, which may give it a Topic Alias). Returns false when the ring lacks room. */
function transmitPublish(ptr: usize, len: u32, packetId: u32, now: u32): bool {
  if (isV5()) return transmitPublish5(ptr, len, packetId, now);
  if (tx.free() < len) return false;
  if (tx.length > 0) {
    transmit(ptr, len, packetId, now);
    return true;
  }
  // nothing queued before it: netSend takes it from the outbox record, the tx ring only what netSend leaves (one copy less)
  let taken = min<u32>(netSend(ptr, len), len);
  client.bytesSent += taken;
  if (taken < len) tx.write(ptr + taken, len - taken);
  sent(load<u8>(ptr), packetId, remainingLengthOf(len), now);
  return true;
}

/** Writes a 4-byte acknowledgement; the caller checked tx.free(). */
function sendAck(type: u8, packetId: u32, now: u32): void {
  encodeAck(SCRATCH, type, packetId);
  transmit(SCRATCH, 4, packetId, now);
}

/** A packet id in use by neither a queued PUBLISH nor a pending request, or 0 when all 65535 are. */
export function allocatePacketId(): u32 {
  for (let tries: u32 = 0; tries < 0xffff; tries++) {
    let id = client.nextPacketId;
    client.nextPacketId = id == 0xffff ? 1 : id + 1;
    if (!outbox.holds(id) && !subscriptions.holds(id)) return id;
  }
  return 0;
}

/**
 * Queues a PUBLISH of the topic and payload in staging. Every PUBLISH goes through
 * the outbox, so one made while offline is sent on reconnect. Returns the packet id
 * (QoS 1/2; PUBLISH_DONE follows), 0 (QoS 0 accepted), or INVALID_QOS,
 * INVALID_ARGUMENT (lengths beyond staging), INVALID_TOPIC, PACKET_TOO_LARGE (can
 * never fit the tx ring or outbox), NO_PACKET_ID, OUTBOX_FULL (counted; nothing queued).
 */
export function publish(topicLen: u32, payloadLen: u32, qos: u32, retain: bool, now: u32): i32 {
  return publishWithProperties(topicLen, payloadLen, 0, qos, retain, now);
}

/**
 * publish() with an MQTT 5 property block of propertiesLen bytes staged after the
 * payload (a whole block, its Property Length first; 0: none), checked and copied into
 * the PUBLISH (client5.ts checkPublish5). Returns what publish() returns, and
 * INVALID_ARGUMENT (a bad block, or any block in 3.1.1), QOS_NOT_SUPPORTED,
 * RETAIN_NOT_SUPPORTED, PACKET_TOO_LARGE (above the broker's Maximum Packet Size too).
 */
export function publishWithProperties(topicLen: u32, payloadLen: u32, propertiesLen: u32, qos: u32, retain: bool, now: u32): i32 {
  if (qos > 2) return INVALID_QOS;
  if (<u64>topicLen + payloadLen + propertiesLen > <u64>STAGING_CAPACITY) return INVALID_ARGUMENT;
  if (validateTopicName(STAGING_BASE, topicLen) != OK) return INVALID_TOPIC;
  let payload = STAGING_BASE + topicLen;
  let v5 = isV5();
  let size: u32;
  if (v5) {
    let status = checkPublish5(qos, retain, payload + payloadLen, propertiesLen);
    if (status != OK) return status;
    size = packetSize(publish5RemainingLength(topicLen, session5.publishPropertiesLen, payloadLen, qos));
    if (size > session5.serverMaximumPacketSize) return PACKET_TOO_LARGE;
  } else {
    if (propertiesLen != 0) return INVALID_ARGUMENT;
    size = packetSize(publishRemainingLength(topicLen, payloadLen, qos));
  }
  if (size > <u32>TX_CAPACITY) return PACKET_TOO_LARGE;
  let packetId: u32 = 0;
  if (qos > 0) {
    packetId = allocatePacketId();
    if (packetId == 0) return NO_PACKET_ID;
  }
  let record = outbox.reserve(size, qos, packetId);
  if (record == OUTBOX_FULL) client.outboxRejected++;
  if (record < 0) return record;
  let at = outbox.packetPtr(record);
  if (v5) encodePublish5(at, STAGING_BASE, topicLen, session5.publishPropertiesPtr, session5.publishPropertiesLen, payload, payloadLen, qos, retain, packetId);
  else encodePublish(at, STAGING_BASE, topicLen, payload, payloadLen, qos, retain, packetId);
  client.messagesPublished++;
  changed();
  sendQueued(now);
  return <i32>packetId;
}

/** Sends what waits in the outbox and the subscription table, as far as the tx ring and netSend allow. */
export function sendQueued(now: u32): void {
  pump(now);
  flush(now);
}

/**
 * Moves what the outbox holds into the tx ring, oldest first: PUBRELs due, and
 * PUBLISHes while in-flight slots last. PUBLISHes never overtake each other.
 */
function pump(now: u32): void {
  if (client.state != STATE_CONNECTED) return;
  sendRequests(now);
  let quota = min(client.inflightWindow, session5.sendMaximum); // in 5.0 the broker's Receive Maximum may be less
  let publishing = true;
  let record = outbox.first();
  while (record >= 0) {
    let r = <u32>record;
    let state = outbox.state(r);
    if (state == RECORD_QUEUED_PUBREL && !pubrelHeld()) {
      if (tx.free() < 4) break;
      sendAck(PUBREL, outbox.packetId(r), now);
      outbox.setState(r, RECORD_AWAIT_PUBCOMP);
    } else if (state == RECORD_QUEUED && publishing) {
      let qos = outbox.qos(r);
      let len = outbox.packetLen(r);
      if (qos > 0 && outbox.inflight >= quota) publishing = false;
      else if (!transmitPublish(outbox.packetPtr(r), len, outbox.packetId(r), now)) break;
      else {
        if (qos == 0) {
          outbox.setState(r, RECORD_DONE);
          client.messagesAcknowledged++;
          changed();
        } else {
          outbox.setState(r, qos == 1 ? RECORD_AWAIT_PUBACK : RECORD_AWAIT_PUBREC);
          outbox.inflight++;
        }
      }
    }
    record = outbox.next(r);
  }
  outbox.releaseDone();
}

// ---- receiving -----------------------------------------------------------

/** Free bytes in the receive buffer. */
export function rxSpace(): u32 {
  return <u32>RX_CAPACITY - client.rxLength;
}

/**
 * Takes n bytes the host wrote at RX_BASE + rxLength and handles every complete
 * packet. Returns OK, INVALID_ARGUMENT (n > rxSpace()), or the status the connection
 * was closed with because of the input (MALFORMED_PACKET, PROTOCOL_ERROR,
 * PACKET_TOO_LARGE, a CONNACK_REFUSED_* refusal; DISCONNECTED in 5.0).
 */
export function rxCommit(n: u32, now: u32): i32 {
  if (n > rxSpace()) return INVALID_ARGUMENT;
  if (!isOpen()) return OK; // late bytes of a connection already closed
  client.bytesReceived += n;
  client.rxLength += n;
  if (client.rxLength > client.rxHighWater) client.rxHighWater = client.rxLength;
  let status = parseReceived(now);
  sendQueued(now);
  return status;
}

/**
 * Handles the complete packets at the start of the receive buffer and keeps a partial
 * one for later; discards the bytes of a skipped PUBLISH (skipPublish) as they come. Stops
 * early, leaving bytes in place, while the tx ring lacks room for an answer. Returns OK or
 * the status the connection was closed with.
 */
function parseReceived(now: u32): i32 {
  let offset: u32 = 0;
  while (isOpen()) {
    let discard = min(client.rxLength - offset, client.rxDiscard);
    offset += discard;
    client.rxDiscard -= discard;
    let available = client.rxLength - offset;
    let p = RX_BASE + offset;
    let status: i32;
    let skipping = client.skipHeader;
    if (skipping != 0 && client.rxDiscard == 0) {
      // a skipped PUBLISH after its topic: its packet id (QoS 1/2), then the answer
      let idLength: u32 = (skipping & 6) != 0 ? 2 : 0;
      if (available < idLength || !roomForAnswer(now)) break;
      let packetId = idLength > 0 ? readU16(p) : 0;
      if (idLength > 0 && packetId == 0) return closeFor(now, MALFORMED_PACKET);
      recordSkipped(packetId, now);
      offset += idLength;
      client.rxDiscard = client.skipTail;
      continue;
    }
    if (available == 0) break;
    let header = load<u8>(p);
    status = isV5() ? check5(checkServerHeader5(header)) : checkServerHeader(header);
    if (status == OK) status = decodeRemainingLength(p + 1, available - 1);
    if (status == NEED_MORE) break;
    if (status != OK) return closeFor(now, status);
    let bodyLength = decoded.remainingLength;
    let headLength = decoded.lengthBytes + 1;
    let size = bodyLength + headLength;
    // 5.0: above the Maximum Packet Size announced (at most RX_CAPACITY, so nothing is skipped)
    if (isV5() && size > session5.maximumPacketSize) return closeFor(now, reject5(REASON_PACKET_TOO_LARGE));
    if (size > <u32>RX_CAPACITY) {
      status = skipPublish(header, p + headLength, headLength, available - headLength, bodyLength);
      if (status == NEED_MORE) break;
      if (status != OK) return closeFor(now, status);
      continue;
    }
    if (size > available || !roomForAnswer(now)) break;
    status = handlePacket(header, p + headLength, bodyLength, now);
    if (status != OK) return isOpen() ? closeFor(now, status) : status;
    offset += size;
  }
  if (isOpen() && offset > 0) {
    client.rxLength -= offset;
    memory.copy(RX_BASE, RX_BASE + offset, client.rxLength);
  }
  return OK;
}

/** Hands queued bytes to netSend; true when the tx ring then has room for the answer to one inbound packet. */
function roomForAnswer(now: u32): bool {
  flush(now);
  return tx.free() >= ANSWER_BYTES;
}

function closeFor(now: u32, status: i32): i32 {
  rejectInput(now, status);
  return status;
}

/** Reports a packet as received: trace, counter, keepalive clock (any packet answers a PINGREQ). */
function received(header: u8, packetId: u32, remainingLength: u32, now: u32): void {
  onPacket(PACKET_IN, header, packetId, remainingLength);
  client.packetsReceived++;
  client.lastReceivedAt = now;
  client.pingOutstanding = false;
}

/** One whole packet from the server. Returns OK or why the connection must close (a CONNACK refusal has closed it already). */
function handlePacket(header: u8, body: usize, len: u32, now: u32): i32 {
  let type = header >> 4;
  received(header, packetIdOf(header, body, len), len, now);
  if (type == AUTH && isV5()) return handleAuth(body, len);
  if (client.state == STATE_AWAIT_CONNACK) {
    if (type != CONNACK) return PROTOCOL_ERROR;
    return isV5() ? handleConnack5(body, len, now) : handleConnack(body, len, now);
  }
  let status: i32;
  switch (type) {
    case PUBLISH: return handlePublish(header, body, len, now);
    case PUBACK: return handlePuback(body, len, now);
    case PUBREC: return handlePubrec(body, len, now);
    case PUBREL: return handlePubrel(body, len, now);
    case PUBCOMP: return handlePubcomp(body, len, now);
    case SUBACK:
      status = isV5() ? check5(decodeSuback5(SUBACK, body, len)) : decodeSuback(body, len);
      return status == OK ? handleSuback() : status;
    case UNSUBACK:
      status = isV5() ? check5(decodeSuback5(UNSUBACK, body, len)) : decodeAck(body, len);
      return status == OK ? handleUnsuback() : status;
    case PINGRESP: return decodePingresp(len);
    case DISCONNECT: return handleDisconnect(body, len, now); // 5.0 only: checkServerHeader refuses it in 3.1.1
  }
  return PROTOCOL_ERROR; // a second CONNACK
}

/**
 * MQTT 5.0 AUTH (§3.15), before or after the CONNACK: reported (AUTH with its Reason Code
 * as arg; its properties at propertiesRecord()), then refused: the client sends no
 * Authentication Method, and an AUTH without one in the CONNECT is a Protocol Error
 * (§4.12). Returns what check5 returns: the decoder's Reason Code, else PROTOCOL_ERROR.
 */
function handleAuth(body: usize, len: u32): i32 {
  let status = check5(decodeAuth(body, len));
  if (status != OK) return status;
  onEvent(EVENT_AUTH, OK, decoded5.reasonCode);
  return reject5(REASON_PROTOCOL_ERROR);
}

/**
 * The acknowledgement of this type (PUBACK, PUBREC, PUBREL, PUBCOMP) in the version
 * connected: decoded.packetId, decoded5.reasonCode (0 in 3.1.1). Returns OK,
 * MALFORMED_PACKET or, in 5.0, what check5 returns.
 */
function decodeAckOf(type: u8, body: usize, len: u32): i32 {
  if (isV5()) return check5(decodeAck5(type, body, len));
  decoded5.reasonCode = 0;
  return decodeAck(body, len) == OK ? OK : MALFORMED_PACKET;
}

/**
 * CONNACK (§3.2): a refusal ends the attempt; acceptance resumes or restarts the session.
 * Returns OK, MALFORMED_PACKET, or the CONNACK_REFUSED_* status the attempt ended with.
 */
function handleConnack(body: usize, len: u32, now: u32): i32 {
  if (decodeConnack(body, len) != OK) return MALFORMED_PACKET;
  let code = decoded.returnCode;
  if (code != 0) {
    let status = CONNACK_REFUSED_BASE - <i32>code;
    connectFailed(now, status, code);
    return status;
  }
  return accepted(decoded.sessionPresent, now);
}

/**
 * MQTT 5.0 CONNACK (§3.2): a Reason Code ≥ 0x80 ends the attempt; acceptance takes the
 * broker's limits (client5.ts acceptConnack5), then resumes or restarts the session. A
 * 3.1.1 CONNACK refusing the version (return code 1, §3.1.2.2 of MQTT 5.0) ends it with
 * CONNACK_UNACCEPTABLE_PROTOCOL_VERSION. Returns OK, the status the attempt ended with, or
 * what check5 returns.
 */
function handleConnack5(body: usize, len: u32, now: u32): i32 {
  let status: i32;
  if (len == 2 && load<u16>(body) == 0x0100) {
    status = CONNACK_REFUSED_BASE - 1;
    connectFailed(now, status, 1);
    return status;
  }
  status = check5(decodeConnack5(body, len));
  if (status != OK) return status;
  let code = decoded5.reasonCode;
  if (isErrorReason(code)) {
    status = connackRefusal(code);
    connectFailed(now, status, code);
    return status;
  }
  client.keepaliveMs = acceptConnack5();
  return accepted(decoded.sessionPresent, now);
}

/** The broker accepted the connection: the session resumes or restarts, CONNECTED. Returns OK. */
function accepted(sessionPresent: bool, now: u32): i32 {
  client.state = STATE_CONNECTED;
  client.sessionPresent = sessionPresent;
  client.attempt = 0;
  if (!sessionPresent) {
    inboundQos2.reset(INBOUND_QOS2_BASE, INBOUND_QOS2_SLOTS);
    changed(); // and resetRequests renumbers the granted filters for their new SUBSCRIBEs
  }
  resetRequests(sessionPresent);
  outbox.rewind();
  onEvent(EVENT_CONNECTED, OK, sessionPresent ? 1 : 0);
  if (isV5()) refuseOverLimits();
  return OK;
}

/**
 * MQTT 5: ends each PUBLISH waiting to be sent that the CONNACK just accepted forbids
 * (client5.ts checkQueuedPublish5: a lower Maximum Packet Size or Maximum QoS, no Retain
 * Available) without sending it: PUBLISH_DONE with the status, its packet id (0 at QoS 0).
 */
function refuseOverLimits(): void {
  let record = outbox.first();
  while (record >= 0) {
    let r = <u32>record;
    if (outbox.state(r) == RECORD_QUEUED) {
      let status = checkQueuedPublish5(outbox.packetPtr(r), outbox.packetLen(r));
      if (status != OK) {
        outbox.setState(r, RECORD_DONE);
        onEvent(EVENT_PUBLISH_DONE, status, outbox.packetId(r));
      }
    }
    record = outbox.next(r);
  }
  outbox.releaseDone();
}

/** onMessage's flags (bit 0 retain, bit 1 dup, bits 2–3 QoS) from a PUBLISH fixed header byte (§3.3.1). */
function messageFlags(header: u8): u32 {
  return (<u32>header & 1) | ((<u32>header >> 2) & 2) | (((<u32>header >> 1) & 3) << 2);
}

/**
 * QoS 2 (§4.3.3): holds the packet id of a new message until its PUBREL; a resend of a
 * held one is answered PUBREC here and not delivered again. Returns true for a message
 * to deliver (new, or QoS 0/1), false for a resend already answered.
 */
function admit(qos: u32, packetId: u32, now: u32): bool {
  if (qos != 2) return true;
  if (inboundQos2.holds(packetId)) {
    sendAck(PUBREC, packetId, now);
    return false;
  }
  inboundQos2.hold(packetId);
  changed();
  return true;
}

/** Answers an inbound PUBLISH (§4.3): PUBACK at QoS 1, PUBREC at QoS 2, nothing at QoS 0. */
function acknowledge(qos: u32, packetId: u32, now: u32): void {
  if (qos > 0) sendAck(qos == 1 ? PUBACK : PUBREC, packetId, now);
}

/** Inbound PUBLISH (§3.3, §4.3): delivered once; QoS 2 ids held until PUBREL so a resend is not delivered again. */
function handlePublish(header: u8, body: usize, len: u32, now: u32): i32 {
  if (isV5()) {
    let status = decodeInboundPublish5(header, body, len);
    if (status != OK) return status;
  } else {
    if (decodePublish(header, body, len) != OK) return MALFORMED_PACKET;
    if (!isWellFormedTopicName(decoded.topicPtr, decoded.topicLen)) return MALFORMED_PACKET;
  }
  let qos = decoded.qos;
  let packetId = decoded.packetId;
  // 5.0: a new QoS 2 flow beyond the Receive Maximum announced (MQTT 5.0 §3.3.4)
  if (isV5() && qos == 2 && !inboundQos2.holds(packetId) && inboundQos2.used >= session5.receiveMaximum) {
    return reject5(REASON_RECEIVE_MAXIMUM_EXCEEDED);
  }
  if (!admit(qos, packetId, now)) return OK;
  deliver(decoded.topicPtr, decoded.topicLen, decoded.payloadPtr, decoded.payloadLen, messageFlags(header));
  client.messagesDelivered++;
  acknowledge(qos, packetId, now);
  return OK;
}

/**
 * A packet whose fixed header of headLength bytes announced `len` body bytes, too many for
 * the receive buffer ever to hold; `present` of them are at body so far. A PUBLISH on a
 * running session is skipped, the connection staying up: its topic is read and checked like
 * a delivered one's as soon as it is in, and recorded at DROPPED_BASE; the bytes up to the
 * packet id are then discarded (parseReceived reads the id and calls recordSkipped), and
 * the rest as it arrives. A topic too long for the buffer is discarded unread, recorded by
 * its length. Returns OK (the skip is set up from the packet's first byte), NEED_MORE (the
 * topic is still to come), or why the connection must close: PACKET_TOO_LARGE (anything but
 * a PUBLISH, or before CONNACK), MALFORMED_PACKET.
 */
function skipPublish(header: u8, body: usize, headLength: u32, present: u32, len: u32): i32 {
  if (header >> 4 != PUBLISH || client.state != STATE_CONNECTED) return PACKET_TOO_LARGE;
  let status = decodePublishHead(header, body, present, len);
  if (status == MALFORMED_PACKET || present < 2) return status;
  let topicLength = decoded.topicLen;
  let idAt = headLength + 2 + topicLength; // where the packet id (QoS 1/2) or the payload starts
  if (idAt + 2 <= <u32>RX_CAPACITY) {
    if (status == NEED_MORE) return NEED_MORE;
    if (!isWellFormedTopicName(decoded.topicPtr, topicLength)) return MALFORMED_PACKET;
    if (topicLength <= <u32>MAX_TOPIC_LENGTH) memory.copy(DROPPED_BASE + 12, decoded.topicPtr, topicLength);
  }
  let size = headLength + len;
  store<u32>(DROPPED_BASE, messageFlags(header));
  store<u32>(DROPPED_BASE, topicLength, 4);
  store<u32>(DROPPED_BASE, size, 8);
  client.skipHeader = header;
  client.rxDiscard = idAt;
  client.skipTail = size - idAt - ((header & 6) != 0 ? 2 : 0);
  return OK;
}

/**
 * Answers the PUBLISH being skipped (client.skipHeader, DROPPED_BASE) per its QoS and
 * reports it: counted, MESSAGE_DROPPED with its size. The resend of a QoS 2 message already
 * held is only answered, like a delivered one.
 */
function recordSkipped(packetId: u32, now: u32): void {
  let header = <u8>client.skipHeader;
  let size = load<u32>(DROPPED_BASE, 8);
  client.skipHeader = 0;
  received(header, packetId, remainingLengthOf(size), now);
  let qos = (<u32>header >> 1) & 3;
  if (!admit(qos, packetId, now)) return;
  client.rxOversizeDropped++;
  onEvent(EVENT_MESSAGE_DROPPED, PACKET_TOO_LARGE, size);
  acknowledge(qos, packetId, now);
}

/**
 * The outbox record whose QoS 1/2 flow is under way on this connection for packetId,
 * or -1 (no record holds it, or its PUBLISH was not sent on this connection yet).
 */
function inFlight(packetId: u32): i32 {
  let record = outbox.holding(packetId);
  if (record < 0 || outbox.state(<u32>record) == RECORD_QUEUED) return -1;
  return record;
}

/**
 * Ends an in-flight record's flow: released, counted, PUBLISH_DONE with the Reason Code of
 * the ack that ended it (0 in 3.1.1; in 5.0 < 0x80 delivered, ≥ 0x80 refused). The one way
 * a flow ends, so each ends once.
 */
function completeRecord(record: u32, reasonCode: u32): void {
  let packetId = outbox.packetId(record);
  outbox.complete(record);
  outbox.inflight--;
  changed();
  client.messagesAcknowledged++;
  onEvent(EVENT_PUBLISH_DONE, <i32>reasonCode, packetId);
}

// Acknowledgements of our PUBLISHes (boards/ABI.md, "Acknowledgements"): an id in no
// flow is a repeat of one already ended and is ignored; an ack the flow cannot take
// closes the connection, and the resend after the reconnect starts the flow again.

/**
 * PUBACK (§3.4, §4.3.2): ends a QoS 1 flow, and a QoS 2 flow too (a broker that
 * downgrades QoS 2 to 1 sends nothing else; counted in qos2Downgraded). Returns OK or
 * MALFORMED_PACKET.
 */
function handlePuback(body: usize, len: u32, now: u32): i32 {
  let status = decodeAckOf(PUBACK, body, len);
  if (status != OK) return status;
  let record = inFlight(decoded.packetId);
  if (record < 0) return OK;
  if (outbox.qos(<u32>record) == 2) client.qos2Downgraded++;
  completeRecord(<u32>record, decoded5.reasonCode);
  return OK;
}

/**
 * PUBREC (§4.3.3): the PUBREL goes out from pump(); a repeated PUBREC gets it again.
 * Returns OK, MALFORMED_PACKET, or PROTOCOL_ERROR for a QoS 1 flow.
 */
function handlePubrec(body: usize, len: u32, now: u32): i32 {
  let status = decodeAckOf(PUBREC, body, len);
  if (status != OK) return status;
  let record = inFlight(decoded.packetId);
  if (record < 0) return OK;
  if (outbox.qos(<u32>record) != 2) return PROTOCOL_ERROR;
  // 5.0: a refusal ends the flow, no PUBREL follows (MQTT 5.0 §4.3.3)
  if (isErrorReason(decoded5.reasonCode)) completeRecord(<u32>record, decoded5.reasonCode);
  else {
    outbox.setState(<u32>record, RECORD_QUEUED_PUBREL);
    pubrelOwed();
  }
  return OK;
}

/** PUBREL (§4.3.3): releases the held id and answers PUBCOMP, even for an id not held. */
function handlePubrel(body: usize, len: u32, now: u32): i32 {
  let status = decodeAckOf(PUBREL, body, len);
  if (status != OK) return status;
  inboundQos2.release(decoded.packetId);
  changed();
  sendAck(PUBCOMP, decoded.packetId, now);
  return OK;
}

/**
 * PUBCOMP (§4.3.3): ends a QoS 2 flow whose PUBREC came. Returns OK, MALFORMED_PACKET,
 * or PROTOCOL_ERROR for a flow still awaiting PUBREC or a QoS 1 flow.
 */
function handlePubcomp(body: usize, len: u32, now: u32): i32 {
  let status = decodeAckOf(PUBCOMP, body, len);
  if (status != OK) return status;
  let record = inFlight(decoded.packetId);
  if (record < 0) return OK;
  let state = outbox.state(<u32>record);
  if (state != RECORD_AWAIT_PUBCOMP && state != RECORD_QUEUED_PUBREL) return PROTOCOL_ERROR;
  // the PUBLISH was taken at PUBREC: a PUBCOMP's 0x92 (Packet Identifier not found) only tells of the PUBREL
  completeRecord(<u32>record, isErrorReason(decoded5.reasonCode) ? 0 : decoded5.reasonCode);
  return OK;
}

/**
 * MQTT 5.0 DISCONNECT from the server (§3.14): the connection ends, reported as
 * CONNECTION_LOST with DISCONNECTED and the Reason Code; reconnecting follows as for any
 * loss. Returns DISCONNECTED, or what check5 returns for a bad one.
 */
function handleDisconnect(body: usize, len: u32, now: u32): i32 {
  let status = check5(decodeDisconnect5(body, len));
  if (status != OK) return status;
  connectionLost(now, DISCONNECTED, decoded5.reasonCode);
  return DISCONNECTED;
}
