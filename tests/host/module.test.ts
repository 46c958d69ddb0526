/**
 * The module's state machine on a virtual clock and network (support/module-bench.ts):
 * keepalive, timeouts and backoff to the millisecond, across the 32-bit wrap; the
 * outbox, in-flight limit and resend after reconnect; the receive path under any
 * chunking and bad input. No broker: the bytes the module sends are checked exactly.
 * Reads build/, so the build runs first (`npm test` does that).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Event, ModuleBench, Stat, Status } from "./support/module-bench.ts";
import {
  PacketType,
  type Packet,
  concat,
  connack,
  packet,
  packetIdOf,
  parsePublish,
  pingresp,
  puback,
  pubcomp,
  publish,
  pubrec,
  pubrel,
  parseSubscribe,
  suback,
  unsuback,
} from "./support/mqtt-packets.ts";

const STATE_CONNECTED = 3;
/** The packet identifier of any packet that has one (PUBLISH keeps it after the topic). */
const idOf = (p: Packet): number => (p.type === PacketType.PUBLISH ? parsePublish(p).packetId ?? 0 : packetIdOf(p));
const STATE_BACKOFF = 4;
const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 3000;

/** A bench connected and accepted by the broker (CONNACK received). */
function connected(options: { profile?: string; startAt?: number; keepaliveSec?: number; flags?: number } = {}): ModuleBench {
  const bench = new ModuleBench(options.profile, options.startAt);
  assert.equal(bench.exports.setReconnect(RECONNECT_MIN_MS, RECONNECT_MAX_MS, 1), Status.OK);
  bench.connectTo({ keepaliveSec: options.keepaliveSec, flags: options.flags });
  assert.equal(bench.receive(connack(false, 0)), Status.OK);
  assert.equal(bench.stat(Stat.state), STATE_CONNECTED);
  return bench;
}

/** Lets a lost connection's backoff run out and accepts the new connection. */
function reconnect(bench: ModuleBench, sessionPresent: boolean): void {
  const backoff = bench.eventsOf(Event.BACKOFF).at(-1);
  assert.ok(backoff, "no BACKOFF event");
  bench.advance(backoff.arg);
  bench.exports.netUp(bench.now);
  assert.equal(bench.receive(connack(sessionPresent, 0)), Status.OK);
}

describe("keepalive", () => {
  it("sends PINGREQ after a keepalive period of silence and treats a missing PINGRESP as a dead connection", () => {
    const bench = connected({ keepaliveSec: 2 });
    bench.advance(1999);
    assert.equal(bench.sentOfType(PacketType.PINGREQ).length, 0, "PINGREQ before the keepalive period");
    bench.advance(1);
    assert.equal(bench.sentOfType(PacketType.PINGREQ).length, 1);
    bench.receive(pingresp());
    bench.advance(2000);
    assert.equal(bench.sentOfType(PacketType.PINGREQ).length, 2, "a second idle period pings again");
    bench.advance(1999);
    assert.equal(bench.eventsOf(Event.CONNECTION_LOST).length, 0);
    bench.advance(1);
    const lost = bench.eventsOf(Event.CONNECTION_LOST);
    assert.deepEqual(lost.map((e) => e.code), [Status.KEEPALIVE_TIMEOUT]);
    assert.equal(bench.netCloses, 1);
    assert.equal(bench.stat(Stat.state), STATE_BACKOFF);
  });

  it("pings a broker that stays silent while the client keeps publishing (half-open connection)", () => {
    const bench = connected({ keepaliveSec: 1 });
    for (let i = 0; i < 6; i++) {
      bench.advance(400);
      bench.publish("t", "x", 0);
    }
    assert.ok(bench.sentOfType(PacketType.PINGREQ).length >= 1, "no PINGREQ although nothing came back");
    assert.deepEqual(bench.eventsOf(Event.CONNECTION_LOST).map((e) => e.code), [Status.KEEPALIVE_TIMEOUT]);
  });

  it("keeps exact time across the 32-bit millisecond wrap", () => {
    const bench = connected({ keepaliveSec: 1, startAt: 2 ** 32 - 300 });
    bench.advance(999);
    assert.equal(bench.sentOfType(PacketType.PINGREQ).length, 0);
    bench.advance(1);
    assert.ok(bench.now < 1000, "the clock did not wrap");
    assert.equal(bench.sentOfType(PacketType.PINGREQ).length, 1);
    bench.advance(999);
    bench.receive(pingresp());
    bench.advance(1000);
    assert.equal(bench.eventsOf(Event.CONNECTION_LOST).length, 0, "a wrap looked like a timeout");
  });
});

describe("connecting and backoff", () => {
  it("times out a connection that never gets its CONNACK", () => {
    const bench = new ModuleBench("desktop", 2 ** 32 - 100);
    assert.equal(bench.exports.setTimeouts(500), Status.OK);
    bench.connectTo();
    bench.advance(499);
    assert.equal(bench.eventsOf(Event.CONNECT_FAILED).length, 0);
    bench.advance(1);
    assert.deepEqual(bench.eventsOf(Event.CONNECT_FAILED).map((e) => e.code), [Status.CONNECT_TIMEOUT]);
  });

  it("backs off exponentially with jitter, always within [min, max], and resets after a CONNACK", () => {
    const bench = new ModuleBench();
    assert.equal(bench.exports.setReconnect(RECONNECT_MIN_MS, RECONNECT_MAX_MS, 1), Status.OK);
    bench.connectTo();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 12; attempt++) {
      bench.exports.netDown(bench.now, 0);
      const backoff = bench.eventsOf(Event.BACKOFF).at(-1)!;
      delays.push(backoff.arg);
      bench.advance(backoff.arg - 1);
      assert.equal(bench.netOpens, attempt, `attempt ${attempt} opened before its delay`);
      bench.advance(1);
      assert.equal(bench.netOpens, attempt + 1, `attempt ${attempt} did not open after its delay`);
    }
    for (const delay of delays) assert.ok(delay >= RECONNECT_MIN_MS && delay <= RECONNECT_MAX_MS, `delay ${delay}`);
    assert.ok(delays[0] <= 2 * RECONNECT_MIN_MS, `first delay ${delays[0]}`);
    assert.ok(delays.slice(-4).every((d) => d >= RECONNECT_MAX_MS / 2), `late delays ${delays.slice(-4)}`);
    assert.equal(new Set(delays.slice(-4)).size > 1, true, "no jitter");
    bench.exports.netUp(bench.now);
    bench.receive(connack(false, 0));
    bench.exports.netDown(bench.now, 0);
    assert.ok(bench.eventsOf(Event.BACKOFF).at(-1)!.arg <= 2 * RECONNECT_MIN_MS, "backoff not reset by CONNACK");
  });

  it("reports a CONNACK refusal with its return code and stays down when reconnect is off", () => {
    const bench = new ModuleBench();
    assert.equal(bench.exports.setReconnect(100, 100, 0), Status.OK);
    bench.connectTo();
    bench.receive(connack(false, 2));
    assert.deepEqual(bench.eventsOf(Event.CONNECT_FAILED).map((e) => [e.code, e.arg]), [[-22, 2]]);
    assert.equal(bench.eventsOf(Event.CLOSED).length, 1);
    bench.advance(10_000);
    assert.equal(bench.netOpens, 1, "reconnected although reconnect is off");
  });

  it("keeps reconnecting for every non-zero enabled of setReconnect, 0x100 included (a bool argument kept only its low byte)", () => {
    for (const enabled of [1, 0x100, 0x10000, 0x80000000]) {
      const bench = new ModuleBench();
      assert.equal(bench.exports.setReconnect(100, 100, enabled), Status.OK);
      bench.connectTo();
      bench.exports.netDown(bench.now, 0);
      assert.equal(bench.eventsOf(Event.CLOSED).length, 0, `enabled 0x${enabled.toString(16)} closed for good`);
      bench.advance(100);
      assert.equal(bench.netOpens, 2, `enabled 0x${enabled.toString(16)}: no reconnect`);
    }
  });

  it("refuses bad settings with a status", () => {
    const bench = new ModuleBench();
    assert.equal(bench.exports.setReconnect(0, 10, 1), Status.INVALID_ARGUMENT);
    assert.equal(bench.exports.setReconnect(500, 100, 1), Status.INVALID_ARGUMENT);
    assert.equal(bench.exports.start(0), Status.INVALID_STATE, "start before configure");
    bench.stage(new TextEncoder().encode("idw/+"));
    assert.equal(bench.exports.configure(2, 0, 0, 3, 0, 1 | 8, 0), Status.INVALID_TOPIC, "will topic with a wildcard");
    assert.equal(bench.exports.configure(2, 0, 3, 0, 0, 1 | 4, 0), Status.INVALID_ARGUMENT, "password without username");
    assert.equal(bench.exports.configure(2, 0, 0, 0, 0, 1 | 8 | 96, 0), Status.INVALID_QOS, "will QoS 3");
  });
});

describe("outbox and resend", () => {
  it("holds publishes made offline and rejects with OUTBOX_FULL when full, losing none it accepted", () => {
    const bench = new ModuleBench("nodemcu");
    bench.exports.setReconnect(100, 100, 1);
    const payload = new Uint8Array(100).fill(7);
    const accepted: number[] = [];
    let status = 0;
    for (let i = 0; i < 100 && status >= 0; i++) {
      status = bench.publish(`q/${i}`, payload, 1);
      if (status > 0) accepted.push(i);
    }
    assert.equal(status, Status.OUTBOX_FULL);
    assert.equal(bench.stat(Stat.outboxRejected), 1);
    assert.ok(accepted.length >= 20, `only ${accepted.length} fit`);
    bench.connectTo();
    bench.receive(connack(false, 0));
    const seen: string[] = [];
    while (seen.length < accepted.length) {
      const fresh = bench.sentOfType(PacketType.PUBLISH).slice(seen.length);
      assert.ok(fresh.length > 0, `stalled after ${seen.length}`);
      for (const p of fresh) {
        seen.push(parsePublish(p).topic);
        bench.receive(puback(idOf(p)));
      }
    }
    assert.deepEqual(seen, accepted.map((i) => `q/${i}`));
    assert.equal(bench.stat(Stat.outboxUsed), 0);
    assert.equal(bench.eventsOf(Event.PUBLISH_DONE).length, accepted.length);
  });

  it("keeps at most the profile's in-flight slots unacknowledged", () => {
    const bench = connected({ profile: "nodemcu" });
    const slots = bench.stat(Stat.inflightCapacity);
    for (let i = 0; i < slots + 3; i++) assert.ok(bench.publish("t", "p", 1) > 0);
    assert.equal(bench.sentOfType(PacketType.PUBLISH).length, slots);
    bench.receive(puback(idOf(bench.sent.at(-1)!)));
    assert.equal(bench.sentOfType(PacketType.PUBLISH).length, slots + 1);
  });

  it("resends unacknowledged QoS 1/2 PUBLISHes with DUP and pending PUBRELs, in order, after a reconnect", () => {
    const bench = connected({ flags: 0 });
    const first = bench.publish("a", "1", 1);
    const second = bench.publish("b", "2", 2);
    const third = bench.publish("c", "3", 2);
    bench.receive(pubrec(second));
    assert.equal(bench.sentOfType(PacketType.PUBREL).length, 1);
    bench.exports.netDown(bench.now, 0);
    const before = bench.sent.length;
    reconnect(bench, true);
    const resent = bench.sent.slice(before + 1); // after the CONNECT
    assert.deepEqual(
      resent.map((p) => [p.type, idOf(p), p.flags]),
      [
        [PacketType.PUBLISH, first, 0b1010],
        [PacketType.PUBREL, second, 0b0010],
        [PacketType.PUBLISH, third, 0b1100],
      ],
    );
    bench.receive(concat([puback(first), pubcomp(second), pubrec(third)]));
    bench.receive(pubcomp(third));
    assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).map((e) => e.arg), [first, second, third]);
    assert.equal(bench.stat(Stat.inflightUsed), 0, "in-flight count off after the resent PUBREL completed");
  });

  it("resubscribes every granted filter when the broker kept no session", () => {
    const bench = connected();
    const id = bench.subscribe([["a/#", 1], ["b", 2]]);
    bench.receive(suback(id, [1, 2]));
    bench.exports.netDown(bench.now, 0);
    reconnect(bench, false);
    const resubscribed = bench.sentOfType(PacketType.SUBSCRIBE).slice(1);
    assert.equal(resubscribed.length, 2);
    assert.equal(bench.stat(Stat.subscriptionUsed), 2);
    bench.exports.netDown(bench.now, 0);
    reconnect(bench, true);
    const again = bench.sentOfType(PacketType.SUBSCRIBE).slice(3);
    assert.deepEqual(again.map(idOf), resubscribed.map(idOf), "unanswered SUBSCRIBEs are sent again with their ids");
    bench.receive(concat(again.map((p) => suback(idOf(p), [1]))));
    bench.exports.netDown(bench.now, 0);
    reconnect(bench, true);
    assert.equal(bench.sentOfType(PacketType.SUBSCRIBE).length, 5, "answered SUBSCRIBEs were sent again");
  });
});

describe("receive path", () => {
  const inbound = concat([
    publish({ topic: "s/1", payload: "one", qos: 0 }),
    publish({ topic: "s/2", payload: "two", qos: 1, packetId: 10 }),
    publish({ topic: "s/3", payload: "three", qos: 2, packetId: 11 }),
    publish({ topic: "s/3", payload: "three", qos: 2, packetId: 11, dup: true }),
    pubrel(11),
  ]);

  for (const chunkSize of [1, 2, 7, inbound.length]) {
    it(`delivers packets split into ${chunkSize}-byte chunks, QoS 2 exactly once`, () => {
      const bench = connected();
      assert.equal(bench.receive(inbound, chunkSize), Status.OK);
      assert.deepEqual(bench.messages.map((m) => [m.topic, new TextDecoder().decode(m.payload), m.flags >> 2]), [
        ["s/1", "one", 0],
        ["s/2", "two", 1],
        ["s/3", "three", 2],
      ]);
      assert.deepEqual(
        bench.sent.slice(1).map((p) => [p.type, packetIdOf(p)]),
        [[PacketType.PUBACK, 10], [PacketType.PUBREC, 11], [PacketType.PUBREC, 11], [PacketType.PUBCOMP, 11]],
      );
      assert.equal(bench.stat(Stat.inboundQos2Used), 0);
    });
  }

  const bad: [string, Uint8Array, number][] = [
    ["a five-byte Remaining Length", Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]), Status.MALFORMED_PACKET],
    ["reserved packet type 0", Uint8Array.from([0x00, 0x00]), Status.MALFORMED_PACKET],
    ["reserved packet type 15", Uint8Array.from([0xf0, 0x00]), Status.MALFORMED_PACKET],
    ["a PUBLISH with QoS 3", packet(0x36, [0, 1, 0x61, 0, 1]), Status.MALFORMED_PACKET],
    ["a PUBLISH topic with a wildcard", publish({ topic: "a/+", payload: "x" }), Status.MALFORMED_PACKET],
    ["a PUBLISH topic that is not UTF-8", packet(0x30, [0, 2, 0xc3, 0x28]), Status.MALFORMED_PACKET],
    ["a PUBLISH whose topic runs past the packet", packet(0x30, [0, 9, 0x61]), Status.MALFORMED_PACKET],
    ["a SUBACK with return code 3", suback(1, [3]), Status.MALFORMED_PACKET],
    ["a PUBACK with a body of 3 bytes", packet(0x40, [0, 1, 0]), Status.MALFORMED_PACKET],
    ["a PINGRESP with a body", packet(0xd0, [0]), Status.MALFORMED_PACKET],
    ["a second CONNACK", connack(false, 0), Status.PROTOCOL_ERROR],
    ["a SUBSCRIBE from the server", packet(0x82, [0, 1, 0, 1, 0x61, 0]), Status.PROTOCOL_ERROR],
    ["an oversized PUBLISH with an empty topic", packet(0x30, new Uint8Array(2000)), Status.MALFORMED_PACKET],
    ["an oversized PUBLISH whose topic has a wildcard", publish({ topic: "a/#", payload: new Uint8Array(2000) }), Status.MALFORMED_PACKET],
    ["an oversized PUBLISH with packet id 0", publish({ topic: "a", payload: new Uint8Array(2000), qos: 1, packetId: 0 }), Status.MALFORMED_PACKET],
    ["an oversized PUBLISH whose topic runs past the packet", packet(0x30, [0xff, 0xff, ...new Uint8Array(2000)]), Status.MALFORMED_PACKET],
    ["a SUBACK larger than the receive buffer", suback(1, new Array<number>(2000).fill(1)), Status.PACKET_TOO_LARGE],
    ["an UNSUBACK larger than the receive buffer", packet(0xb0, new Uint8Array(2000)), Status.PACKET_TOO_LARGE],
    ["a CONNACK larger than the receive buffer", packet(0x20, new Uint8Array(2000)), Status.PACKET_TOO_LARGE],
  ];

  for (const [name, bytes, status] of bad) {
    it(`closes the connection on ${name} and recovers`, () => {
      const bench = connected({ profile: "nodemcu" });
      const id = bench.publish("kept", "safe", 1);
      assert.equal(bench.receive(bytes.subarray(0, Math.min(bytes.length, bench.exports.rxSpace()))), status);
      assert.deepEqual(bench.eventsOf(Event.CONNECTION_LOST).map((e) => e.code), [status]);
      assert.equal(bench.stat(Stat.protocolErrors), 1);
      assert.equal(bench.netCloses, 1);
      reconnect(bench, true);
      assert.equal(bench.stat(Stat.state), STATE_CONNECTED);
      const resent = bench.sentOfType(PacketType.PUBLISH).at(-1)!;
      assert.equal(idOf(resent), id, "the queued PUBLISH was lost");
      bench.receive(puback(id));
      assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).map((e) => e.arg), [id]);
    });
  }

  it("takes more unreleased inbound QoS 2 messages than it has slots for: none refused, each delivered once", () => {
    const bench = connected({ profile: "nodemcu" });
    const slots = bench.stat(Stat.inboundQos2Capacity);
    assert.equal(slots, 32);
    const ids = Array.from({ length: slots + 8 }, (_, i) => i + 1);
    const burst = ids.map((id) => publish({ topic: `q/${id}`, payload: "x", qos: 2, packetId: id }));
    assert.equal(bench.receive(concat(burst)), Status.OK);
    assert.equal(bench.netCloses, 0);
    assert.deepEqual(bench.messages.map((m) => m.topic), ids.map((id) => `q/${id}`));
    assert.deepEqual(bench.sentOfType(PacketType.PUBREC).map(packetIdOf), ids);
    assert.equal(bench.stat(Stat.inboundQos2Used), slots);
    assert.equal(bench.stat(Stat.inboundQos2Overflow), 8);
    // the ids still held are the newest: their resends before PUBREL are not delivered again
    const held = ids.slice(-slots);
    assert.equal(bench.receive(concat(held.map((id) => publish({ topic: `q/${id}`, payload: "x", qos: 2, packetId: id, dup: true })))), Status.OK);
    assert.equal(bench.messages.length, ids.length, "a held message was delivered twice");
    assert.equal(bench.receive(concat(ids.map((id) => pubrel(id)))), Status.OK);
    assert.deepEqual(bench.sentOfType(PacketType.PUBCOMP).map(packetIdOf), ids);
    assert.equal(bench.stat(Stat.inboundQos2Used), 0);
  });

  it("waits for room in the transmit ring before answering, losing no acknowledgement", () => {
    const bench = connected({ profile: "nodemcu" });
    bench.sendAllowance = 0;
    const many = concat(Array.from({ length: 1000 }, (_, i) => publish({ topic: "q", payload: "x", qos: 1, packetId: i + 1 })));
    let offset = 0;
    while (offset < many.length && bench.exports.rxSpace() > 0) {
      const n = Math.min(bench.exports.rxSpace(), many.length - offset);
      bench.receive(many.subarray(offset, offset + n));
      offset += n;
    }
    assert.ok(offset < many.length, "the receive buffer never filled");
    bench.sendAllowance = Infinity;
    bench.advance(1);
    bench.receive(many.subarray(offset), 512);
    bench.advance(1);
    assert.equal(bench.messages.length, 1000);
    assert.deepEqual(
      bench.sentOfType(PacketType.PUBACK).map(packetIdOf),
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
  });
});

describe("SUBACK and UNSUBACK must answer a request exactly", () => {
  /** A bench with SUBSCRIBE 2 of two filters outstanding (SUBSCRIBE 1 was answered). */
  function twoFiltersOutstanding(): ModuleBench {
    const bench = connected();
    assert.equal(bench.subscribe([["first", 0]]), 1);
    assert.equal(bench.receive(suback(1, [0])), Status.OK);
    assert.equal(bench.subscribe([["a/#", 1], ["b", 2]]), 2);
    return bench;
  }
  const subacksFor = (bench: ModuleBench, id: number) =>
    bench.eventsOf(Event.SUBACK).filter((e) => (e.arg & 0xffff) === id).map((e) => [e.code, e.arg >>> 16]);

  for (const code of [0x01, 0x80, 0x00]) {
    for (const sessionPresent of [false, true]) {
      it(`a SUBACK with one return code (0x${code.toString(16).padStart(2, "0")}) for two filters is PROTOCOL_ERROR; the reconnect resends both (session present ${sessionPresent})`, () => {
        const bench = twoFiltersOutstanding();
        assert.equal(bench.receive(Uint8Array.from([0x90, 0x03, 0x00, 0x02, code])), Status.PROTOCOL_ERROR);
        assert.deepEqual(bench.eventsOf(Event.CONNECTION_LOST).map((e) => e.code), [Status.PROTOCOL_ERROR]);
        assert.deepEqual(subacksFor(bench, 2), [], "half a SUBACK was applied");
        const before = bench.sentOfType(PacketType.SUBSCRIBE).length;
        reconnect(bench, sessionPresent);
        for (let i = 0; i < 10; i++) bench.advance(10);
        const after = bench.sentOfType(PacketType.SUBSCRIBE).slice(before).map(parseSubscribe);
        assert.ok(after.every((p) => p.filters.length > 0), `a SUBSCRIBE without a filter: ${JSON.stringify(after)}`);
        // with no session the answered "first" is subscribed again too, in its own SUBSCRIBE
        assert.deepEqual(after.map((p) => p.filters.map((f) => f.topic)).sort(), (sessionPresent ? [["a/#", "b"]] : [["a/#", "b"], ["first"]]));
        assert.deepEqual(after.find((p) => p.packetId === 2)?.filters, [{ topic: "a/#", qos: 1 }, { topic: "b", qos: 2 }]);
        assert.equal(bench.receive(suback(2, [1, 2])), Status.OK);
        assert.deepEqual(subacksFor(bench, 2), [[1, 0], [2, 1]]);
        assert.ok(bench.subscribe([["a/#", 0], ["b", 0]]) > 0, "the filters cannot be subscribed again");
      });
    }
  }

  it("a SUBACK with more return codes than filters is PROTOCOL_ERROR and changes nothing", () => {
    const bench = twoFiltersOutstanding();
    assert.equal(bench.receive(suback(2, [1, 1, 1])), Status.PROTOCOL_ERROR);
    assert.deepEqual(subacksFor(bench, 2), []);
    reconnect(bench, true);
    assert.deepEqual(bench.sentOfType(PacketType.SUBSCRIBE).map(parseSubscribe).at(-1)?.filters.map((f) => f.topic), ["a/#", "b"]);
  });

  for (const [name, id] of [["no SUBSCRIBE ever had", 9], ["a SUBSCRIBE already answered", 1]] as const) {
    it(`a SUBACK for a packet id ${name} is PROTOCOL_ERROR; the outstanding SUBSCRIBE is kept and resent`, () => {
      const bench = twoFiltersOutstanding();
      const events = bench.events.length;
      assert.equal(bench.receive(suback(id, [0])), Status.PROTOCOL_ERROR);
      assert.deepEqual(bench.events.slice(events).map((e) => e.kind), [Event.CONNECTION_LOST, Event.BACKOFF]);
      reconnect(bench, true);
      assert.equal(bench.sentOfType(PacketType.SUBSCRIBE).map(parseSubscribe).at(-1)?.packetId, 2);
      assert.equal(bench.receive(suback(2, [1, 1])), Status.OK);
      assert.deepEqual(subacksFor(bench, 2), [[1, 0], [1, 1]]);
    });
  }

  it("an UNSUBACK for a packet id no UNSUBSCRIBE awaits is PROTOCOL_ERROR; the right one frees the filters", () => {
    const bench = connected();
    assert.equal(bench.subscribe([["a", 0], ["b", 0]]), 1);
    assert.equal(bench.receive(suback(1, [0, 0])), Status.OK);
    const id = bench.unsubscribe(["a", "b"]);
    assert.ok(id > 0);
    assert.equal(bench.receive(unsuback(id + 1)), Status.PROTOCOL_ERROR);
    assert.equal(bench.eventsOf(Event.UNSUBACK).length, 0);
    assert.equal(bench.stat(Stat.subscriptionUsed), 2);
    reconnect(bench, true);
    assert.equal(bench.receive(unsuback(id)), Status.OK);
    assert.deepEqual(bench.eventsOf(Event.UNSUBACK).map((e) => e.arg), [id]);
    assert.equal(bench.stat(Stat.subscriptionUsed), 0);
    assert.equal(bench.receive(unsuback(id)), Status.PROTOCOL_ERROR, "a repeated UNSUBACK");
  });
});

describe("acknowledgements of our PUBLISHes: each flow ends exactly once", () => {
  /** PUBLISH_DONE events for packet id `id`. */
  const doneCount = (bench: ModuleBench, id: number) => bench.eventsOf(Event.PUBLISH_DONE).filter((e) => e.arg === id).length;

  it("a broker answering QoS 2 with PUBACK: 20 publishes in a row each complete once, counted, none resent after a reconnect", () => {
    const bench = connected({ profile: "nodemcu", flags: 0 });
    const ids = Array.from({ length: 20 }, (_, i) => bench.publish("t", `m${i}`, 2));
    assert.ok(ids.every((id) => id > 0));
    let answered = 0;
    while (answered < ids.length) {
      const fresh = bench.sentOfType(PacketType.PUBLISH).slice(answered);
      assert.ok(fresh.length > 0, `nothing more sent after ${answered} (in flight ${bench.stat(Stat.inflightUsed)})`);
      for (const p of fresh) {
        assert.equal(bench.receive(puback(idOf(p))), Status.OK);
        answered++;
      }
    }
    assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).map((e) => e.arg), ids);
    assert.equal(bench.stat(Stat.inflightUsed), 0);
    assert.equal(bench.stat(Stat.outboxUsed), 0);
    assert.equal(bench.stat(Stat.qos2Downgraded), 20);
    assert.equal(bench.sentOfType(PacketType.PUBREL).length, 0);
    bench.exports.netDown(bench.now, 0);
    const before = bench.sent.length;
    reconnect(bench, true);
    bench.advance(10);
    assert.deepEqual(bench.sent.slice(before).map((p) => p.type), [PacketType.CONNECT], "something was sent again");
  });

  it("a PUBACK for a QoS 2 publish awaiting PUBCOMP completes it once; the PUBCOMP after it is ignored", () => {
    const bench = connected();
    const id = bench.publish("t", "x", 2);
    assert.equal(bench.receive(pubrec(id)), Status.OK);
    assert.equal(bench.sentOfType(PacketType.PUBREL).length, 1);
    assert.equal(bench.receive(puback(id)), Status.OK);
    assert.equal(doneCount(bench, id), 1);
    assert.equal(bench.stat(Stat.inflightUsed), 0);
    assert.equal(bench.stat(Stat.qos2Downgraded), 1);
    assert.equal(bench.receive(pubcomp(id)), Status.OK);
    assert.equal(doneCount(bench, id), 1);
  });

  const contradicting: [string, number, (bench: ModuleBench, id: number) => void, (id: number) => Uint8Array][] = [
    ["PUBREC for a QoS 1 publish", 1, () => {}, pubrec],
    ["PUBCOMP for a QoS 1 publish", 1, () => {}, pubcomp],
    ["PUBCOMP for a QoS 2 publish awaiting PUBREC", 2, () => {}, pubcomp],
  ];
  for (const [name, qos, prepare, ack] of contradicting) {
    it(`${name} is PROTOCOL_ERROR; the PUBLISH is resent with DUP and its flow then completes once`, () => {
      const bench = connected({ flags: 0 });
      const id = bench.publish("t", "x", qos);
      const other = bench.publish("u", "y", 1);
      prepare(bench, id);
      assert.equal(bench.receive(ack(id)), Status.PROTOCOL_ERROR);
      assert.deepEqual(bench.eventsOf(Event.CONNECTION_LOST).map((e) => e.code), [Status.PROTOCOL_ERROR]);
      assert.equal(doneCount(bench, id), 0);
      const before = bench.sent.length;
      reconnect(bench, true);
      const resent = bench.sent.slice(before + 1);
      assert.deepEqual(resent.map((p) => [p.type, idOf(p), (p.flags & 8) !== 0]), [[PacketType.PUBLISH, id, true], [PacketType.PUBLISH, other, true]]);
      assert.equal(bench.stat(Stat.inflightUsed), 2);
      if (qos === 2) {
        assert.equal(bench.receive(pubrec(id)), Status.OK);
        assert.equal(bench.receive(pubcomp(id)), Status.OK);
      } else {
        assert.equal(bench.receive(puback(id)), Status.OK);
      }
      assert.equal(bench.receive(puback(other)), Status.OK);
      assert.equal(doneCount(bench, id), 1);
      assert.equal(doneCount(bench, other), 1);
      assert.equal(bench.stat(Stat.inflightUsed), 0);
    });
  }

  it("repeated acks are ignored: a second PUBACK or PUBCOMP completes nothing more; a repeated PUBREC gets its PUBREL again", () => {
    const bench = connected();
    const one = bench.publish("t", "1", 1);
    const two = bench.publish("t", "2", 2);
    assert.equal(bench.receive(concat([puback(one), puback(one)])), Status.OK);
    assert.equal(bench.receive(pubrec(two)), Status.OK);
    assert.equal(bench.receive(pubrec(two)), Status.OK);
    assert.deepEqual(bench.sentOfType(PacketType.PUBREL).map(packetIdOf), [two, two]);
    assert.equal(bench.stat(Stat.inflightUsed), 1);
    assert.equal(bench.receive(concat([pubcomp(two), pubcomp(two), pubrec(two), puback(two)])), Status.OK);
    assert.deepEqual(bench.eventsOf(Event.PUBLISH_DONE).map((e) => e.arg), [one, two]);
    assert.equal(bench.sentOfType(PacketType.PUBREL).length, 2, "a PUBREL for a finished flow");
    assert.equal(bench.stat(Stat.inflightUsed), 0);
    assert.equal(bench.stat(Stat.qos2Downgraded), 0);
    assert.equal(bench.eventsOf(Event.CONNECTION_LOST).length, 0);
  });

  it("acks for ids no flow under way holds are ignored, also for a PUBLISH not yet sent", () => {
    const bench = connected({ profile: "nodemcu" });
    const slots = bench.stat(Stat.inflightCapacity);
    const ids = Array.from({ length: slots + 1 }, () => bench.publish("t", "x", 2));
    const waiting = ids.at(-1)!;
    assert.equal(bench.sentOfType(PacketType.PUBLISH).length, slots, "the last one waits for an in-flight slot");
    const sent = bench.sent.length;
    assert.equal(bench.receive(concat([puback(999), pubrec(999), pubcomp(999), puback(waiting), pubrec(waiting), pubcomp(waiting)])), Status.OK);
    assert.equal(bench.sent.length, sent, "something was sent for an unknown id");
    assert.equal(bench.eventsOf(Event.PUBLISH_DONE).length, 0);
    assert.equal(bench.stat(Stat.inflightUsed), slots);
    assert.equal(bench.receive(puback(ids[0])), Status.OK);
    const last = bench.sentOfType(PacketType.PUBLISH).at(-1)!;
    assert.equal(idOf(last), waiting, "the waiting PUBLISH went out once a slot was free");
    assert.equal(bench.receive(concat([pubrec(waiting), pubcomp(waiting)])), Status.OK);
    assert.equal(doneCount(bench, waiting), 1);
    assert.equal(bench.stat(Stat.inflightUsed), slots - 1);
  });
});

describe("oversized messages (larger than the receive buffer)", () => {
  const PAYLOAD = new Uint8Array(3000).map((_, i) => i);
  const BIG_ID = 0x0123;
  const NEXT = publish({ topic: "next", payload: "small", qos: 1, packetId: 7 });
  /** What the module sends back after the CONNECT. */
  const answers = (bench: ModuleBench) => bench.sent.slice(1).map((p) => [p.type, idOf(p)]);

  for (const qos of [0, 1, 2] as const) {
    for (const chunkSize of [1, 7, Infinity]) {
      it(`skips a QoS ${qos} PUBLISH fed in ${chunkSize}-byte chunks, answers it, reports it, and delivers the next message`, () => {
        const bench = connected({ profile: "nodemcu" });
        const big = publish({ topic: "big/t", payload: PAYLOAD, qos, packetId: qos > 0 ? BIG_ID : undefined, retain: true });
        assert.ok(big.length > bench.exports.rxSpace());
        assert.equal(bench.stream(concat([big, NEXT]), chunkSize), Status.OK);
        assert.equal(bench.netCloses, 0, "the connection was closed");
        assert.equal(bench.stat(Stat.state), STATE_CONNECTED);
        assert.deepEqual(bench.messages.map((m) => m.topic), ["next"], "only the small message is delivered");
        const ack = qos === 1 ? [[PacketType.PUBACK, BIG_ID]] : qos === 2 ? [[PacketType.PUBREC, BIG_ID]] : [];
        assert.deepEqual(answers(bench), [...ack, [PacketType.PUBACK, 7]]);
        assert.deepEqual(bench.eventsOf(Event.MESSAGE_DROPPED).map((e) => [e.code, e.arg]), [[Status.PACKET_TOO_LARGE, big.length]]);
        assert.deepEqual(bench.drops, [{ flags: 1 | (qos << 2), topicLength: 5, size: big.length, topic: "big/t" }]);
        assert.equal(bench.stat(Stat.rxOversizeDropped), 1);
        assert.equal(bench.stat(Stat.lastDroppedTopicLength), 5);
        assert.equal(bench.stat(Stat.lastDroppedSize), big.length);
        assert.equal(bench.stat(Stat.protocolErrors), 0);
        assert.ok(bench.stat(Stat.rxHighWater) <= bench.exports.rxSpace(), "the receive buffer overflowed");
      });
    }
  }

  it("discards the rest of a skipped PUBLISH without keeping it: rxSpace() stays the whole buffer", () => {
    const bench = connected({ profile: "nodemcu" });
    const capacity = bench.exports.rxSpace();
    const big = publish({ topic: "t", payload: new Uint8Array(5 * capacity), qos: 1, packetId: 3 });
    for (let at = 0; at < big.length; at += capacity) {
      assert.equal(bench.stream(big.subarray(at, Math.min(at + capacity, big.length))), Status.OK);
      assert.equal(bench.exports.rxSpace(), capacity, `bytes kept after ${at + capacity}`);
    }
    assert.deepEqual(answers(bench), [[PacketType.PUBACK, 3]]);
  });

  it("holds a skipped QoS 2 id like a delivered one: a resend is answered but not reported again, PUBREL gets PUBCOMP", () => {
    const bench = connected({ profile: "nodemcu" });
    const big = publish({ topic: "big/2", payload: PAYLOAD, qos: 2, packetId: BIG_ID });
    const resent = publish({ topic: "big/2", payload: PAYLOAD, qos: 2, packetId: BIG_ID, dup: true });
    assert.equal(bench.stream(concat([big, resent]), 100), Status.OK);
    assert.equal(bench.stat(Stat.inboundQos2Used), 1);
    assert.equal(bench.stream(concat([pubrel(BIG_ID), NEXT])), Status.OK);
    assert.deepEqual(answers(bench), [
      [PacketType.PUBREC, BIG_ID],
      [PacketType.PUBREC, BIG_ID],
      [PacketType.PUBCOMP, BIG_ID],
      [PacketType.PUBACK, 7],
    ]);
    assert.equal(bench.eventsOf(Event.MESSAGE_DROPPED).length, 1, "the resend was reported again");
    assert.equal(bench.stat(Stat.rxOversizeDropped), 1);
    assert.equal(bench.stat(Stat.inboundQos2Used), 0);
    assert.deepEqual(bench.messages.map((m) => m.topic), ["next"]);
  });

  for (const chunkSize of [1, 7, Infinity]) {
    it(`skips a PUBLISH whose topic alone is too long for the buffer (${chunkSize}-byte chunks), reading its packet id after it`, () => {
      const bench = connected({ profile: "nodemcu" });
      const topic = "x".repeat(2000);
      const big = publish({ topic, payload: "p", qos: 1, packetId: 0x0777 });
      const empty = publish({ topic, qos: 0 }); // nothing after the topic
      assert.equal(bench.stream(concat([big, empty, NEXT]), chunkSize), Status.OK);
      assert.equal(bench.netCloses, 0);
      assert.deepEqual(answers(bench), [[PacketType.PUBACK, 0x0777], [PacketType.PUBACK, 7]]);
      assert.deepEqual(bench.drops, [
        { flags: 1 << 2, topicLength: 2000, size: big.length, topic: undefined },
        { flags: 0, topicLength: 2000, size: empty.length, topic: undefined },
      ]);
      assert.equal(bench.stat(Stat.lastDroppedTopicLength), 2000);
      assert.deepEqual(bench.messages.map((m) => m.topic), ["next"]);
    });
  }

  it("reports a topic that fits the buffer but not the record by its length only", () => {
    const bench = connected({ profile: "nodemcu" });
    const topic = "y".repeat(bench.stat(Stat.maxTopicLength) + 1);
    const big = publish({ topic, payload: PAYLOAD });
    assert.equal(bench.stream(big), Status.OK);
    assert.deepEqual(bench.drops, [{ flags: 0, topicLength: topic.length, size: big.length, topic: undefined }]);
  });

  it("skips a resent QoS 2 PUBLISH with a topic too long for the buffer once, answering both", () => {
    const bench = connected({ profile: "nodemcu" });
    const topic = "z".repeat(1600);
    const first = publish({ topic, payload: "p", qos: 2, packetId: 9 });
    const again = publish({ topic, payload: "p", qos: 2, packetId: 9, dup: true });
    assert.equal(bench.stream(concat([first, again, pubrel(9)]), 7), Status.OK);
    assert.deepEqual(answers(bench), [[PacketType.PUBREC, 9], [PacketType.PUBREC, 9], [PacketType.PUBCOMP, 9]]);
    assert.equal(bench.stat(Stat.rxOversizeDropped), 1);
  });

  it("waits for room in the transmit ring before answering a skipped PUBLISH", () => {
    const bench = connected({ profile: "nodemcu" });
    bench.sendAllowance = 0;
    const small = Array.from({ length: 400 }, (_, i) => publish({ topic: "q", payload: "x", qos: 1, packetId: i + 1 }));
    const big = publish({ topic: "big", payload: PAYLOAD, qos: 1, packetId: 1000 });
    const bytes = concat([...small, big, NEXT]);
    let at = 0;
    while (at < bytes.length && bench.exports.rxSpace() > 0) {
      const n = Math.min(bench.exports.rxSpace(), bytes.length - at);
      assert.equal(bench.stream(bytes.subarray(at, at + n)), Status.OK);
      at += n;
    }
    assert.ok(at < bytes.length, "the transmit ring never filled");
    bench.sendAllowance = Infinity;
    bench.advance(1);
    assert.equal(bench.stream(bytes.subarray(at), 512), Status.OK);
    bench.advance(1);
    const acks = bench.sentOfType(PacketType.PUBACK).map(packetIdOf);
    assert.deepEqual(acks, [...Array.from({ length: 400 }, (_, i) => i + 1), 1000, 7]);
    assert.equal(bench.stat(Stat.rxOversizeDropped), 1);
  });

  it("still closes with PACKET_TOO_LARGE for an oversized PUBLISH or CONNACK before the CONNACK", () => {
    for (const bytes of [publish({ topic: "t", payload: PAYLOAD }), packet(0x20, new Uint8Array(2000))]) {
      const bench = new ModuleBench("nodemcu");
      bench.connectTo();
      assert.equal(bench.stream(bytes), Status.PACKET_TOO_LARGE);
      assert.deepEqual(bench.eventsOf(Event.CONNECT_FAILED).map((e) => e.code), [Status.PACKET_TOO_LARGE]);
      assert.equal(bench.eventsOf(Event.MESSAGE_DROPPED).length, 0);
      assert.equal(bench.netCloses, 1);
    }
  });
});

describe("answers owed when the connection is closed for bad input", () => {
  it("sends the PUBACK of a delivered message before closing for the malformed packet after it (finding 3)", () => {
    const bench = connected();
    const bytes = Uint8Array.from([0x32, 0x0d, 0x00, 0x03, 0x67, 0x2f, 0x31, 0x01, 0x90, 0x62, 0x65, 0x66, 0x6f, 0x72, 0x65, 0x00, 0x00]);
    assert.equal(bench.receive(bytes), Status.MALFORMED_PACKET);
    assert.deepEqual(bench.messages.map((m) => [m.topic, new TextDecoder().decode(m.payload)]), [["g/1", "before"]]);
    const puback = bench.sent.findIndex((p) => p.type === PacketType.PUBACK && packetIdOf(p) === 0x0190);
    assert.ok(puback >= 0, "the PUBACK for 0x0190 never reached netSend");
    assert.deepEqual(bench.sentAtClose, [puback + 1], "netClose came before the PUBACK");
  });

  it("sends what netSend takes, and no more, before closing", () => {
    const bench = connected();
    bench.sendAllowance = 2;
    const bytes = concat([publish({ topic: "a", payload: "1", qos: 1, packetId: 1 }), Uint8Array.from([0xf0, 0x00])]);
    assert.equal(bench.receive(bytes), Status.MALFORMED_PACKET);
    assert.equal(bench.netCloses, 1);
    assert.equal(bench.sendAllowance, 0, "the PUBACK was not offered to netSend");
  });
});

describe("CONNACK refusal", () => {
  for (const code of [1, 2, 3, 4, 5]) {
    it(`returns the refusal status from rxCommit for return code ${code} (finding 6), reported once`, () => {
      const bench = new ModuleBench();
      bench.connectTo();
      assert.equal(bench.receive(connack(false, code)), -20 - code);
      assert.deepEqual(bench.eventsOf(Event.CONNECT_FAILED).map((e) => [e.code, e.arg]), [[-20 - code, code]]);
      assert.equal(bench.eventsOf(Event.CONNECTION_LOST).length, 0);
      assert.equal(bench.netCloses, 1);
      assert.equal(bench.stat(Stat.protocolErrors), 0, "a refusal is not bad input");
    });
  }
});
