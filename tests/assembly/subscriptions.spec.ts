// Specs for assembly/subscriptions.ts: the fixed table of requested filters and the
// SUBSCRIBE/UNSUBSCRIBE requests they travel in. Four slots keep "full" in reach.
import {
  Subscriptions, SLOT_SIZE,
  SUBSCRIPTION_FREE, SUBSCRIPTION_PENDING, SUBSCRIPTION_SENT, SUBSCRIPTION_ACTIVE, UNSUBSCRIBE_PENDING, UNSUBSCRIBE_SENT,
} from "../../assembly/subscriptions";
import { MAX_TOPIC_LENGTH } from "../../assembly/config";
import { SUBSCRIPTIONS_FULL } from "../../assembly/status";
import { place, utf8, repeat, bytesAt, resetFixtures } from "./support/bytes";

const SLOTS: u32 = 4;
const region = memory.data(SLOTS * SLOT_SIZE);
const table = changetype<Subscriptions>(memory.data(offsetof<Subscriptions>()));

/** A fresh table over a region full of junk, which reset must clear. */
function freshTable(): void {
  memory.fill(region, 0xee, SLOTS * SLOT_SIZE);
  table.reset(region, SLOTS);
}

/** put() with the filter given as text. */
function put(filter: string, qos: u32, packetId: u32, index: u32, state: u8): i32 {
  let bytes = utf8(filter);
  return table.put(place(bytes), bytes.length, qos, packetId, index, state);
}

/** find() with the filter given as text. */
function find(filter: string): i32 {
  let bytes = utf8(filter);
  return table.find(place(bytes), bytes.length);
}

beforeEach(resetFixtures);
beforeEach(freshTable);

describe("Subscriptions", () => {
  test("starts empty", () => {
    expect(table.used()).toBe(0);
    expect(table.hasRoom(SLOTS)).toBe(true);
    for (let i: u32 = 0; i < SLOTS; i++) expect(table.state(i)).toBe(SUBSCRIPTION_FREE, "slot " + i.toString());
    expect(find("a/b")).toBe(-1);
  });

  test("put records a filter with its request and find returns its slot", () => {
    let i = put("a/b", 1, 10, 0, SUBSCRIPTION_PENDING);
    expect(i).toBe(0);
    let slot = <u32>i;
    expect(table.state(slot)).toBe(SUBSCRIPTION_PENDING);
    expect(table.qos(slot)).toBe(1);
    expect(table.packetId(slot)).toBe(10);
    expect(table.index(slot)).toBe(0);
    expect(bytesAt(table.filterPtr(slot), table.filterLen(slot))).toStrictEqual(utf8("a/b"));
    let j = put("c/#", 2, 0xffff, 3, SUBSCRIPTION_SENT);
    expect(j).toBe(1);
    expect(table.packetId(<u32>j)).toBe(0xffff);
    expect(table.index(<u32>j)).toBe(3);
    expect(find("a/b")).toBe(i);
    expect(find("c/#")).toBe(j);
    expect(table.used()).toBe(2);
  });

  test("find matches the exact filter bytes only", () => {
    put("a/b", 0, 1, 0, SUBSCRIPTION_ACTIVE);
    expect(find("a/b")).toBe(0);
    expect(find("a")).toBe(-1, "prefix");
    expect(find("a/")).toBe(-1, "prefix with separator");
    expect(find("a/b/")).toBe(-1, "longer");
    expect(find("A/b")).toBe(-1, "case");
    expect(find("a/+")).toBe(-1, "a filter matching it is not the same filter");
  });

  test("put replaces the entry of an existing filter instead of taking a new slot", () => {
    put("x", 0, 1, 0, SUBSCRIPTION_ACTIVE);
    let first = put("a/b", 1, 10, 0, SUBSCRIPTION_ACTIVE);
    let again = put("a/b", 2, 11, 5, SUBSCRIPTION_PENDING);
    expect(again).toBe(first);
    expect(table.used()).toBe(2);
    expect(table.state(<u32>again)).toBe(SUBSCRIPTION_PENDING);
    expect(table.qos(<u32>again)).toBe(2);
    expect(table.packetId(<u32>again)).toBe(11);
    expect(table.index(<u32>again)).toBe(5);
  });

  test("SUBSCRIPTIONS_FULL when every slot is taken, but an existing filter is still replaced", () => {
    expect(put("a", 0, 1, 0, SUBSCRIPTION_ACTIVE)).toBe(0);
    expect(put("b", 0, 1, 1, SUBSCRIPTION_ACTIVE)).toBe(1);
    expect(put("c", 0, 1, 2, SUBSCRIPTION_ACTIVE)).toBe(2);
    expect(put("d", 0, 1, 3, SUBSCRIPTION_ACTIVE)).toBe(3);
    expect(put("e", 0, 2, 0, SUBSCRIPTION_PENDING)).toBe(SUBSCRIPTIONS_FULL);
    expect(find("e")).toBe(-1);
    expect(table.used()).toBe(SLOTS);
    expect(put("c", 1, 3, 0, SUBSCRIPTION_PENDING)).toBe(2, "replacing needs no free slot");
    expect(table.qos(2)).toBe(1);
  });

  test("a slot set free is used again and its old filter is gone", () => {
    put("a", 0, 1, 0, SUBSCRIPTION_ACTIVE);
    put("b", 0, 1, 1, SUBSCRIPTION_ACTIVE);
    put("c", 0, 1, 2, SUBSCRIPTION_ACTIVE);
    put("d", 0, 1, 3, SUBSCRIPTION_ACTIVE);
    table.setState(1, SUBSCRIPTION_FREE);
    expect(find("b")).toBe(-1);
    expect(table.used()).toBe(SLOTS - 1);
    expect(table.hasRoom(1)).toBe(true);
    expect(put("longer/filter", 2, 7, 0, SUBSCRIPTION_PENDING)).toBe(1);
    expect(find("longer/filter")).toBe(1);
    expect(bytesAt(table.filterPtr(1), table.filterLen(1))).toStrictEqual(utf8("longer/filter"));
    expect(table.hasRoom(1)).toBe(false);
  });

  test("used and hasRoom count every state but FREE", () => {
    put("a", 0, 1, 0, SUBSCRIPTION_PENDING);
    put("b", 0, 1, 1, UNSUBSCRIBE_SENT);
    expect(table.used()).toBe(2);
    expect(table.hasRoom(0)).toBe(true);
    expect(table.hasRoom(2)).toBe(true);
    expect(table.hasRoom(3)).toBe(false);
  });

  test("a filter of MAX_TOPIC_LENGTH bytes fits its slot without touching the next", () => {
    let longest = repeat(0x61, MAX_TOPIC_LENGTH);
    let i = table.put(place(longest), longest.length, 1, 1, 0, SUBSCRIPTION_PENDING);
    let j = put("b", 0, 2, 0, SUBSCRIPTION_PENDING);
    expect(bytesAt(table.filterPtr(<u32>i), table.filterLen(<u32>i))).toStrictEqual(longest);
    expect(table.filterLen(<u32>j)).toBe(1);
    expect(table.state(<u32>j)).toBe(SUBSCRIPTION_PENDING);
    expect(table.find(place(longest), longest.length)).toBe(i);
  });

  test("findRequest needs the packet id, the position and the state", () => {
    put("a", 1, 20, 0, SUBSCRIPTION_SENT);
    put("b", 1, 20, 1, SUBSCRIPTION_SENT);
    put("c", 1, 21, 0, SUBSCRIPTION_SENT);
    put("d", 1, 20, 2, UNSUBSCRIBE_SENT);
    expect(table.findRequest(20, 0, SUBSCRIPTION_SENT)).toBe(0);
    expect(table.findRequest(20, 1, SUBSCRIPTION_SENT)).toBe(1);
    expect(table.findRequest(21, 0, SUBSCRIPTION_SENT)).toBe(2);
    expect(table.findRequest(20, 2, UNSUBSCRIBE_SENT)).toBe(3);
    expect(table.findRequest(20, 2, SUBSCRIPTION_SENT)).toBe(-1, "wrong state");
    expect(table.findRequest(21, 1, SUBSCRIPTION_SENT)).toBe(-1, "wrong position");
    expect(table.findRequest(22, 0, SUBSCRIPTION_SENT)).toBe(-1, "unknown packet id");
  });

  test("requestSize counts the filters of one request in one state", () => {
    put("a", 1, 20, 0, SUBSCRIPTION_SENT);
    put("b", 1, 20, 1, SUBSCRIPTION_SENT);
    put("c", 1, 21, 0, SUBSCRIPTION_SENT);
    put("d", 1, 20, 0, UNSUBSCRIBE_SENT);
    expect(table.requestSize(20, SUBSCRIPTION_SENT)).toBe(2);
    expect(table.requestSize(21, SUBSCRIPTION_SENT)).toBe(1);
    expect(table.requestSize(20, UNSUBSCRIBE_SENT)).toBe(1);
    expect(table.requestSize(20, SUBSCRIPTION_PENDING)).toBe(0, "wrong state");
    expect(table.requestSize(22, SUBSCRIPTION_SENT)).toBe(0, "unknown packet id");
  });

  test("firstOfRequest returns the request's slot of lowest position, whatever the slot order", () => {
    put("a", 1, 21, 0, SUBSCRIPTION_PENDING);
    put("b", 1, 20, 2, SUBSCRIPTION_PENDING);
    put("c", 1, 20, 0, SUBSCRIPTION_PENDING);
    put("d", 1, 20, 1, SUBSCRIPTION_PENDING);
    expect(table.firstOfRequest(20, SUBSCRIPTION_PENDING)).toBe(2);
    table.setState(2, SUBSCRIPTION_SENT);
    expect(table.firstOfRequest(20, SUBSCRIPTION_PENDING)).toBe(3, "the next position once the first left the state");
    table.setState(3, SUBSCRIPTION_SENT);
    expect(table.firstOfRequest(20, SUBSCRIPTION_PENDING)).toBe(1);
    table.setState(1, SUBSCRIPTION_SENT);
    expect(table.firstOfRequest(20, SUBSCRIPTION_PENDING)).toBe(-1, "every filter sent");
    expect(table.firstOfRequest(21, SUBSCRIPTION_PENDING)).toBe(0, "another request is untouched");
  });

  test("moveRequest moves one request's slots in one state and no other", () => {
    put("a", 0, 7, 0, UNSUBSCRIBE_SENT);
    put("b", 0, 8, 0, UNSUBSCRIBE_SENT);
    put("c", 0, 7, 1, UNSUBSCRIBE_SENT);
    put("d", 0, 7, 0, SUBSCRIPTION_SENT);
    expect(table.moveRequest(7, UNSUBSCRIBE_SENT, SUBSCRIPTION_FREE)).toBe(2);
    expect(table.state(0)).toBe(SUBSCRIPTION_FREE);
    expect(table.state(1)).toBe(UNSUBSCRIBE_SENT);
    expect(table.state(2)).toBe(SUBSCRIPTION_FREE);
    expect(table.state(3)).toBe(SUBSCRIPTION_SENT);
    expect(table.moveRequest(7, UNSUBSCRIBE_SENT, SUBSCRIPTION_FREE)).toBe(0, "nothing left to move");
    expect(table.moveRequest(9, UNSUBSCRIBE_SENT, SUBSCRIPTION_FREE)).toBe(0, "unknown packet id");
  });

  test("moveAll moves every slot in one state and no other", () => {
    put("a", 0, 1, 0, SUBSCRIPTION_SENT);
    put("b", 0, 2, 0, SUBSCRIPTION_ACTIVE);
    put("c", 0, 3, 0, SUBSCRIPTION_SENT);
    put("d", 0, 4, 0, UNSUBSCRIBE_SENT);
    expect(table.moveAll(SUBSCRIPTION_SENT, SUBSCRIPTION_PENDING)).toBe(2);
    expect(table.state(0)).toBe(SUBSCRIPTION_PENDING);
    expect(table.state(1)).toBe(SUBSCRIPTION_ACTIVE);
    expect(table.state(2)).toBe(SUBSCRIPTION_PENDING);
    expect(table.state(3)).toBe(UNSUBSCRIBE_SENT);
    expect(table.moveAll(SUBSCRIPTION_SENT, SUBSCRIPTION_PENDING)).toBe(0, "nothing left to move");
    expect(table.moveAll(UNSUBSCRIBE_SENT, UNSUBSCRIBE_PENDING)).toBe(1);
    expect(table.state(3)).toBe(UNSUBSCRIBE_PENDING);
    expect(find("a")).toBe(0, "filters stay where they are");
  });

  test("holds is true for requests waiting to be sent or answered, not for ACTIVE or FREE slots", () => {
    put("a", 0, 1, 0, SUBSCRIPTION_PENDING);
    put("b", 0, 2, 0, SUBSCRIPTION_SENT);
    put("c", 0, 3, 0, UNSUBSCRIBE_PENDING);
    put("d", 0, 4, 0, UNSUBSCRIBE_SENT);
    expect(table.holds(1)).toBe(true, "SUBSCRIPTION_PENDING");
    expect(table.holds(2)).toBe(true, "SUBSCRIPTION_SENT");
    expect(table.holds(3)).toBe(true, "UNSUBSCRIBE_PENDING");
    expect(table.holds(4)).toBe(true, "UNSUBSCRIBE_SENT");
    expect(table.holds(5)).toBe(false, "unknown packet id");
    table.setState(1, SUBSCRIPTION_ACTIVE);
    expect(table.holds(2)).toBe(false, "SUBSCRIPTION_ACTIVE");
    table.setState(3, SUBSCRIPTION_FREE);
    expect(table.holds(4)).toBe(false, "SUBSCRIPTION_FREE");
  });

  test("assign renumbers a slot's request and keeps everything else", () => {
    put("a/+", 2, 1, 0, SUBSCRIPTION_PENDING);
    table.assign(0, 0x1234, 7);
    expect(table.packetId(0)).toBe(0x1234);
    expect(table.index(0)).toBe(7);
    expect(table.state(0)).toBe(SUBSCRIPTION_PENDING);
    expect(table.qos(0)).toBe(2);
    expect(bytesAt(table.filterPtr(0), table.filterLen(0))).toStrictEqual(utf8("a/+"));
    expect(table.findRequest(0x1234, 7, SUBSCRIPTION_PENDING)).toBe(0);
    expect(table.holds(1)).toBe(false, "the old packet id is gone");
  });
});
