// Specs for assembly/client.ts: the in-flight window (setInflightWindow) over a connected
// 3.1.1 session. The spec's `host` imports are no-ops and netSend takes nothing, so
// everything the client sends stays in the tx ring: what is there is what went on the wire.
import {
  client, tx, outbox, resetClient, configure, start, netUp, rxCommit, publish, setInflightWindow, STAGING_BASE, RX_BASE,
} from "../../assembly/client";
import { INFLIGHT_SLOTS } from "../../assembly/config";
import { INVALID_ARGUMENT } from "../../assembly/status";

/** A QoS 1 PUBLISH of topic "t", payload "p": fixed header, Remaining Length 6 (§3.3). */
const PUBLISH_SIZE: u32 = 8;

/** Feeds bytes to the client as received. */
function receive(bytes: u8[]): void {
  for (let i = 0; i < bytes.length; i++) store<u8>(RX_BASE + client.rxLength + i, bytes[i]);
  expect(rxCommit(bytes.length, 0)).toBe(0, "rxCommit");
}

/** A fresh client, connected (CONNECT in the tx ring, CONNACK accepted), with `window` set before it connects. */
function connected(window: u32): void {
  resetClient();
  store<u8>(STAGING_BASE, 0x63); // client id "c"
  expect(configure(1, 0, 0, 0, 0, 1, 0)).toBe(0, "configure");
  if (window != 0) expect(setInflightWindow(window, 0)).toBe(<i32>window, "window applied");
  expect(start(0)).toBe(0, "start");
  netUp(0);
  receive([0x20, 0x02, 0x00, 0x00]);
}

/** Queues count QoS 1 PUBLISHes of "t" / "p"; they get packet ids 1…count. */
function publishQos1(count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    store<u8>(STAGING_BASE, 0x74);
    store<u8>(STAGING_BASE, 0x70, 1);
    expect(publish(1, 1, 1, false, 0)).toBe(<i32>i + 1, "packet id");
  }
}

/** PUBLISHes in the tx ring after the CONNECT. */
function publishesOnWire(): u32 {
  return (tx.length - client.connectLength) / PUBLISH_SIZE;
}

function puback(packetId: u8): void {
  receive([0x40, 0x02, 0x00, packetId]);
}

describe("setInflightWindow", () => {
  it("sends only `window` QoS 1 PUBLISHes before their acknowledgements", () => {
    connected(3);
    publishQos1(10);
    expect(publishesOnWire()).toBe(3, "PUBLISHes sent");
    expect(outbox.inflight).toBe(3, "flows under way");
    puback(1);
    expect(publishesOnWire()).toBe(4, "one PUBACK lets one more go");
    expect(outbox.inflight).toBe(3, "still three under way");
  });

  it("defaults to the profile's in-flight slots", () => {
    connected(0);
    publishQos1(<u32>INFLIGHT_SLOTS + 4);
    expect(publishesOnWire()).toBe(<u32>INFLIGHT_SLOTS);
  });

  it("sends the queued PUBLISHes at once when the window grows", () => {
    connected(2);
    publishQos1(10);
    expect(publishesOnWire()).toBe(2, "before");
    expect(setInflightWindow(5, 0)).toBe(5);
    expect(publishesOnWire()).toBe(5, "after");
    expect(outbox.inflight).toBe(5);
  });

  it("lets the flows under way complete when the window shrinks", () => {
    connected(4);
    publishQos1(10);
    expect(setInflightWindow(2, 0)).toBe(2);
    expect(publishesOnWire()).toBe(4, "nothing is taken back");
    puback(1);
    puback(2);
    expect(publishesOnWire()).toBe(4, "two PUBACKs: still 2 under way, nothing new");
    puback(3);
    expect(publishesOnWire()).toBe(5, "below the window: one more");
  });

  it("refuses 0 and more than the slots, keeping the window", () => {
    connected(3);
    expect(setInflightWindow(0, 0)).toBe(INVALID_ARGUMENT, "0");
    expect(setInflightWindow(<u32>INFLIGHT_SLOTS + 1, 0)).toBe(INVALID_ARGUMENT, "slots + 1");
    expect(setInflightWindow(<u32>INFLIGHT_SLOTS, 0)).toBe(INFLIGHT_SLOTS, "slots");
    expect(setInflightWindow(3, 0)).toBe(3);
    publishQos1(5);
    expect(publishesOnWire()).toBe(3);
  });
});
