// Specs for assembly/persist.ts: the persistent block saved and restored through the
// client (half-finished flows resumed after the next CONNACK), the header checks, the
// generation counter, PUBRELs held until saved, and a torn save at every byte offset.
// The spec host's netSend takes nothing, so every packet the client sends stays in the tx
// ring, where the spec reads it; a test clears the ring before the packets it checks.
import {
  Client, client, tx, outbox, inboundQos2, subscriptions, resetClient, configure, start, netUp, rxSpace, rxCommit, publish,
  STAGING_BASE, RX_BASE, STATE_IDLE,
} from "../../assembly/client";
import { subscribe } from "../../assembly/requests";
import {
  persistBase, persistLength, persistGeneration, persistHoldPubrel, persistPrepare, persistCheck, persistRestore,
} from "../../assembly/persist";
import { RECORD_AWAIT_PUBACK, RECORD_AWAIT_PUBREC, RECORD_AWAIT_PUBCOMP, RECORD_QUEUED, RECORD_QUEUED_PUBREL } from "../../assembly/session";
import { SUBSCRIPTION_ACTIVE } from "../../assembly/subscriptions";
import { CRC32_START, crc32Update, crc32Final } from "../../assembly/crc32";
import { OK, INVALID_ARGUMENT, INVALID_STATE, PERSIST_CORRUPT, PERSIST_VERSION, PERSIST_PROFILE } from "../../assembly/status";
import { bytesAt } from "./support/bytes";

/** Room for one save image of the desktop profile (the specs' profile), per slot. */
// @ts-ignore: decorator
@inline const SLOT_CAPACITY: u32 = 24576;
const slotA = memory.data(SLOT_CAPACITY);
const slotB = memory.data(SLOT_CAPACITY);
const held = memory.data(SLOT_CAPACITY);

/** The bytes a packet is made of, staged in the receive buffer and committed at `now`. */
function receive(bytes: u8[], now: u32): i32 {
  let at = RX_BASE + client.rxLength;
  expect(<u32>bytes.length <= rxSpace()).toBe(true, "room in the receive buffer");
  for (let i = 0; i < bytes.length; i++) store<u8>(at + i, bytes[i]);
  return rxCommit(bytes.length, now);
}

/** configure() with client id "c", clean session 0 and a 60 s keepalive. */
function configureClient(): void {
  store<u8>(STAGING_BASE, 0x63);
  expect(configure(1, 0, 0, 0, 0, 0, 60)).toBe(OK, "configure");
}

/** start() and netUp() at `now`, then the CONNACK with this Session Present, after the tx ring is cleared of the CONNECT. */
function connect(now: u32, sessionPresent: bool): void {
  expect(start(now)).toBe(OK, "start");
  netUp(now);
  tx.clear();
  expect(receive([0x20, 0x02, sessionPresent ? 1 : 0, 0x00], now)).toBe(OK, "CONNACK");
}

/** Queues a PUBLISH of payload "x" to topic "t" at this QoS; returns its packet id. */
function publishOne(qos: u32, now: u32): i32 {
  store<u8>(STAGING_BASE, 0x74);
  store<u8>(STAGING_BASE + 1, 0x78);
  return publish(1, 1, qos, false, now);
}

/** The bytes the client sent since the tx ring was last cleared. */
function sentBytes(): u8[] {
  return bytesAt(tx.base + tx.head, tx.length);
}

/** A fresh client (init()), configured, not started. */
function freshClient(): void {
  resetClient();
  persistHoldPubrel(0);
  configureClient();
}

/** persistPrepare(), then the image copied to `slot`. Returns its sequence number. */
function save(slot: usize): i32 {
  let sequence = persistPrepare();
  memory.copy(slot, persistBase(), persistLength());
  return sequence;
}

/** A reboot: init(), then the image in `slot` copied into the block and restored at `now`. */
function reboot(slot: usize, now: u32): i32 {
  resetClient();
  memory.copy(persistBase(), slot, persistLength());
  return persistRestore(now);
}

/** Writes the image's CRC-32 again after a test patched its header, as a genuine image of that header would have it. */
function resealCrc(slot: usize): void {
  let crc = crc32Update(CRC32_START, slot, 16);
  crc = crc32Update(crc, slot + 20, persistLength() - 20);
  store<u32>(slot, crc32Final(crc), 16);
}

/** True when the client holds nothing: as after init(). */
function isEmpty(): bool {
  return outbox.used == 0 && inboundQos2.used == 0 && subscriptions.used() == 0 && client.connectLength == 0;
}

describe("CRC-32", () => {
  test("is the IEEE CRC-32 of zlib: 0xcbf43926 for \"123456789\"", () => {
    let digits = memory.data<u8>([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]);
    expect(crc32Final(crc32Update(CRC32_START, digits, 9))).toBe(0xcbf43926);
  });
  test("runs on in pieces: two updates give the CRC of the whole", () => {
    let digits = memory.data<u8>([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]);
    expect(crc32Final(crc32Update(crc32Update(CRC32_START, digits, 4), digits + 4, 5))).toBe(0xcbf43926);
  });
});

describe("persistPrepare", () => {
  test("writes the header: magic, layout version, profile, length, sequence, CRC-32", () => {
    freshClient();
    expect(persistPrepare()).toBe(1, "the first save after init() is sequence 1");
    let base = persistBase();
    expect(bytesAt(base, 4)).toStrictEqual([0x57, 0x51, 0x50, 0x53], "magic \"WQPS\"");
    expect(load<u16>(base, 4)).toBe(1, "layout version");
    expect(load<u16>(base, 6)).toBe(1, "profile: desktop");
    expect(load<u32>(base, 8)).toBe(persistLength(), "length");
    expect(load<u32>(base, 12)).toBe(1, "sequence");
    let crc = crc32Update(CRC32_START, base, 16);
    expect(load<u32>(base, 16)).toBe(crc32Final(crc32Update(crc, base + 20, persistLength() - 20)), "CRC-32");
    expect(persistPrepare()).toBe(2, "each save raises the sequence");
  });
  test("persistCheck returns the sequence of a saved image, in place or copied", () => {
    freshClient();
    persistPrepare();
    let sequence = save(slotA);
    expect(persistCheck(persistBase(), persistLength())).toBe(sequence);
    expect(persistCheck(slotA, persistLength())).toBe(sequence);
  });
  test("a restored image's next save follows its sequence (the other slot)", () => {
    freshClient();
    for (let i = 0; i < 4; i++) persistPrepare();
    let sequence = save(slotA);
    expect(reboot(slotA, 0)).toBe(OK);
    expect(persistPrepare()).toBe(sequence + 1);
  });
});

describe("persistRestore: half-finished flows resume after the next CONNACK", () => {
  test("QoS 1 awaiting PUBACK: the PUBLISH again with DUP, then the PUBACK ends it", () => {
    freshClient();
    connect(0, false);
    let id = publishOne(1, 10);
    expect(outbox.state(<u32>outbox.first())).toBe(RECORD_AWAIT_PUBACK);
    save(slotA);
    expect(reboot(slotA, 500000)).toBe(OK);
    expect(client.state).toBe(STATE_IDLE, "idle until start()");
    expect(client.phaseStartedAt).toBe(500000, "the connection's timers start on the new clock");
    connect(500000, true);
    expect(sentBytes()).toStrictEqual([0x3a, 0x06, 0x00, 0x01, 0x74, 0x00, <u8>id, 0x78], "PUBLISH QoS 1 DUP");
    expect(receive([0x40, 0x02, 0x00, <u8>id], 500001)).toBe(OK, "PUBACK");
    expect(outbox.used).toBe(0, "the flow ended");
  });
  test("QoS 2 awaiting PUBREC: the PUBLISH again with DUP", () => {
    freshClient();
    connect(0, false);
    let id = publishOne(2, 10);
    expect(outbox.state(<u32>outbox.first())).toBe(RECORD_AWAIT_PUBREC);
    save(slotA);
    expect(reboot(slotA, 7)).toBe(OK);
    connect(7, true);
    expect(sentBytes()).toStrictEqual([0x3c, 0x06, 0x00, 0x01, 0x74, 0x00, <u8>id, 0x78], "PUBLISH QoS 2 DUP");
  });
  test("QoS 2 awaiting PUBCOMP: the PUBREL again, not the PUBLISH; the PUBCOMP ends it", () => {
    freshClient();
    connect(0, false);
    let id = publishOne(2, 10);
    expect(receive([0x50, 0x02, 0x00, <u8>id], 11)).toBe(OK, "PUBREC");
    expect(outbox.state(<u32>outbox.first())).toBe(RECORD_AWAIT_PUBCOMP, "PUBREL sent");
    save(slotA);
    expect(reboot(slotA, 20)).toBe(OK);
    connect(20, true);
    expect(sentBytes()).toStrictEqual([0x62, 0x02, 0x00, <u8>id], "PUBREL");
    expect(receive([0x70, 0x02, 0x00, <u8>id], 21)).toBe(OK, "PUBCOMP");
    expect(outbox.used).toBe(0, "the flow ended");
  });
  test("queued while offline: QoS 1 and QoS 2 sent once connected, in order, without DUP", () => {
    freshClient();
    let first = publishOne(1, 0);
    let second = publishOne(2, 0);
    expect(outbox.state(<u32>outbox.first())).toBe(RECORD_QUEUED);
    save(slotA);
    expect(reboot(slotA, 3)).toBe(OK);
    expect(client.connectLength).toBeGreaterThan(0, "the CONNECT was restored: no configure() needed");
    connect(3, false);
    expect(sentBytes()).toStrictEqual([
      0x32, 0x06, 0x00, 0x01, 0x74, 0x00, <u8>first, 0x78,
      0x34, 0x06, 0x00, 0x01, 0x74, 0x00, <u8>second, 0x78,
    ], "both PUBLISHes");
    expect(publishOne(1, 4)).toBe(second + 1 + 2 * <i32>client.inflightWindow, "packet ids go on past the saved next id, skipping twice the window");
  });
  test("inbound QoS 2 awaiting PUBREL: the broker's resend is answered, not delivered again", () => {
    freshClient();
    connect(0, false);
    expect(receive([0x34, 0x06, 0x00, 0x01, 0x74, 0x00, 0x09, 0x78], 1)).toBe(OK, "PUBLISH QoS 2 id 9");
    expect(client.messagesDelivered).toBe(1);
    save(slotA);
    expect(reboot(slotA, 2)).toBe(OK);
    expect(inboundQos2.holds(9)).toBe(true, "the id is still held");
    connect(2, true);
    expect(receive([0x3c, 0x06, 0x00, 0x01, 0x74, 0x00, 0x09, 0x78], 3)).toBe(OK, "the resend, DUP");
    expect(client.messagesDelivered).toBe(1, "not delivered again");
    expect(sentBytes()).toStrictEqual([0x50, 0x02, 0x00, 0x09], "PUBREC");
    expect(receive([0x62, 0x02, 0x00, 0x09], 4)).toBe(OK, "PUBREL");
    expect(inboundQos2.holds(9)).toBe(false, "released");
  });
  test("a granted subscription is subscribed again when the broker kept no session", () => {
    freshClient();
    connect(0, false);
    store<u16>(STAGING_BASE, 1);
    store<u8>(STAGING_BASE + 2, 0x74);
    store<u8>(STAGING_BASE + 3, 1);
    let id = subscribe(1, 1);
    expect(receive([0x90, 0x03, 0x00, <u8>id, 0x01], 2)).toBe(OK, "SUBACK");
    expect(subscriptions.state(0)).toBe(SUBSCRIPTION_ACTIVE);
    save(slotA);
    expect(reboot(slotA, 3)).toBe(OK);
    connect(3, false);
    let again = sentBytes();
    expect(again.length).toBe(8, "one SUBSCRIBE");
    expect(again[0]).toBe(0x82, "SUBSCRIBE");
    expect(bytesAt(tx.base + tx.head + 4, 4)).toStrictEqual([0x00, 0x01, 0x74, 0x01], "filter \"t\", QoS 1");
  });
});

describe("persistRestore: a bad image starts the client empty and says why", () => {
  test("a changed byte: PERSIST_CORRUPT", () => {
    freshClient();
    publishOne(1, 0);
    save(slotA);
    store<u8>(slotA + persistLength() - 1, load<u8>(slotA + persistLength() - 1) ^ 0x10);
    expect(reboot(slotA, 0)).toBe(PERSIST_CORRUPT);
    expect(isEmpty()).toBe(true);
    configureClient();
    connect(1, false);
    expect(publishOne(1, 2)).toBe(1, "and the client works");
  });
  test("a changed CRC field: PERSIST_CORRUPT", () => {
    freshClient();
    save(slotA);
    store<u32>(slotA, load<u32>(slotA, 16) + 1, 16);
    expect(reboot(slotA, 0)).toBe(PERSIST_CORRUPT);
  });
  test("no image at all (zeros, or a bad magic): PERSIST_CORRUPT", () => {
    freshClient();
    memory.fill(slotA, 0, persistLength());
    expect(reboot(slotA, 0)).toBe(PERSIST_CORRUPT);
    expect(isEmpty()).toBe(true);
  });
  test("another layout version: PERSIST_VERSION", () => {
    freshClient();
    publishOne(1, 0);
    save(slotA);
    store<u16>(slotA, 2, 4);
    resealCrc(slotA);
    expect(reboot(slotA, 0)).toBe(PERSIST_VERSION);
    expect(isEmpty()).toBe(true);
  });
  test("another profile: PERSIST_PROFILE", () => {
    freshClient();
    publishOne(1, 0);
    save(slotA);
    store<u16>(slotA, 3, 6);
    resealCrc(slotA);
    expect(reboot(slotA, 0)).toBe(PERSIST_PROFILE);
    expect(isEmpty()).toBe(true);
  });
  test("another length in the header: PERSIST_VERSION (another build)", () => {
    freshClient();
    publishOne(1, 0);
    save(slotA);
    store<u32>(slotA, persistLength() - 4, 8);
    expect(reboot(slotA, 0)).toBe(PERSIST_VERSION);
    expect(isEmpty()).toBe(true);
  });
  test("persistCheck of another length or outside static memory: INVALID_ARGUMENT", () => {
    freshClient();
    save(slotA);
    expect(persistCheck(slotA, persistLength() - 1)).toBe(INVALID_ARGUMENT);
    expect(persistCheck(<usize>0xffff0000, persistLength())).toBe(INVALID_ARGUMENT);
  });
  test("tables that do not hold together, under a valid CRC: PERSIST_CORRUPT", () => {
    freshClient();
    publishOne(1, 0);
    persistPrepare();
    outbox.used += 8; // a crafted image: the records no longer add up
    save(slotA);
    expect(reboot(slotA, 0)).toBe(PERSIST_CORRUPT);
    expect(isEmpty()).toBe(true);
  });
  test("an in-flight window of 0 or above the slots, under a valid CRC: PERSIST_CORRUPT", () => {
    freshClient();
    save(slotA);
    store<u32>(slotA + (<usize>changetype<usize>(client) - persistBase()) + offsetof<Client>("inflightWindow"), 0);
    resealCrc(slotA);
    expect(reboot(slotA, 0)).toBe(PERSIST_CORRUPT);
    freshClient();
    save(slotA);
    store<u32>(slotA + (<usize>changetype<usize>(client) - persistBase()) + offsetof<Client>("inflightWindow"), 1000);
    resealCrc(slotA);
    expect(reboot(slotA, 0)).toBe(PERSIST_CORRUPT);
    expect(isEmpty()).toBe(true);
  });
  test("restoring into a running client: INVALID_STATE, and it starts empty", () => {
    freshClient();
    publishOne(1, 0);
    save(slotA);
    connect(0, false);
    memory.copy(persistBase(), slotA, persistLength());
    expect(persistRestore(1)).toBe(INVALID_STATE);
    expect(client.state).toBe(STATE_IDLE);
    expect(isEmpty()).toBe(true);
  });
});

describe("packet ids after a restore", () => {
  test("skip twice the in-flight slots past the saved next id: the broker may hold the ids of flows lost since the save", () => {
    freshClient();
    let first = publishOne(1, 0);
    save(slotA);
    publishOne(2, 1); // accepted after the save: lost with the power, its id perhaps held by the broker
    expect(reboot(slotA, 0)).toBe(OK);
    expect(publishOne(2, 2)).toBe(first + 1 + 2 * <i32>client.inflightWindow, "the next id skips the window twice over");
  });
  test("the skip wraps past 65535 without using 0", () => {
    freshClient();
    client.nextPacketId = 0xfffe;
    save(slotA);
    expect(reboot(slotA, 0)).toBe(OK);
    expect(publishOne(1, 0)).toBe(0xfffe + 2 * <i32>client.inflightWindow - 0xffff);
  });
});

describe("persistGeneration", () => {
  test("moves when the session changes, not for what a save need not catch", () => {
    freshClient();
    connect(0, false);
    let g = persistGeneration();
    let id = publishOne(1, 1);
    expect(persistGeneration()).not.toBe(g, "a PUBLISH accepted");
    g = persistGeneration();
    receive([0x30, 0x04, 0x00, 0x01, 0x74, 0x78], 2);
    receive([0xd0, 0x00], 2);
    expect(persistGeneration()).toBe(g, "a QoS 0 message and a PINGRESP change nothing");
    receive([0x40, 0x02, 0x00, <u8>id], 3);
    expect(persistGeneration()).not.toBe(g, "a PUBACK released the record");
    g = persistGeneration();
    let id2 = publishOne(2, 4);
    g = persistGeneration();
    receive([0x50, 0x02, 0x00, <u8>id2], 5);
    expect(persistGeneration()).not.toBe(g, "PUBREC: a PUBREL is owed");
    g = persistGeneration();
    receive([0x34, 0x06, 0x00, 0x01, 0x74, 0x00, 0x09, 0x78], 6);
    expect(persistGeneration()).not.toBe(g, "an inbound QoS 2 id held");
    g = persistGeneration();
    receive([0x62, 0x02, 0x00, 0x09], 7);
    expect(persistGeneration()).not.toBe(g, "an inbound QoS 2 id released");
    g = persistGeneration();
    store<u16>(STAGING_BASE, 1);
    store<u8>(STAGING_BASE + 2, 0x74);
    store<u8>(STAGING_BASE + 3, 0);
    subscribe(1, 8);
    expect(persistGeneration()).not.toBe(g, "a subscription asked for");
  });
});

describe("persistHoldPubrel", () => {
  test("holds a PUBREL until the PUBREC that owes it is saved", () => {
    freshClient();
    persistHoldPubrel(1);
    connect(0, false);
    let id = publishOne(2, 1);
    tx.clear();
    receive([0x50, 0x02, 0x00, <u8>id], 2);
    expect(tx.length).toBe(0, "no PUBREL before the save");
    expect(outbox.state(<u32>outbox.first())).toBe(RECORD_QUEUED_PUBREL);
    persistPrepare();
    receive([0xd0, 0x00], 3); // any call after the save sends it
    expect(sentBytes()).toStrictEqual([0x62, 0x02, 0x00, <u8>id], "PUBREL after the save");
  });
  test("off, the PUBREL goes at once", () => {
    freshClient();
    connect(0, false);
    let id = publishOne(2, 1);
    tx.clear();
    receive([0x50, 0x02, 0x00, <u8>id], 2);
    expect(sentBytes()).toStrictEqual([0x62, 0x02, 0x00, <u8>id]);
  });
});

describe("torn saves (two slots, the newest valid one restored)", () => {
  test("a save cut at every byte offset restores the old state or the whole new one, never a mix", () => {
    // slot B: an older save (one PUBLISH queued); slot A: the last complete save (two);
    // the next save (three) goes to slot B again and is cut after k bytes
    freshClient();
    publishOne(1, 0);
    let older = save(slotB);
    publishOne(1, 0);
    let last = save(slotA);
    publishOne(1, 0);
    let next = persistPrepare();
    memory.copy(held, persistBase(), persistLength());
    expect(older & 1).toBe(next & 1, "the new save overwrites the older slot");
    let len = persistLength();
    let mixed = 0;
    let wrong = 0;
    let wholeCuts = 0;
    for (let k: u32 = 0; k <= len; k++) {
      if (k > 0) store<u8>(slotB + k - 1, load<u8>(held + k - 1)); // the first k bytes are the new save's
      let a = persistCheck(slotA, len);
      let b = persistCheck(slotB, len);
      // the newer of the slots that check (31-bit sequence numbers, one apart)
      let pick = b >= 0 && (a < 0 || ((<u32>(b - a)) & 0x7fffffff) < 0x40000000) ? slotB : slotA;
      // a cut whose remaining old bytes equal the new save's is the whole new save
      let whole = memory.compare(slotB + k, held + k, len - k) == 0;
      if (!whole && (pick != slotA || a != last)) wrong++;
      if (whole && (pick != slotB || b != next)) wrong++;
      if (whole) wholeCuts++;
      if (b >= 0 && b != older && b != next) mixed++;
    }
    expect(wrong).toBe(0, "cuts that chose another slot than the last complete save");
    expect(mixed).toBe(0, "cuts that checked as neither save");
    expect(wholeCuts).toBeLessThan(64, "nearly every cut leaves a torn slot (only the last bytes can match)");
    // and what the choice restores: the last complete save's state, or the whole new one
    memory.copy(slotB, held, len - 1);
    expect(reboot(slotA, 0)).toBe(OK);
    expect(client.messagesPublished).toBe(2, "the last complete save");
    expect(outbox.used).toBe(2 * (8 + 8), "its two records");
    memory.copy(slotB, held, len);
    expect(reboot(slotB, 0)).toBe(OK);
    expect(client.messagesPublished).toBe(3, "the whole new save");
    expect(outbox.used).toBe(3 * (8 + 8), "its three records");
  });
});
