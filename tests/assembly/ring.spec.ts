// Specs for assembly/ring.ts: the transmit ring between the client and netSend.
// An 8-byte ring makes every wrap-around visible in a handful of bytes.
import { ByteRing } from "../../assembly/ring";
import { OK, TX_FULL } from "../../assembly/status";
import { place, bytesAt, resetFixtures } from "./support/bytes";

const CAPACITY: u32 = 8;
const region = memory.data(CAPACITY);
const ring = changetype<ByteRing>(memory.data(offsetof<ByteRing>()));

/** A fresh ring over a region full of 0xee, so bytes the ring never wrote stand out. */
function freshRing(): void {
  memory.fill(region, 0xee, CAPACITY);
  ring.reset(region, CAPACITY);
}

/** The queued bytes in order, read the way the host drains the ring: contiguous runs from the head. */
function drainAll(): u8[] {
  let bytes: u8[] = [];
  while (ring.length > 0) {
    let run = ring.contiguous();
    bytes = bytes.concat(bytesAt(ring.headPtr(), run));
    ring.consume(run);
  }
  return bytes;
}

beforeEach(resetFixtures);
beforeEach(freshRing);

describe("ByteRing", () => {
  test("starts empty with its whole capacity free", () => {
    expect(ring.length).toBe(0);
    expect(ring.free()).toBe(CAPACITY);
    expect(ring.contiguous()).toBe(0);
    expect(ring.highWater).toBe(0);
    expect(ring.headPtr()).toBe(region);
  });

  test("write then consume keeps bytes in order", () => {
    expect(ring.write(place([0x01, 0x02, 0x03]), 3)).toBe(OK);
    expect(ring.length).toBe(3);
    expect(ring.free()).toBe(CAPACITY - 3);
    expect(bytesAt(ring.headPtr(), ring.contiguous())).toStrictEqual([0x01, 0x02, 0x03] as u8[]);
    ring.consume(2);
    expect(ring.length).toBe(1);
    expect(load<u8>(ring.headPtr())).toBe(0x03);
  });

  test("a write that reaches past the end wraps to the start of the region", () => {
    expect(ring.write(place([0x01, 0x02, 0x03, 0x04, 0x05, 0x06]), 6)).toBe(OK);
    ring.consume(4); // head at offset 4, 0x05 0x06 left
    expect(ring.write(place([0x07, 0x08, 0x09, 0x0a, 0x0b]), 5)).toBe(OK);
    expect(ring.length).toBe(7);
    expect(ring.free()).toBe(1);
    expect(bytesAt(region, CAPACITY)).toStrictEqual([
      0x09, 0x0a, 0x0b, // offsets 0..2: the part that wrapped
      0x04, // offset 3: free (a consumed byte)
      0x05, 0x06, // offsets 4..5: the head
      0x07, 0x08, // offsets 6..7: the part before the end
    ] as u8[]);
  });

  test("contiguous() stops at the end of the region, then continues from the start", () => {
    ring.write(place([0x01, 0x02, 0x03, 0x04, 0x05, 0x06]), 6);
    ring.consume(4);
    ring.write(place([0x07, 0x08, 0x09, 0x0a, 0x0b]), 5);
    expect(ring.contiguous()).toBe(4); // offsets 4..7
    expect(bytesAt(ring.headPtr(), 4)).toStrictEqual([0x05, 0x06, 0x07, 0x08] as u8[]);
    ring.consume(4);
    expect(ring.headPtr()).toBe(region);
    expect(ring.contiguous()).toBe(3);
    expect(bytesAt(ring.headPtr(), 3)).toStrictEqual([0x09, 0x0a, 0x0b] as u8[]);
  });

  test("drains in order across many wraps", () => {
    // two bytes stay queued so each 5-byte write starts three bytes further on
    let expected: u8[] = [0xf1, 0xf2];
    ring.write(place(expected), 2);
    let next: u8 = 1;
    for (let round = 0; round < 10; round++) {
      let chunk: u8[] = [next, next + 1, next + 2, next + 3, next + 4];
      next += 5;
      expect(ring.write(place(chunk), 5)).toBe(OK, "round " + round.toString());
      expected = expected.concat(chunk);
      let taken: u32 = 0;
      while (taken < 5) {
        let run = min<u32>(ring.contiguous(), 5 - taken);
        expect(bytesAt(ring.headPtr(), run)).toStrictEqual(expected.slice(0, run), "round " + round.toString());
        expected = expected.slice(run);
        ring.consume(run);
        taken += run;
      }
      expect(ring.length).toBe(2, "round " + round.toString());
    }
    expect(drainAll()).toStrictEqual(expected);
  });

  test("writeByte wraps like write", () => {
    ring.write(place([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]), 7);
    ring.consume(6); // head at offset 6
    ring.writeByte(0x08); // offset 7
    ring.writeByte(0x09); // offset 0
    expect(ring.length).toBe(3);
    expect(load<u8>(region)).toBe(0x09);
    expect(drainAll()).toStrictEqual([0x07, 0x08, 0x09] as u8[]);
  });

  test("a write that does not fit is refused with TX_FULL and changes nothing", () => {
    ring.write(place([0x01, 0x02, 0x03, 0x04, 0x05]), 5);
    ring.consume(2); // head at offset 2, three bytes queued
    let before = bytesAt(region, CAPACITY);
    expect(ring.write(place([0x11, 0x12, 0x13, 0x14, 0x15, 0x16]), 6)).toBe(TX_FULL);
    expect(ring.length).toBe(3);
    expect(ring.highWater).toBe(5);
    expect(bytesAt(region, CAPACITY)).toStrictEqual(before);
    expect(drainAll()).toStrictEqual([0x03, 0x04, 0x05] as u8[]);
  });

  test("a write of exactly the free bytes fills the ring", () => {
    ring.write(place([0x01, 0x02, 0x03]), 3);
    ring.consume(1);
    expect(ring.write(place([0x04, 0x05, 0x06, 0x07, 0x08, 0x09]), 6)).toBe(OK);
    expect(ring.free()).toBe(0);
    expect(ring.write(place([0x0a]), 1)).toBe(TX_FULL);
    expect(drainAll()).toStrictEqual([0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09] as u8[]);
  });

  test("highWater keeps the most bytes ever queued", () => {
    ring.write(place([0x01, 0x02, 0x03, 0x04, 0x05]), 5);
    ring.consume(5);
    ring.write(place([0x06, 0x07]), 2);
    expect(ring.length).toBe(2);
    expect(ring.highWater).toBe(5);
    ring.write(place([0x08, 0x09, 0x0a, 0x0b]), 4);
    expect(ring.highWater).toBe(6);
    ring.writeByte(0x0c);
    expect(ring.highWater).toBe(7);
  });

  test("emptying the ring moves the head back to the start", () => {
    ring.write(place([0x01, 0x02, 0x03]), 3);
    ring.consume(3);
    expect(ring.headPtr()).toBe(region);
    expect(ring.contiguous()).toBe(0);
    ring.write(place([0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b]), 8);
    expect(ring.contiguous()).toBe(CAPACITY); // one run, no wrap
  });

  test("clear empties the ring but keeps its high-water mark", () => {
    ring.write(place([0x01, 0x02, 0x03, 0x04, 0x05, 0x06]), 6);
    ring.consume(4);
    ring.clear();
    expect(ring.length).toBe(0);
    expect(ring.free()).toBe(CAPACITY);
    expect(ring.headPtr()).toBe(region);
    expect(ring.highWater).toBe(6);
    ring.write(place([0x21, 0x22]), 2);
    expect(drainAll()).toStrictEqual([0x21, 0x22] as u8[]);
  });

  test("reset empties the ring and its high-water mark", () => {
    ring.write(place([0x01, 0x02, 0x03]), 3);
    ring.reset(region, CAPACITY);
    expect(ring.length).toBe(0);
    expect(ring.highWater).toBe(0);
  });
});
