// The persistent block (boards/ABI.md, "Persistent state"): the session's live state —
// settings and CONNECT packet, outbox, inbound QoS 2 ids, subscription table, the MQTT 5
// settings, the application's area — laid out as one contiguous region of static memory behind a header, so a
// host can save it as bytes (RTC memory, flash, a file) and copy it back after a reboot.
// There is no second copy: client.ts, client5.ts and the tables live at fixed offsets
// inside the block. What belongs to one connection (rx buffer, tx ring, staging, decode
// scratch, Topic Alias tables, the Client fields from `state` on) lies outside it.
import {
  CONNECT_CAPACITY, OUTBOX_CAPACITY, INBOUND_QOS2_SLOTS, SUBSCRIPTION_SLOTS, INFLIGHT_SLOTS, RX_CAPACITY,
  STAGING_CAPACITY, TOPIC_ALIAS_SLOTS, MAX_TOPIC_LENGTH, REQUEST_PROPERTY_BYTES, PROFILE_NUMBER, APP_STATE_BYTES,
} from "./config";
import { OK, INVALID_ARGUMENT, INVALID_STATE, PERSIST_CORRUPT, PERSIST_VERSION, PERSIST_PROFILE } from "./status";
import { Client, client, outbox, inboundQos2, subscriptions, resetClient, STATE_IDLE, STATE_STOPPED } from "./client";
import { Outbox, InboundQos2 } from "./session";
import { Subscriptions, SLOT_SIZE, UNSUBSCRIBE_SENT } from "./subscriptions";
import { Session5, VERSION_311, VERSION_5, session5 } from "./client5";
import { netClose } from "./host";
import { CRC32_START, crc32Update, crc32Final } from "./crc32";

/** "WQPS" in the header's first four bytes. */
const MAGIC: u32 = 0x53505157;
/** The block's layout; raise it whenever what the block holds, or where, changes (the application area's layout included). */
const LAYOUT_VERSION: u32 = 1;
/** The header: u32 magic, u16 layout version, u16 profile, u32 length, u32 sequence, u32 CRC-32. */
// @ts-ignore: decorator
@inline const HEADER_BYTES: u32 = 20;
// @ts-ignore: decorator
@inline const SEQUENCE_AT: u32 = 12;
// @ts-ignore: decorator
@inline const CRC_AT: u32 = 16;
/** Sequence numbers are 31-bit, so persistCheck can return one as a non-negative i32. */
const SEQUENCE_MASK: u32 = 0x7fffffff;

// Offsets in the block, each 4-aligned: the small structs first, then the regions, the
// Client last, of which only the fields before `state` belong to the block.
// @ts-ignore: decorator
@inline const OUTBOX_AT: u32 = HEADER_BYTES;
// @ts-ignore: decorator
@inline const INBOUND_QOS2_AT: u32 = OUTBOX_AT + ((offsetof<Outbox>() + 3) & ~3);
// @ts-ignore: decorator
@inline const SUBSCRIPTIONS_AT: u32 = INBOUND_QOS2_AT + ((offsetof<InboundQos2>() + 3) & ~3);
// @ts-ignore: decorator
@inline const SESSION5_AT: u32 = SUBSCRIPTIONS_AT + ((offsetof<Subscriptions>() + 3) & ~3);
// @ts-ignore: decorator
@inline const CONNECT_AT: u32 = SESSION5_AT + ((offsetof<Session5>() + 3) & ~3);
// @ts-ignore: decorator
@inline const RECORDS_AT: u32 = CONNECT_AT + ((<u32>CONNECT_CAPACITY + 3) & ~3);
// @ts-ignore: decorator
@inline const INBOUND_IDS_AT: u32 = RECORDS_AT + ((<u32>OUTBOX_CAPACITY + 3) & ~3);
// @ts-ignore: decorator
@inline const SLOTS_AT: u32 = INBOUND_IDS_AT + ((<u32>INBOUND_QOS2_SLOTS * 2 + 3) & ~3);
// @ts-ignore: decorator
@inline const APP_STATE_AT: u32 = SLOTS_AT + ((<u32>SUBSCRIPTION_SLOTS * SLOT_SIZE + 3) & ~3);
// @ts-ignore: decorator
@inline const CLIENT_AT: u32 = APP_STATE_AT + ((APP_STATE_BYTES + 3) & ~3);
/** Bytes of the block: everything up to the Client's first connection field. */
// @ts-ignore: decorator
@inline const PERSIST_LENGTH: u32 = CLIENT_AT + offsetof<Client>("state");

/** The block, followed by the Client's connection fields. */
const PERSIST_BASE = memory.data(CLIENT_AT + offsetof<Client>());

/** Packet ids a restore skips (skipPacketIds): twice the in-flight slots. */
// @ts-ignore: decorator
@inline const PACKET_ID_SKIP: u32 = 2 * <u32>INFLIGHT_SLOTS;

/** Where each part of the session lives (client.ts and client5.ts take their views from here). */
export const OUTBOX_STRUCT = PERSIST_BASE + OUTBOX_AT;
export const INBOUND_QOS2_STRUCT = PERSIST_BASE + INBOUND_QOS2_AT;
export const SUBSCRIPTIONS_STRUCT = PERSIST_BASE + SUBSCRIPTIONS_AT;
export const SESSION5_STRUCT = PERSIST_BASE + SESSION5_AT;
export const CONNECT_BASE = PERSIST_BASE + CONNECT_AT;
export const OUTBOX_BASE = PERSIST_BASE + RECORDS_AT;
export const INBOUND_QOS2_BASE = PERSIST_BASE + INBOUND_IDS_AT;
export const SUBSCRIPTIONS_BASE = PERSIST_BASE + SLOTS_AT;
export const CLIENT_STRUCT = PERSIST_BASE + CLIENT_AT;
/** The application's APP_STATE_BYTES of the block (the telemetry firmware keeps its state there); the core only empties it. */
export const APP_STATE_BASE = PERSIST_BASE + APP_STATE_AT;

/** What the module knows about saving, outside the block. */
@unmanaged
class Persistence {
  /** Moves whenever the block changed in a way a save must catch (persistGeneration). */
  generation: u32;
  /** persistHoldPubrel: PUBRELs wait until the PUBREC that owes them is saved. */
  holdPubrel: bool;
  /** A PUBREC made a PUBREL owed since the last persistPrepare. */
  pubrelUnsaved: bool;
}

const persistence = changetype<Persistence>(memory.data(offsetof<Persistence>()));

/** Empties the header (sequence 0) and the application area, and forgets unsaved changes; resetClient() calls it. */
export function resetPersistence(): void {
  memory.fill(PERSIST_BASE, 0, HEADER_BYTES);
  memory.fill(APP_STATE_BASE, 0, APP_STATE_BYTES);
  persistence.pubrelUnsaved = false;
  persistence.generation++;
}

/** Records a change a save must catch: an outbox record added or released, an inbound QoS 2 id held or released, a subscription or setting changed. */
export function changed(): void {
  persistence.generation++;
}

/** Records a PUBREC moving a flow to its PUBREL (a change that, with persistHoldPubrel, holds the PUBREL until saved). */
export function pubrelOwed(): void {
  persistence.generation++;
  persistence.pubrelUnsaved = true;
}

/** True while PUBRELs must wait for a save (persistHoldPubrel on, a PUBREC since the last persistPrepare). */
export function pubrelHeld(): bool {
  return persistence.holdPubrel && persistence.pubrelUnsaved;
}

// ---- exports (boards/ABI.md, "Persistent state") ------------------------------------

/** Where the persistent block starts. */
export function persistBase(): usize {
  return PERSIST_BASE;
}

/** Bytes of the persistent block: a save image is exactly this long. */
export function persistLength(): u32 {
  return PERSIST_LENGTH;
}

/** A counter that moves whenever the block changed in a way that makes a save due. */
export function persistGeneration(): u32 {
  return persistence.generation;
}

/**
 * With `enabled` not 0, a PUBREL is not sent until persistPrepare() has run since the
 * PUBREC that made it owed, so a QoS 2 flow never restarts with its PUBLISH after the
 * broker has taken the PUBREL (MQTT 3.1.1 §4.3.3: that would deliver it twice). The next
 * tick() after the save sends it. Off when the module is instantiated; init() and
 * persistRestore() keep the setting. Returns OK.
 */
export function persistHoldPubrel(enabled: u32): i32 {
  persistence.holdPubrel = enabled != 0;
  return OK;
}

/**
 * Makes the block a save image: releases completed outbox records, raises the sequence
 * number, writes the header and its CRC-32. Every export call leaves the block consistent,
 * so nothing is rolled back; the bytes [persistBase(), persistBase() + persistLength())
 * are the image until the next export call changes them. Returns the image's sequence
 * number (>= 0), which also names its slot (boards/ABI.md, "Two slots").
 */
export function persistPrepare(): i32 {
  outbox.releaseDone();
  persistence.pubrelUnsaved = false;
  let sequence = (load<u32>(PERSIST_BASE, SEQUENCE_AT) + 1) & SEQUENCE_MASK;
  store<u32>(PERSIST_BASE, MAGIC);
  store<u16>(PERSIST_BASE, <u16>LAYOUT_VERSION, 4);
  store<u16>(PERSIST_BASE, <u16>PROFILE_NUMBER, 6);
  store<u32>(PERSIST_BASE, PERSIST_LENGTH, 8);
  store<u32>(PERSIST_BASE, sequence, SEQUENCE_AT);
  store<u32>(PERSIST_BASE, imageCrc(PERSIST_BASE), CRC_AT);
  return <i32>sequence;
}

/**
 * Checks the save image of len bytes at ptr (inside the module's static memory) without
 * applying it. Returns its sequence number (>= 0), or PERSIST_CORRUPT (not an image, its
 * CRC-32 does not match, or its tables do not hold together), PERSIST_VERSION (another
 * layout version or length: another build), PERSIST_PROFILE (another build profile), or
 * INVALID_ARGUMENT (len is not persistLength(), or the range leaves static memory).
 */
export function persistCheck(ptr: usize, len: u32): i32 {
  if (len != PERSIST_LENGTH || ptr > <usize>__heap_base || <usize>__heap_base - ptr < <usize>len) return INVALID_ARGUMENT;
  if (load<u32>(ptr) != MAGIC) return PERSIST_CORRUPT;
  let length = load<u32>(ptr, 8);
  if (length == PERSIST_LENGTH && load<u32>(ptr, CRC_AT) != imageCrc(ptr)) return PERSIST_CORRUPT;
  if (<u32>load<u16>(ptr, 4) != LAYOUT_VERSION) return PERSIST_VERSION;
  if (<u32>load<u16>(ptr, 6) != PROFILE_NUMBER) return PERSIST_PROFILE;
  if (length != PERSIST_LENGTH) return PERSIST_VERSION;
  if (!holdsTogether(ptr)) return PERSIST_CORRUPT;
  return <i32>(load<u32>(ptr, SEQUENCE_AT) & SEQUENCE_MASK);
}

/**
 * Resumes the session of the save image the host copied to [persistBase(), +persistLength())
 * as after a lost connection: idle, with its settings and CONNECT, so start(nowMs) (or
 * configure() first, to replace them) connects; after the CONNACK the unfinished QoS 1/2
 * flows are sent again (PUBLISH with DUP, PUBREL) and the queued PUBLISHes follow. The
 * connection's timers start from nowMs. On any failure the client starts empty, as after
 * init(). Returns OK, what persistCheck returns for a bad image (PERSIST_CORRUPT,
 * PERSIST_VERSION, PERSIST_PROFILE), or INVALID_STATE (the client was not idle or stopped:
 * its connection is closed, with no event, and it starts empty too).
 */
export function persistRestore(nowMs: u32): i32 {
  let state = client.state;
  let idle = state == STATE_IDLE || state == STATE_STOPPED;
  // a running client's session was just overwritten: its connection cannot go on
  if (!idle) netClose();
  let status = idle ? persistCheck(PERSIST_BASE, PERSIST_LENGTH) : INVALID_STATE;
  if (status < 0) {
    resetClient();
    return status;
  }
  resumeSession(nowMs);
  persistence.pubrelUnsaved = false;
  persistence.generation++;
  return OK;
}

// ---- inside ---------------------------------------------------------------------------

/** The CRC-32 of the image at ptr: its header before the CRC field, then everything after it. */
function imageCrc(ptr: usize): u32 {
  let crc = crc32Update(CRC32_START, ptr, CRC_AT);
  return crc32Final(crc32Update(crc, ptr + CRC_AT + 4, PERSIST_LENGTH - CRC_AT - 4));
}

/**
 * True when the tables of the image at ptr are what the module can run on: sizes of
 * this build, outbox records chained, lengths and states in range, limits within the
 * module's. A CRC-valid image passes unless built by another module or crafted.
 */
function holdsTogether(ptr: usize): bool {
  let box = changetype<Outbox>(ptr + OUTBOX_AT);
  if (box.capacity != <u32>OUTBOX_CAPACITY || !box.isConsistent(ptr + RECORDS_AT)) return false;
  let ids = changetype<InboundQos2>(ptr + INBOUND_QOS2_AT);
  if (ids.slots != <u32>INBOUND_QOS2_SLOTS || ids.used > ids.slots) return false;
  let table = changetype<Subscriptions>(ptr + SUBSCRIPTIONS_AT);
  if (table.slots != <u32>SUBSCRIPTION_SLOTS) return false;
  for (let i: u32 = 0; i < <u32>SUBSCRIPTION_SLOTS; i++) {
    let slot = ptr + SLOTS_AT + i * SLOT_SIZE;
    if (load<u8>(slot) > UNSUBSCRIBE_SENT || <u32>load<u16>(slot, 6) > <u32>MAX_TOPIC_LENGTH) return false;
    if (<u32>load<u16>(slot, 12) > <u32>REQUEST_PROPERTY_BYTES) return false;
  }
  let s = changetype<Session5>(ptr + SESSION5_AT);
  if (s.version != VERSION_311 && s.version != VERSION_5) return false;
  if (s.receiveMaximum > <u32>INBOUND_QOS2_SLOTS || s.maximumPacketSize > <u32>RX_CAPACITY) return false;
  if (s.topicAliasMaximum > <u32>TOPIC_ALIAS_SLOTS || s.sendMaximum > <u32>INFLIGHT_SLOTS) return false;
  if (s.connectPropertiesLen > <u32>STAGING_CAPACITY) return false;
  let c = changetype<Client>(ptr + CLIENT_AT);
  if (c.connectLength > <u32>CONNECT_CAPACITY || c.nextPacketId == 0 || c.nextPacketId > 0xffff) return false;
  if (c.inflightWindow == 0 || c.inflightWindow > <u32>INFLIGHT_SLOTS) return false;
  return c.connectTimeoutMs != 0 && c.reconnectMinMs != 0 && c.reconnectMinMs <= c.reconnectMaxMs;
}

/**
 * Points the restored tables at this module's regions (an image may come from the other
 * module kind, whose addresses differ) and starts the connection's part from nothing.
 */
function resumeSession(nowMs: u32): void {
  outbox.base = OUTBOX_BASE;
  outbox.inflight = 0; // rewind() counts the flows again on the next CONNACK
  inboundQos2.base = INBOUND_QOS2_BASE;
  subscriptions.base = SUBSCRIPTIONS_BASE;
  session5.disconnectReason = 0;
  session5.publishPropertiesLen = 0;
  let connection = CLIENT_STRUCT + offsetof<Client>("state");
  memory.fill(connection, 0, offsetof<Client>() - offsetof<Client>("state"));
  client.phaseStartedAt = nowMs;
  client.lastSentAt = nowMs;
  client.lastReceivedAt = nowMs;
  skipPacketIds();
}

/**
 * Moves the next packet id PACKET_ID_SKIP on. The flows started after the image was saved
 * are gone with the power, but the broker may still hold their QoS 2 ids awaiting a PUBREL
 * that will never come, and a new PUBLISH reusing one could be taken for a resend of the
 * lost one (MQTT 3.1.1 §4.3.3). With a save after every change, those flows' ids follow the
 * saved next id and number at most the in-flight window.
 */
function skipPacketIds(): void {
  let id = client.nextPacketId + PACKET_ID_SKIP;
  client.nextPacketId = id > 0xffff ? id - 0xffff : id;
}
