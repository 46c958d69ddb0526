// Specs for assembly/requests.ts: a SUBSCRIBE or UNSUBSCRIBE that repeats a request still
// awaiting its answer joins it (the same packet id, nothing recorded again), anything else
// about a filter awaiting an answer is INVALID_STATE. Over a 3.1.1 client; the spec's `host`
// imports are no-ops and netSend takes nothing, so what the client sends stays in the tx ring.
import { client, tx, subscriptions, resetClient, configure, start, netUp, rxCommit, STAGING_BASE, RX_BASE } from "../../assembly/client";
import { subscribe, unsubscribe } from "../../assembly/requests";
import { SUBSCRIPTION_PENDING, SUBSCRIPTION_SENT, SUBSCRIPTION_ACTIVE, UNSUBSCRIBE_SENT } from "../../assembly/subscriptions";
import { OK, INVALID_STATE } from "../../assembly/status";

/** Feeds bytes to the client as received. */
function receive(bytes: u8[]): void {
  for (let i = 0; i < bytes.length; i++) store<u8>(RX_BASE + client.rxLength + i, bytes[i]);
  expect(rxCommit(bytes.length, 0)).toBe(OK, "rxCommit");
}

/** A fresh client, configured (client id "c"), not started. */
function offline(): void {
  resetClient();
  store<u8>(STAGING_BASE, 0x63);
  expect(configure(1, 0, 0, 0, 0, 1, 0)).toBe(OK, "configure");
}

/** Connects the client (CONNACK accepted, no session); the tx ring then holds what the CONNACK sent. */
function connect(): void {
  expect(start(0)).toBe(OK, "start");
  netUp(0);
  tx.clear();
  receive([0x20, 0x02, 0x00, 0x00]);
}

/** Stages one-byte filters ("a", "b", …: the bytes of `filters`), each with `qos` when subscribing. */
function stage(filters: u8[], subscribing: bool, qos: u8): void {
  let at = STAGING_BASE;
  for (let i = 0; i < filters.length; i++) {
    store<u16>(at, 1);
    store<u8>(at + 2, filters[i]);
    at += 3;
    if (subscribing) store<u8>(at++, qos);
  }
}

function subscribeTo(filters: u8[], qos: u8): i32 {
  stage(filters, true, qos);
  return subscribe(filters.length, 0);
}

function unsubscribeFrom(filters: u8[]): i32 {
  stage(filters, false, 0);
  return unsubscribe(filters.length, 0);
}

const A: u8 = 0x61;
const B: u8 = 0x62;

describe("subscribe: a request awaiting its SUBACK", () => {
  test("repeated exactly before it is sent: joined, its packet id, nothing recorded again", () => {
    offline();
    let id = subscribeTo([A, B], 1);
    expect(id).toBeGreaterThan(0, "packet id");
    expect(subscribeTo([A, B], 1)).toBe(id, "the same request joined");
    expect(subscriptions.used()).toBe(2, "two slots");
    expect(subscriptions.requestSize(<u32>id, SUBSCRIPTION_PENDING)).toBe(2, "one request of two filters");
    connect();
    expect(tx.length).toBe(2 + 2 + 3 + 1 + 3 + 1, "one SUBSCRIBE of both filters");
  });

  test("repeated exactly after it was sent: joined", () => {
    offline();
    connect();
    let id = subscribeTo([A], 2);
    expect(subscriptions.state(0)).toBe(SUBSCRIPTION_SENT, "sent");
    let sent = tx.length;
    expect(subscribeTo([A], 2)).toBe(id, "joined");
    expect(tx.length).toBe(sent, "nothing sent again");
    receive([0x90, 0x03, 0x00, <u8>id, 0x02]);
    expect(subscriptions.state(0)).toBe(SUBSCRIPTION_ACTIVE, "granted once");
  });

  test("the same filter with another QoS: INVALID_STATE, the request unchanged", () => {
    offline();
    let id = subscribeTo([A], 1);
    expect(subscribeTo([A], 2)).toBe(INVALID_STATE, "another QoS");
    expect(subscriptions.qos(0)).toBe(1, "QoS kept");
    expect(subscriptions.packetId(0)).toBe(<u32>id, "packet id kept");
  });

  test("part of the request, more than it, or its filters in another order: INVALID_STATE", () => {
    offline();
    subscribeTo([A, B], 0);
    expect(subscribeTo([A], 0)).toBe(INVALID_STATE, "one filter of two");
    expect(subscribeTo([B, A], 0)).toBe(INVALID_STATE, "another order");
    expect(subscribeTo([A, B, 0x63], 0)).toBe(INVALID_STATE, "a third filter");
    expect(subscriptions.used()).toBe(2, "nothing recorded");
  });

  test("a filter awaiting its UNSUBACK: INVALID_STATE", () => {
    offline();
    connect();
    let id = subscribeTo([A], 1);
    receive([0x90, 0x03, 0x00, <u8>id, 0x01]);
    unsubscribeFrom([A]);
    expect(subscribeTo([A], 1)).toBe(INVALID_STATE);
  });
});

describe("unsubscribe: a request awaiting its UNSUBACK", () => {
  test("repeated exactly: joined; one UNSUBACK frees the filter", () => {
    offline();
    connect();
    let id = subscribeTo([A], 1);
    receive([0x90, 0x03, 0x00, <u8>id, 0x01]);
    let unsubscribed = unsubscribeFrom([A]);
    expect(unsubscribed).toBeGreaterThan(0, "packet id");
    expect(subscriptions.state(0)).toBe(UNSUBSCRIBE_SENT, "sent");
    expect(unsubscribeFrom([A])).toBe(unsubscribed, "joined");
    receive([0xb0, 0x02, 0x00, <u8>unsubscribed]);
    expect(subscriptions.used()).toBe(0, "freed");
  });

  test("a filter awaiting its SUBACK: INVALID_STATE", () => {
    offline();
    subscribeTo([A], 1);
    expect(unsubscribeFrom([A])).toBe(INVALID_STATE);
  });
});
