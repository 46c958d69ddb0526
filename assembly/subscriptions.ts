// The subscription table: every filter the application asked for, so the client can
// send requests made while offline and resubscribe when the broker lost the session.
import { MAX_TOPIC_LENGTH, REQUEST_PROPERTY_BYTES } from "./config";
import { SUBSCRIPTIONS_FULL } from "./status";

export const SUBSCRIPTION_FREE: u8 = 0;
/** Asked for, not yet sent on this connection. */
export const SUBSCRIPTION_PENDING: u8 = 1;
/** Sent, awaiting SUBACK. */
export const SUBSCRIPTION_SENT: u8 = 2;
/** Granted by the broker. */
export const SUBSCRIPTION_ACTIVE: u8 = 3;
/** Unsubscribe asked for, not yet sent on this connection. */
export const UNSUBSCRIBE_PENDING: u8 = 4;
/** UNSUBSCRIBE sent, awaiting UNSUBACK; the slot is freed then. */
export const UNSUBSCRIBE_SENT: u8 = 5;

/**
 * Slot: u8 state, u8 qos (MQTT 5: the Subscription Options), u16 packet id, u16 index in
 * its SUBSCRIBE, u16 filter length, u32 MQTT 5 Subscription Identifier (0: none), u16 length
 * of its request's MQTT 5 User Properties, the filter bytes, then those properties.
 */
export const SLOT_HEADER: u32 = 14;
// @ts-ignore: decorator
@inline export const SLOT_SIZE: u32 = SLOT_HEADER + <u32>MAX_TOPIC_LENGTH + <u32>REQUEST_PROPERTY_BYTES;

@unmanaged
export class Subscriptions {
  base: usize;
  slots: u32;
  /**
   * False only while no slot is SUBSCRIPTION_PENDING or UNSUBSCRIBE_PENDING: set whenever a
   * slot enters one of them, cleared by whoever sent every pending request (requests.ts
   * sendRequests), so the table is not scanned on every send when nothing waits.
   */
  queued: bool;

  /** Points the table at its region and empties it. */
  reset(base: usize, slots: u32): void {
    this.base = base;
    this.slots = slots;
    this.queued = false;
    memory.fill(base, 0, slots * SLOT_SIZE);
  }

  slot(i: u32): usize { return this.base + i * SLOT_SIZE; }
  state(i: u32): u8 { return load<u8>(this.slot(i)); }
  setState(i: u32, state: u8): void {
    if (state == SUBSCRIPTION_PENDING || state == UNSUBSCRIBE_PENDING) this.queued = true;
    store<u8>(this.slot(i), state);
  }
  qos(i: u32): u32 { return <u32>load<u8>(this.slot(i), 1); }
  packetId(i: u32): u32 { return <u32>load<u16>(this.slot(i), 2); }
  index(i: u32): u32 { return <u32>load<u16>(this.slot(i), 4); }
  filterLen(i: u32): u32 { return <u32>load<u16>(this.slot(i), 6); }
  subscriptionIdentifier(i: u32): u32 { return load<u32>(this.slot(i), 8); }
  setSubscriptionIdentifier(i: u32, identifier: u32): void { store<u32>(this.slot(i), identifier, 8); }
  filterPtr(i: u32): usize { return this.slot(i) + SLOT_HEADER; }
  /** MQTT 5: the User Properties (encoded, without a Property Length) of the request slot i is in. */
  propertiesLen(i: u32): u32 { return <u32>load<u16>(this.slot(i), 12); }
  propertiesPtr(i: u32): usize { return this.slot(i) + SLOT_HEADER + <u32>MAX_TOPIC_LENGTH; }
  /** Keeps len (≤ REQUEST_PROPERTY_BYTES) bytes of encoded User Properties for slot i's request. */
  setProperties(i: u32, ptr: usize, len: u32): void {
    store<u16>(this.slot(i), <u16>len, 12);
    memory.copy(this.propertiesPtr(i), ptr, len);
  }

  /** Slots in use. */
  used(): u32 {
    let n: u32 = 0;
    for (let i: u32 = 0; i < this.slots; i++) if (this.state(i) != SUBSCRIPTION_FREE) n++;
    return n;
  }

  /** The slot holding this exact filter, or -1. */
  find(ptr: usize, len: u32): i32 {
    for (let i: u32 = 0; i < this.slots; i++) {
      if (this.state(i) == SUBSCRIPTION_FREE || this.filterLen(i) != len) continue;
      if (memory.compare(this.filterPtr(i), ptr, len) == 0) return <i32>i;
    }
    return -1;
  }

  /** True when count more filters fit in free slots. */
  hasRoom(count: u32): bool {
    return this.slots - this.used() >= count;
  }

  /**
   * Records a filter as requested in SUBSCRIBE packetId at position index (replacing
   * an existing entry for the same filter; no Subscription Identifier, no User Properties). Returns the slot,
   * or SUBSCRIPTIONS_FULL.
   */
  put(ptr: usize, len: u32, qos: u32, packetId: u32, index: u32, state: u8): i32 {
    let i = this.find(ptr, len);
    if (i < 0) {
      for (let k: u32 = 0; k < this.slots; k++) {
        if (this.state(k) == SUBSCRIPTION_FREE) { i = <i32>k; break; }
      }
      if (i < 0) return SUBSCRIPTIONS_FULL;
    }
    let p = this.slot(<u32>i);
    this.setState(<u32>i, state);
    store<u8>(p, <u8>qos, 1);
    store<u16>(p, <u16>packetId, 2);
    store<u16>(p, <u16>index, 4);
    store<u16>(p, <u16>len, 6);
    store<u32>(p, 0, 8);
    store<u16>(p, 0, 12);
    memory.copy(p + SLOT_HEADER, ptr, len);
    return i;
  }

  /** The slot sent as position index of SUBSCRIBE packetId, or -1. */
  findRequest(packetId: u32, index: u32, state: u8): i32 {
    for (let i: u32 = 0; i < this.slots; i++) {
      if (this.state(i) == state && this.packetId(i) == packetId && this.index(i) == index) return <i32>i;
    }
    return -1;
  }

  /** How many slots in this state belong to request packetId (its filters). */
  requestSize(packetId: u32, state: u8): u32 {
    let n: u32 = 0;
    for (let i: u32 = 0; i < this.slots; i++) {
      if (this.state(i) == state && this.packetId(i) == packetId) n++;
    }
    return n;
  }

  /** The slot of request packetId in this state with the lowest position (then the lowest slot), or -1. */
  firstOfRequest(packetId: u32, state: u8): i32 {
    let found = -1;
    for (let i: u32 = 0; i < this.slots; i++) {
      if (this.state(i) != state || this.packetId(i) != packetId) continue;
      if (found < 0 || this.index(i) < this.index(<u32>found)) found = <i32>i;
    }
    return found;
  }

  /** Moves every slot in state `from` to `to`; returns how many moved. */
  moveAll(from: u8, to: u8): u32 {
    let n: u32 = 0;
    for (let i: u32 = 0; i < this.slots; i++) {
      if (this.state(i) == from) { this.setState(i, to); n++; }
    }
    return n;
  }

  /** Moves the slots of request packetId in state `from` to `to`; returns how many moved. */
  moveRequest(packetId: u32, from: u8, to: u8): u32 {
    let n: u32 = 0;
    for (let i: u32 = 0; i < this.slots; i++) {
      if (this.state(i) == from && this.packetId(i) == packetId) { this.setState(i, to); n++; }
    }
    return n;
  }

  /** True when a slot waits to send or hear back about a request numbered packetId. */
  holds(packetId: u32): bool {
    for (let i: u32 = 0; i < this.slots; i++) {
      let state = this.state(i);
      if (state != SUBSCRIPTION_FREE && state != SUBSCRIPTION_ACTIVE && this.packetId(i) == packetId) return true;
    }
    return false;
  }

  /** Renumbers slot i into request packetId at position index. */
  assign(i: u32, packetId: u32, index: u32): void {
    store<u16>(this.slot(i), <u16>packetId, 2);
    store<u16>(this.slot(i), <u16>index, 4);
  }
}
