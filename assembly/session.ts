// Session state (MQTT 3.1.1 §4.1): the outbox of encoded PUBLISHes kept until their
// QoS flow completes, packet id allocation, and the inbound QoS 2 ids awaiting PUBREL.
// Fixed regions only; a full outbox is an explicit status, never a silent drop, and a
// full inbound QoS 2 table makes room by forgetting its oldest id, counted.
import { OUTBOX_FULL, PACKET_TOO_LARGE } from "./status";

// Outbox record states.
export const RECORD_DONE: u8 = 0;
export const RECORD_QUEUED: u8 = 1;
export const RECORD_AWAIT_PUBACK: u8 = 2;
export const RECORD_AWAIT_PUBREC: u8 = 3;
export const RECORD_AWAIT_PUBCOMP: u8 = 4;
export const RECORD_QUEUED_PUBREL: u8 = 5;

/** Record header: u16 record length (0 = wrap to start), u8 state, u8 qos, u16 packet id, u16 packet length. */
export const RECORD_HEADER: u32 = 8;

/**
 * A FIFO of records in a byte region. Records never wrap: one that does not fit
 * before the end starts again at offset 0, leaving a wrap marker. Records are
 * released from the head only, in order, once their flow is done.
 */
@unmanaged
export class Outbox {
  base: usize;
  capacity: u32;
  head: u32;
  tail: u32;
  /** Bytes taken, wrap markers included: head == tail is empty when 0, full otherwise. */
  used: u32;
  highWater: u32;
  /** Records whose QoS 1/2 flow is under way on this connection. */
  inflight: u32;

  /** Points the outbox at its region and empties it. */
  reset(base: usize, capacity: u32): void {
    this.base = base;
    this.capacity = capacity;
    this.head = 0;
    this.tail = 0;
    this.used = 0;
    this.highWater = 0;
    this.inflight = 0;
  }

  /**
   * Reserves a QUEUED record for a packet of packetLen bytes. Returns the record's
   * offset (>= 0) with its header written, OUTBOX_FULL, or PACKET_TOO_LARGE when it
   * could never fit.
   */
  reserve(packetLen: u32, qos: u32, packetId: u32): i32 {
    let size = RECORD_HEADER + packetLen;
    if (size > this.capacity || size > 0xffff) return PACKET_TOO_LARGE;
    let at: u32;
    if (this.used > 0 && this.tail <= this.head) {
      // free space is the gap [tail, head)
      if (this.head - this.tail < size) return OUTBOX_FULL;
      at = this.tail;
    } else if (this.capacity - this.tail >= size) {
      at = this.tail;
    } else {
      // the end is too short: mark it and start again at 0, before the head
      if (this.head < size) return OUTBOX_FULL;
      if (this.capacity - this.tail >= 2) store<u16>(this.base + this.tail, 0);
      this.used += this.capacity - this.tail;
      at = 0;
    }
    let p = this.base + at;
    store<u16>(p, <u16>size);
    store<u8>(p, RECORD_QUEUED, 2);
    store<u8>(p, <u8>qos, 3);
    store<u16>(p, <u16>packetId, 4);
    store<u16>(p, <u16>packetLen, 6);
    this.tail = at + size;
    if (this.tail == this.capacity) this.tail = 0;
    this.used += size;
    if (this.used > this.highWater) this.highWater = this.used;
    return <i32>at;
  }

  /** True when a wrap marker (or a stub too short for a header) stands at offset. */
  isWrap(offset: u32): bool {
    return this.capacity - offset < RECORD_HEADER || load<u16>(this.base + offset) == 0;
  }

  /** Offset of the oldest record, or -1 when empty. */
  first(): i32 {
    if (this.used == 0) return -1;
    return this.isWrap(this.head) ? 0 : <i32>this.head;
  }

  /** Offset of the record after the one at record, or -1 when it was the newest. */
  next(record: u32): i32 {
    let after = record + <u32>load<u16>(this.base + record);
    if (after == this.capacity) after = 0;
    if (after == this.tail) return -1;
    return this.isWrap(after) ? 0 : <i32>after;
  }

  state(record: u32): u8 { return load<u8>(this.base + record, 2); }
  setState(record: u32, state: u8): void { store<u8>(this.base + record, state, 2); }
  qos(record: u32): u32 { return <u32>load<u8>(this.base + record, 3); }
  packetId(record: u32): u32 { return <u32>load<u16>(this.base + record, 4); }
  packetPtr(record: u32): usize { return this.base + record + RECORD_HEADER; }
  packetLen(record: u32): u32 { return <u32>load<u16>(this.base + record, 6); }

  /** The record not done that holds packetId (at most one does), or -1. */
  holding(packetId: u32): i32 {
    let r = this.first();
    while (r >= 0) {
      if (this.state(r) != RECORD_DONE && this.packetId(r) == packetId) return r;
      r = this.next(r);
    }
    return -1;
  }

  /** True when a record that is not done holds packetId. */
  holds(packetId: u32): bool {
    return this.holding(packetId) >= 0;
  }

  /** Marks a record done and releases every done record at the head. */
  complete(record: u32): void {
    this.setState(record, RECORD_DONE);
    this.releaseDone();
  }

  /** Releases done records (and the wrap markers between them) from the head. */
  releaseDone(): void {
    while (this.used > 0) {
      if (this.isWrap(this.head)) {
        this.used -= this.capacity - this.head;
        this.head = 0;
        continue;
      }
      if (this.state(this.head) != RECORD_DONE) break;
      let size = <u32>load<u16>(this.base + this.head);
      this.used -= size;
      this.head += size;
      if (this.head == this.capacity) this.head = 0;
    }
    if (this.used == 0) {
      this.head = 0;
      this.tail = 0;
    }
  }

  /**
   * True when head, tail and used describe records that lie in the region at `records`
   * (capacity bytes), chained from head to tail and adding up to used, each with a known
   * state and QoS: what a restored outbox must be before any method walks it.
   */
  isConsistent(records: usize): bool {
    let capacity = this.capacity;
    let used = this.used;
    if (used == 0) return this.head == 0 && this.tail == 0;
    if (used > capacity || this.head >= capacity || this.tail >= capacity) return false;
    let at = this.head;
    let total: u32 = 0;
    for (let steps = capacity / RECORD_HEADER + 2; steps > 0; steps--) {
      if (capacity - at < RECORD_HEADER || load<u16>(records + at) == 0) {
        total += capacity - at; // a wrap marker: the rest of the region
        at = 0;
        continue;
      }
      let p = records + at;
      let size = <u32>load<u16>(p);
      if (size != RECORD_HEADER + <u32>load<u16>(p, 6) || size > capacity - at) return false;
      if (load<u8>(p, 2) > RECORD_QUEUED_PUBREL || load<u8>(p, 3) > 2) return false;
      total += size;
      at += size;
      if (at == capacity) at = 0;
      if (at == this.tail) return total == used;
    }
    return false;
  }

  /**
   * Prepares the records for a new connection: everything not done is sent again
   * from the head, in order. PUBLISHes already sent get DUP (§3.3.1.1); a PUBCOMP
   * wait becomes a PUBREL resend (§4.4), which a broker answers even for an id it no
   * longer knows, so the flow completes whether or not the session was kept.
   * `inflight` counts the PUBREL flows; pump() counts each PUBLISH again as it goes out.
   */
  rewind(): void {
    this.inflight = 0;
    let r = this.first();
    while (r >= 0) {
      let s = this.state(r);
      if (s == RECORD_AWAIT_PUBACK || s == RECORD_AWAIT_PUBREC) {
        let header = this.packetPtr(r);
        store<u8>(header, load<u8>(header) | 0x08);
        this.setState(r, RECORD_QUEUED);
      } else if (s == RECORD_AWAIT_PUBCOMP || s == RECORD_QUEUED_PUBREL) {
        this.setState(r, RECORD_QUEUED_PUBREL);
        this.inflight++; // its PUBLISH is not sent again, so nothing else counts it
      }
      r = this.next(r);
    }
  }
}

/**
 * Packet ids of inbound QoS 2 messages delivered but not yet released (PUBREL), oldest
 * first, so a resend before PUBREL is not delivered again (§4.3.3). MQTT 3.1.1 has no
 * receive maximum: the broker may have more flows open than there are slots, so a full
 * table forgets its oldest id to make room (boards/ABI.md, "Inbound QoS 2"), and
 * counts it in `overflows`.
 */
@unmanaged
export class InboundQos2 {
  base: usize;
  slots: u32;
  /** Ids held: slots [0, used), the oldest at 0. */
  used: u32;
  /** Ids forgotten to make room, over the module's life (reset() keeps it). */
  overflows: u32;

  /** Points the table at its region and empties it. */
  reset(base: usize, slots: u32): void {
    this.base = base;
    this.slots = slots;
    this.used = 0;
  }

  /** True when packetId is held (a resend before PUBREL: do not deliver again). */
  holds(packetId: u32): bool {
    return this.indexOf(packetId) >= 0;
  }

  /**
   * Holds packetId (not held yet) as the newest id until its release. When every slot
   * is taken the oldest id is forgotten first, and counted in `overflows`.
   */
  hold(packetId: u32): void {
    if (this.used == this.slots) {
      this.removeAt(0);
      this.overflows++;
    }
    store<u16>(this.base + (this.used << 1), <u16>packetId);
    this.used++;
  }

  /** Frees packetId's slot (no-op when not held). */
  release(packetId: u32): void {
    let i = this.indexOf(packetId);
    if (i >= 0) this.removeAt(<u32>i);
  }

  /** The slot holding packetId, or -1. */
  private indexOf(packetId: u32): i32 {
    for (let i: u32 = 0; i < this.used; i++) {
      if (<u32>load<u16>(this.base + (i << 1)) == packetId) return <i32>i;
    }
    return -1;
  }

  /** Drops slot i, keeping the others in order. */
  private removeAt(i: u32): void {
    let p = this.base + (i << 1);
    memory.copy(p, p + 2, (this.used - i - 1) << 1);
    this.used--;
  }
}
