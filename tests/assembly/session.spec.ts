// Specs for assembly/session.ts: the outbox of encoded PUBLISHes (reserve, release in
// order, wrap markers, rewind for resend) and the inbound QoS 2 packet ids.
// Small capacities make every wrap visible; regions start full of 0xee so a field the
// code forgot to write cannot pass as zero.
import {
  Outbox, InboundQos2, RECORD_HEADER,
  RECORD_DONE, RECORD_QUEUED, RECORD_AWAIT_PUBACK, RECORD_AWAIT_PUBREC, RECORD_AWAIT_PUBCOMP, RECORD_QUEUED_PUBREL,
} from "../../assembly/session";
import { encodePublish, packetSize, publishRemainingLength } from "../../assembly/codec";
import { OUTBOX_FULL, PACKET_TOO_LARGE } from "../../assembly/status";
import { place, bytesAt, resetFixtures } from "./support/bytes";

const REGION_CAPACITY: u32 = 256;
const region = memory.data(REGION_CAPACITY);
const outbox = changetype<Outbox>(memory.data(offsetof<Outbox>()));

/** An outbox of capacity bytes over a region full of 0xee. */
function freshOutbox(capacity: u32): void {
  memory.fill(region, 0xee, REGION_CAPACITY);
  outbox.reset(region, capacity);
}

/** Reserves a record of exactly recordSize bytes (header included) for packetId, QoS 1. */
function reserveRecord(recordSize: u32, packetId: u32): i32 {
  return outbox.reserve(recordSize - RECORD_HEADER, 1, packetId);
}

/** Record offsets from first() through next(), oldest first; stops early if next() never ends. */
function records(): i32[] {
  let offsets: i32[] = [];
  let r = outbox.first();
  while (r >= 0 && <u32>offsets.length <= outbox.capacity / RECORD_HEADER) {
    offsets.push(r);
    r = outbox.next(<u32>r);
  }
  return offsets;
}

/** Reserves a record and encodes a PUBLISH to topic "t" with payload "x" into it. */
function queuePublish(qos: u32, retain: bool, packetId: u32): i32 {
  let topic = place([0x74]); // "t"
  let payload = place([0x78]); // "x"
  let len = packetSize(publishRemainingLength(1, 1, qos));
  let r = outbox.reserve(len, qos, packetId);
  if (r >= 0) encodePublish(outbox.packetPtr(<u32>r), topic, 1, payload, 1, qos, retain, packetId);
  return r;
}

beforeEach(resetFixtures);

describe("Outbox: reserve", () => {
  test("writes a QUEUED record header and places records one after another", () => {
    freshOutbox(64);
    let a = outbox.reserve(10, 1, 7);
    let b = outbox.reserve(4, 2, 0xffff);
    expect(a).toBe(0);
    expect(b).toBe(<i32>(RECORD_HEADER + 10));
    expect(outbox.state(<u32>a)).toBe(RECORD_QUEUED);
    expect(outbox.qos(<u32>a)).toBe(1);
    expect(outbox.packetId(<u32>a)).toBe(7);
    expect(outbox.packetLen(<u32>a)).toBe(10);
    expect(outbox.packetPtr(<u32>a)).toBe(region + RECORD_HEADER);
    expect(outbox.qos(<u32>b)).toBe(2);
    expect(outbox.packetId(<u32>b)).toBe(0xffff);
    expect(outbox.packetLen(<u32>b)).toBe(4);
    expect(outbox.used).toBe(2 * RECORD_HEADER + 14);
    expect(records()).toStrictEqual([a, b]);
  });

  test("an empty outbox has no records", () => {
    freshOutbox(64);
    expect(outbox.used).toBe(0);
    expect(outbox.first()).toBe(-1);
    expect(records()).toHaveLength(0);
  });

  test("PACKET_TOO_LARGE for a record bigger than the whole outbox, even when empty", () => {
    freshOutbox(64);
    expect(outbox.reserve(64 - RECORD_HEADER + 1, 1, 1)).toBe(PACKET_TOO_LARGE);
    expect(outbox.used).toBe(0);
    expect(outbox.reserve(64 - RECORD_HEADER, 1, 1)).toBe(0, "exactly the capacity fits");
    expect(outbox.used).toBe(64);
    expect(records()).toStrictEqual([0]);
    expect(outbox.reserve(64 - RECORD_HEADER + 1, 1, 2)).toBe(PACKET_TOO_LARGE, "too large wins over full");
  });

  test("OUTBOX_FULL when the record does not fit now, with nothing changed", () => {
    freshOutbox(64);
    reserveRecord(18, 1); // 0..18
    reserveRecord(18, 2); // 18..36
    reserveRecord(18, 3); // 36..54, 10 bytes left at the end
    let before = bytesAt(region, 64);
    expect(reserveRecord(20, 4)).toBe(OUTBOX_FULL, "end too short and nothing free at the start");
    expect(outbox.used).toBe(54);
    expect(outbox.tail).toBe(54);
    expect(bytesAt(region, 64)).toStrictEqual(before, "no wrap marker left behind");
    expect(reserveRecord(10, 4)).toBe(54, "a record that fits the end still goes there");
  });

  test("OUTBOX_FULL when the gap between tail and head is too short", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    reserveRecord(18, 2);
    reserveRecord(18, 3);
    outbox.complete(<u32>a); // head 18, tail 54
    expect(reserveRecord(18, 4)).toBe(0); // wraps; tail 18 == head
    expect(outbox.used).toBe(64);
    expect(reserveRecord(8, 5)).toBe(OUTBOX_FULL, "tail meets head: full");
    expect(outbox.used).toBe(64);
  });

  test("a gap exactly one byte too short is OUTBOX_FULL, an exact gap fits", () => {
    freshOutbox(64);
    let a = reserveRecord(20, 1); // 0..20
    reserveRecord(20, 2); // 20..40
    reserveRecord(24, 3); // 40..64, tail back at 0
    outbox.complete(<u32>a); // gap 0..20
    expect(reserveRecord(21, 4)).toBe(OUTBOX_FULL, "gap 20, record 21");
    expect(reserveRecord(20, 4)).toBe(0, "gap 20, record 20");
    expect(outbox.used).toBe(64);
  });

  test("wrapping needs the whole record before the head: one byte short is OUTBOX_FULL", () => {
    freshOutbox(64);
    let a = reserveRecord(19, 1); // 0..19
    reserveRecord(18, 2); // 19..37
    reserveRecord(18, 3); // 37..55, 9 bytes left
    outbox.complete(<u32>a); // head 19
    expect(reserveRecord(20, 4)).toBe(OUTBOX_FULL, "19 bytes before the head, record 20");
    expect(outbox.used).toBe(36);
    expect(reserveRecord(19, 4)).toBe(0, "19 bytes before the head, record 19");
  });

  test("highWater keeps the most bytes ever used, wrap markers included", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    let b = reserveRecord(18, 2);
    let c = reserveRecord(18, 3);
    expect(outbox.highWater).toBe(54);
    outbox.complete(<u32>a);
    reserveRecord(18, 4); // wraps, the 10 bytes at the end count as used
    expect(outbox.highWater).toBe(64);
    outbox.complete(<u32>b);
    outbox.complete(<u32>c);
    expect(outbox.used).toBe(18);
    expect(outbox.highWater).toBe(64);
  });

  test("the record length field is 16 bits: PACKET_TOO_LARGE past 0xffff bytes", () => {
    let big = memory.data(0x10010);
    outbox.reset(big, 0x10010);
    expect(outbox.reserve(0xffff - RECORD_HEADER + 1, 1, 1)).toBe(PACKET_TOO_LARGE);
    expect(outbox.reserve(0xffff - RECORD_HEADER, 1, 1)).toBe(0, "a 0xffff-byte record fits");
    expect(outbox.packetLen(0)).toBe(0xffff - RECORD_HEADER);
    expect(outbox.next(0)).toBe(-1);
  });
});

describe("Outbox: release", () => {
  test("complete releases records from the head, in order", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    let b = reserveRecord(18, 2);
    let c = reserveRecord(18, 3);
    outbox.complete(<u32>a);
    expect(outbox.used).toBe(36);
    expect(records()).toStrictEqual([b, c]);
    outbox.complete(<u32>b);
    expect(records()).toStrictEqual([c]);
    outbox.complete(<u32>c);
    expect(outbox.used).toBe(0);
    expect(outbox.first()).toBe(-1);
  });

  test("a completed record in the middle is not freed before the head", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    let b = reserveRecord(18, 2);
    let c = reserveRecord(18, 3);
    outbox.complete(<u32>b);
    expect(outbox.used).toBe(54);
    expect(outbox.first()).toBe(a);
    expect(outbox.state(<u32>b)).toBe(RECORD_DONE);
    expect(records()).toStrictEqual([a, b, c]);
    expect(reserveRecord(18, 4)).toBe(OUTBOX_FULL, "b's bytes are not free yet");
    outbox.complete(<u32>a); // releases a and b together
    expect(outbox.used).toBe(18);
    expect(records()).toStrictEqual([c]);
  });

  test("a head record whose flow is under way holds back the done records after it", () => {
    let waiting: u8[] = [RECORD_QUEUED, RECORD_AWAIT_PUBACK, RECORD_AWAIT_PUBREC, RECORD_AWAIT_PUBCOMP, RECORD_QUEUED_PUBREL];
    for (let i = 0; i < waiting.length; i++) {
      freshOutbox(64);
      let a = reserveRecord(18, 1);
      let b = reserveRecord(18, 2);
      outbox.setState(<u32>a, waiting[i]);
      outbox.complete(<u32>b);
      expect(outbox.used).toBe(36, "head in state " + waiting[i].toString());
      expect(records()).toStrictEqual([a, b], "head in state " + waiting[i].toString());
    }
  });

  test("releaseDone releases records marked done with setState", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    let b = reserveRecord(18, 2);
    outbox.setState(<u32>a, RECORD_DONE);
    expect(outbox.used).toBe(36, "setState alone releases nothing");
    outbox.releaseDone();
    expect(records()).toStrictEqual([b]);
  });

  test("an emptied outbox places the next record at offset 0 again", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    let b = reserveRecord(18, 2);
    outbox.complete(<u32>a);
    outbox.complete(<u32>b);
    expect(outbox.head).toBe(0);
    expect(outbox.tail).toBe(0);
    expect(reserveRecord(40, 3)).toBe(0, "a record too big for the old tail's end still fits");
    expect(outbox.packetId(0)).toBe(3);
  });
});

describe("Outbox: wrap", () => {
  test("a record that does not fit at the end leaves a wrap marker and starts at 0", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1); // 0..18
    let b = reserveRecord(18, 2); // 18..36
    let c = reserveRecord(18, 3); // 36..54, 10 bytes left: room for a marker
    outbox.complete(<u32>a);
    let d = reserveRecord(18, 4);
    expect(d).toBe(0);
    expect(load<u16>(region + 54)).toBe(0, "wrap marker: record length 0");
    expect(outbox.isWrap(54)).toBe(true);
    expect(outbox.used).toBe(64, "the marked end counts as used");
    expect(records()).toStrictEqual([b, c, d]);
    expect(outbox.packetId(<u32>d)).toBe(4);
  });

  test("releasing the records before the marker skips it", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    let b = reserveRecord(18, 2);
    let c = reserveRecord(18, 3);
    outbox.complete(<u32>a);
    let d = reserveRecord(18, 4);
    outbox.complete(<u32>b);
    outbox.complete(<u32>c);
    expect(outbox.head).toBe(0);
    expect(outbox.used).toBe(18);
    expect(records()).toStrictEqual([d]);
    let e = reserveRecord(18, 5);
    expect(e).toBe(18);
    expect(records()).toStrictEqual([d, e]);
  });

  test("an end too short to hold a marker is skipped like one", () => {
    freshOutbox(61);
    let a = reserveRecord(20, 1); // 0..20
    let b = reserveRecord(20, 2); // 20..40
    let c = reserveRecord(20, 3); // 40..60, 1 byte left: no room for a marker
    outbox.complete(<u32>a);
    let d = reserveRecord(20, 4);
    expect(d).toBe(0);
    expect(outbox.isWrap(60)).toBe(true);
    expect(outbox.used).toBe(61);
    expect(records()).toStrictEqual([b, c, d]);
    outbox.complete(<u32>b);
    outbox.complete(<u32>c);
    expect(outbox.used).toBe(20);
    expect(records()).toStrictEqual([d]);
  });

  test("a record that ends exactly at the end needs no marker", () => {
    freshOutbox(64);
    let a = reserveRecord(32, 1); // 0..32
    let b = reserveRecord(32, 2); // 32..64
    expect(outbox.tail).toBe(0);
    expect(records()).toStrictEqual([a, b]);
    expect(reserveRecord(8, 3)).toBe(OUTBOX_FULL);
    outbox.complete(<u32>a);
    let c = reserveRecord(32, 3);
    expect(c).toBe(0);
    expect(outbox.used).toBe(64);
    expect(records()).toStrictEqual([b, c]);
    outbox.complete(<u32>b);
    expect(records()).toStrictEqual([c]);
    expect(outbox.used).toBe(32);
  });

  test("records keep their order over many laps", () => {
    freshOutbox(64);
    let oldest = reserveRecord(24, 1);
    let newest = reserveRecord(24, 2);
    for (let id: u32 = 3; id < 40; id++) {
      outbox.complete(<u32>oldest);
      oldest = newest;
      newest = reserveRecord(24, id);
      expect(newest).toBeGreaterThanOrEqual(0, "id " + id.toString());
      expect(records()).toStrictEqual([oldest, newest], "id " + id.toString());
      expect(outbox.packetId(<u32>oldest)).toBe(id - 1);
      expect(outbox.packetId(<u32>newest)).toBe(id);
    }
  });
});

describe("Outbox: holding and holds", () => {
  test("holding finds the record not done with the packet id, in any state of its flow", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    let b = reserveRecord(18, 2);
    outbox.setState(<u32>a, RECORD_AWAIT_PUBACK);
    outbox.setState(<u32>b, RECORD_AWAIT_PUBREC);
    expect(outbox.holding(1)).toBe(a);
    expect(outbox.holding(2)).toBe(b);
    outbox.setState(<u32>b, RECORD_QUEUED_PUBREL);
    expect(outbox.holding(2)).toBe(b);
    outbox.setState(<u32>b, RECORD_AWAIT_PUBCOMP);
    expect(outbox.holding(2)).toBe(b);
    expect(outbox.holding(3)).toBe(-1, "unknown id");
  });

  test("holds is true only for records not done", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    let b = reserveRecord(18, 2);
    expect(outbox.holds(1)).toBe(true);
    expect(outbox.holds(2)).toBe(true);
    expect(outbox.holds(3)).toBe(false);
    outbox.complete(<u32>b); // done but not released: a is still the head
    expect(outbox.holds(2)).toBe(false);
    expect(outbox.holding(2)).toBe(-1, "a done record is no longer holding its id");
    outbox.complete(<u32>a);
    expect(outbox.holds(1)).toBe(false);
  });

  test("holding reaches the record after a wrap marker", () => {
    freshOutbox(64);
    let a = reserveRecord(18, 1);
    reserveRecord(18, 2);
    reserveRecord(18, 3);
    outbox.complete(<u32>a);
    let d = reserveRecord(18, 4);
    expect(outbox.holding(4)).toBe(d);
    expect(outbox.holds(4)).toBe(true);
    expect(outbox.holds(1)).toBe(false);
  });
});

describe("Outbox: rewind", () => {
  test("resends unfinished flows: PUBLISH with DUP, PUBCOMP wait as PUBREL", () => {
    freshOutbox(REGION_CAPACITY);
    let puback = queuePublish(1, true, 1);
    let pubrec = queuePublish(2, false, 2);
    let pubcomp = queuePublish(2, false, 3);
    let unsent = queuePublish(1, false, 4);
    let pubrel = queuePublish(2, false, 5);
    let done = queuePublish(1, false, 6);
    outbox.setState(<u32>puback, RECORD_AWAIT_PUBACK);
    outbox.setState(<u32>pubrec, RECORD_AWAIT_PUBREC);
    outbox.setState(<u32>pubcomp, RECORD_AWAIT_PUBCOMP);
    outbox.setState(<u32>pubrel, RECORD_QUEUED_PUBREL);
    outbox.setState(<u32>done, RECORD_DONE);
    outbox.inflight = 3;

    outbox.rewind();

    expect(outbox.inflight).toBe(2, "the two PUBREL flows; the PUBLISHes are counted again when resent");
    expect(outbox.state(<u32>puback)).toBe(RECORD_QUEUED, "AWAIT_PUBACK");
    expect(outbox.state(<u32>pubrec)).toBe(RECORD_QUEUED, "AWAIT_PUBREC");
    expect(outbox.state(<u32>pubcomp)).toBe(RECORD_QUEUED_PUBREL, "AWAIT_PUBCOMP");
    expect(outbox.state(<u32>unsent)).toBe(RECORD_QUEUED, "QUEUED");
    expect(outbox.state(<u32>pubrel)).toBe(RECORD_QUEUED_PUBREL, "QUEUED_PUBREL");
    expect(outbox.state(<u32>done)).toBe(RECORD_DONE, "DONE");
    expect(load<u8>(outbox.packetPtr(<u32>puback))).toBe(0x3b, "PUBLISH DUP, QoS 1, retain");
    expect(load<u8>(outbox.packetPtr(<u32>pubrec))).toBe(0x3c, "PUBLISH DUP, QoS 2");
    expect(load<u8>(outbox.packetPtr(<u32>pubcomp))).toBe(0x34, "PUBLISH QoS 2: not sent again, no DUP");
    expect(load<u8>(outbox.packetPtr(<u32>unsent))).toBe(0x32, "PUBLISH QoS 1: never sent, no DUP");
    expect(load<u8>(outbox.packetPtr(<u32>pubrel))).toBe(0x34, "PUBLISH QoS 2: PUBREL pending, no DUP");
    expect(load<u8>(outbox.packetPtr(<u32>done))).toBe(0x32, "done: untouched");
  });

  test("only the DUP bit of the stored PUBLISH changes", () => {
    freshOutbox(REGION_CAPACITY);
    let r = queuePublish(1, false, 0x1234);
    outbox.setState(<u32>r, RECORD_AWAIT_PUBACK);
    let len = outbox.packetLen(<u32>r);
    outbox.rewind();
    expect(bytesAt(outbox.packetPtr(<u32>r), len)).toStrictEqual([
      0x3a, 0x06, // PUBLISH DUP, QoS 1, remaining length 6
      0x00, 0x01, 0x74, // topic name "t"
      0x12, 0x34, // packet id 0x1234
      0x78, // payload "x"
    ] as u8[]);
    expect(outbox.packetId(<u32>r)).toBe(0x1234);
    expect(outbox.qos(<u32>r)).toBe(1);
  });

  test("rewinding twice changes nothing more", () => {
    freshOutbox(REGION_CAPACITY);
    let r = queuePublish(2, false, 9);
    outbox.setState(<u32>r, RECORD_AWAIT_PUBREC);
    outbox.rewind();
    let after = bytesAt(region, REGION_CAPACITY);
    outbox.rewind();
    expect(bytesAt(region, REGION_CAPACITY)).toStrictEqual(after);
    expect(outbox.state(<u32>r)).toBe(RECORD_QUEUED);
  });

  test("reaches records after a wrap marker", () => {
    freshOutbox(56);
    let a = queuePublish(1, false, 1); // 0..16: each record is 16 bytes
    let b = queuePublish(1, false, 2); // 16..32
    let c = queuePublish(1, false, 3); // 32..48, 8 bytes left
    outbox.complete(<u32>a);
    let e = queuePublish(1, false, 5);
    expect(e).toBe(0);
    expect(outbox.isWrap(48)).toBe(true);
    expect(records()).toStrictEqual([b, c, e]);
    outbox.setState(<u32>e, RECORD_AWAIT_PUBACK);
    outbox.rewind();
    expect(outbox.state(<u32>e)).toBe(RECORD_QUEUED);
    expect(load<u8>(outbox.packetPtr(<u32>e))).toBe(0x3a, "PUBLISH DUP, QoS 1");
  });
});

// ---- InboundQos2 ------------------------------------------------------------------

const INBOUND_SLOTS: u32 = 4;
const inboundRegion = memory.data(INBOUND_SLOTS * 2);
const inbound = changetype<InboundQos2>(memory.data(offsetof<InboundQos2>()));

/** Fresh table over a region full of junk ids, with its overflow count zeroed. */
function freshInbound(): void {
  memory.fill(inboundRegion, 0x77, INBOUND_SLOTS * 2);
  inbound.reset(inboundRegion, INBOUND_SLOTS);
  inbound.overflows = 0;
}

/** The ids from 1 to 200 held, in ascending order. */
function heldIds(): u32[] {
  let ids: u32[] = [];
  for (let id: u32 = 1; id <= 200; id++) if (inbound.holds(id)) ids.push(id);
  return ids;
}

describe("InboundQos2", () => {
  test("starts empty", () => {
    freshInbound();
    expect(inbound.used).toBe(0);
    expect(inbound.holds(0x7777)).toBe(false, "junk in the region is not an id");
    expect(inbound.holds(1)).toBe(false);
    expect(inbound.overflows).toBe(0);
  });

  test("holds a packet id until it is released", () => {
    freshInbound();
    inbound.hold(1);
    inbound.hold(0xffff);
    expect(inbound.used).toBe(2);
    expect(inbound.holds(1)).toBe(true);
    expect(inbound.holds(0xffff)).toBe(true);
    expect(inbound.holds(2)).toBe(false);
    inbound.release(1);
    expect(inbound.holds(1)).toBe(false);
    expect(inbound.holds(0xffff)).toBe(true);
    expect(inbound.used).toBe(1);
  });

  test("a full table forgets its oldest id to hold a new one, and counts the overflow", () => {
    freshInbound();
    for (let id: u32 = 1; id <= INBOUND_SLOTS; id++) inbound.hold(id);
    expect(inbound.overflows).toBe(0);
    inbound.hold(100);
    expect(inbound.used).toBe(INBOUND_SLOTS);
    expect(inbound.overflows).toBe(1);
    expect(inbound.holds(1)).toBe(false, "the oldest id is forgotten");
    expect(inbound.holds(100)).toBe(true);
    for (let id: u32 = 2; id <= INBOUND_SLOTS; id++) expect(inbound.holds(id)).toBe(true, "id " + id.toString());
    inbound.hold(101);
    expect(inbound.overflows).toBe(2);
    expect(inbound.holds(2)).toBe(false, "then the next oldest");
    expect(inbound.holds(101)).toBe(true);
  });

  test("the oldest is by the time of hold, across releases in the middle", () => {
    freshInbound();
    for (let id: u32 = 1; id <= INBOUND_SLOTS; id++) inbound.hold(id);
    inbound.release(2);
    inbound.hold(100); // room again: nothing forgotten
    expect(inbound.overflows).toBe(0);
    expect(inbound.used).toBe(INBOUND_SLOTS);
    inbound.hold(101); // full: 1 is the oldest
    expect(inbound.holds(1)).toBe(false);
    inbound.hold(102); // then 3, not 100
    expect(inbound.holds(3)).toBe(false);
    expect(inbound.holds(100)).toBe(true);
    expect(heldIds()).toStrictEqual([4, 100, 101, 102]);
    expect(inbound.overflows).toBe(2);
  });

  test("reset empties the table and keeps the overflow count", () => {
    freshInbound();
    for (let id: u32 = 1; id <= INBOUND_SLOTS + 1; id++) inbound.hold(id);
    inbound.reset(inboundRegion, INBOUND_SLOTS);
    expect(inbound.used).toBe(0);
    expect(inbound.holds(3)).toBe(false);
    expect(inbound.overflows).toBe(1);
  });

  test("releasing an id that is not held changes nothing", () => {
    freshInbound();
    inbound.hold(1);
    inbound.release(2);
    expect(inbound.used).toBe(1);
    expect(inbound.holds(1)).toBe(true);
  });
});
