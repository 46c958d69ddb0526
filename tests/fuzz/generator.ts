/**
 * The input classes. Input `index` of class `cls` is derived from (seed, cls, index)
 * alone, through its own seeded stream (host/sim/random.ts), so any input can be made
 * again without the ones before it.
 *
 * - random-bytes: a CONNACK, then random bytes (half of them starting at a valid header).
 * - mutated-corpus: valid broker→client packets, then bit flips, inserts, deletes,
 *   Remaining Length corruption, truncation, duplication and splicing.
 * - malformed: one case of {@link MALFORMED} after valid packets that owe answers,
 *   followed by valid packets that must be ignored.
 * - chunking: a valid or malformed stream delivered in every chunk size from one byte
 *   up (64 consecutive inputs share a stream and take sizes 1…64), or at random cuts.
 * - app-interleaved: application publishes, subscribes, unsubscribes, reconnects,
 *   stop/start, ticks and a throttled network (netSend taking a few bytes per call),
 *   with the broker's answers to them, some wrong.
 */
import { Random } from "../../host/sim/random.ts";
import {
  concat, connack, packet, pingresp, puback, pubcomp, publish, pubrec, pubrel, suback, unsuback, encodeRemainingLength,
} from "../host/support/mqtt-packets.ts";
import type { ModuleKind } from "./device.ts";
import type { Input, Step } from "./input.ts";
import type { StatusName } from "../../host/status.ts";

export const CLASSES = ["random-bytes", "mutated-corpus", "malformed", "chunking", "app-interleaved"] as const;
export type InputClass = (typeof CLASSES)[number];

/** What the generator needs to know of the module (from its stats block). */
export interface Shape {
  rxCapacity: number;
  inboundQos2Slots: number;
}

/** Consecutive chunking inputs that share one stream. */
const CHUNKING_GROUP = 64;

/** A random stream with the helpers the classes use. */
class Draw {
  constructor(readonly random: Random) {}
  int(n: number): number {
    return this.random.next() % n;
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.random.float() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
}

/** Packet ids the client will use, predicted from the order of its requests (ids start at 1 and count up). */
class Ids {
  next: number;
  readonly qos1: number[] = [];
  readonly qos2: number[] = [];
  readonly subscribes: [number, number][] = [];
  readonly unsubscribes: number[] = [];
  /** Inbound QoS 2 ids the broker has sent, for PUBRELs. */
  readonly inbound: number[] = [];
  constructor(kind: ModuleKind) {
    this.next = kind === "client" ? 1 : 3; // the firmware subscribes (1) and announces online (2) first
    if (kind === "telemetry") this.qos1.push(2);
  }
  take(): number {
    return this.next++;
  }
}

const TOPICS = ["a", "s/1", "devices/fuzz/cmd", "$SYS/x", "\u00e9/\u{1f600}", "t".repeat(70), "a//b"];
const COMMANDS = ['{"relay":true}', '{"led":false,"read":true}', '{"interval_s":5}', '{"interval_s":0}', "reboot", ""];

/** A valid packet a broker may send now. */
function validPacket(d: Draw, ids: Ids, kind: ModuleKind): Uint8Array {
  const known = (list: number[]): number => (list.length > 0 && d.chance(0.8) ? d.pick(list) : d.between(1, 12));
  switch (d.int(10)) {
    case 0:
    case 1:
    case 2: {
      const qos = d.int(3) as 0 | 1 | 2;
      const topic = kind === "telemetry" && d.chance(0.5) ? "devices/fuzz/cmd" : d.pick(TOPICS);
      const payload = topic.endsWith("/cmd") ? d.pick(COMMANDS) : d.bytes(d.int(d.chance(0.1) ? 300 : 24));
      const packetId = qos > 0 ? (d.chance(0.1) ? 65535 : d.between(1, 16)) : undefined;
      if (qos === 2 && packetId !== undefined) ids.inbound.push(packetId);
      return publish({ topic, payload, qos, retain: d.chance(0.3), dup: qos > 0 && d.chance(0.2), packetId });
    }
    case 3: return puback(known(ids.qos1));
    case 4: return pubrec(known(ids.qos2));
    case 5: return pubrel(known(ids.inbound));
    case 6: return pubcomp(known(ids.qos2));
    case 7: {
      const [id, count] = ids.subscribes.length > 0 && d.chance(0.8) ? d.pick(ids.subscribes) : [d.between(1, 12), 1];
      return suback(id, Array.from({ length: count }, () => d.pick([0, 1, 2, 0x80])));
    }
    case 8: return unsuback(known(ids.unsubscribes));
    default: return pingresp();
  }
}

/** One malformed case: its name and the status the reference closes with (README table, checked by tests/host/fuzz.test.ts), and the steps that deliver it. */
export interface MalformedCase {
  name: string;
  status: StatusName | "OK" | "CONNACK_*";
  make(d: Draw, ids: Ids, shape: Shape): { before?: Step[]; bytes: Uint8Array; connack?: false };
}

const ack = (type: number, flags: number, body: number[]): Uint8Array => packet((type << 4) | flags, body);

/** Every malformed class: a packet the module must refuse, or one it must take in a way boards/ABI.md sets out (status OK). */
export const MALFORMED: readonly MalformedCase[] = [
  { name: "reserved packet type 0", status: "MALFORMED_PACKET", make: () => ({ bytes: Uint8Array.from([0x00, 0x00]) }) },
  { name: "reserved packet type 15", status: "MALFORMED_PACKET", make: () => ({ bytes: Uint8Array.from([0xf0, 0x00]) }) },
  { name: "CONNECT from the server", status: "PROTOCOL_ERROR", make: () => ({ bytes: packet(0x10, [0, 4, 77, 81, 84, 84, 4, 2, 0, 0, 0, 0]) }) },
  { name: "SUBSCRIBE from the server", status: "PROTOCOL_ERROR", make: () => ({ bytes: packet(0x82, [0, 1, 0, 1, 0x61, 0]) }) },
  { name: "UNSUBSCRIBE from the server", status: "PROTOCOL_ERROR", make: () => ({ bytes: packet(0xa2, [0, 1, 0, 1, 0x61]) }) },
  { name: "PINGREQ from the server", status: "PROTOCOL_ERROR", make: () => ({ bytes: packet(0xc0) }) },
  { name: "DISCONNECT from the server", status: "PROTOCOL_ERROR", make: () => ({ bytes: packet(0xe0) }) },
  { name: "PUBLISH with QoS 3", status: "MALFORMED_PACKET", make: () => ({ bytes: packet(0x36, [0, 1, 0x61, 0, 1]) }) },
  { name: "PUBLISH with DUP at QoS 0", status: "MALFORMED_PACKET", make: () => ({ bytes: packet(0x38, [0, 1, 0x61]) }) },
  { name: "bad fixed-header flags (PUBACK 0x41, PUBREL 0x60, SUBACK 0x91, PINGRESP 0xd2, CONNACK 0x21)", status: "MALFORMED_PACKET", make: (d) => ({
    bytes: d.pick([ack(4, 1, [0, 1]), ack(6, 0, [0, 1]), ack(9, 1, [0, 1, 0]), packet(0xd2), ack(2, 1, [0, 0])]),
  }) },
  { name: "Remaining Length of five bytes", status: "MALFORMED_PACKET", make: () => ({ bytes: Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]) }) },
  { name: "packet id 0 (PUBLISH QoS 1/2, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK)", status: "MALFORMED_PACKET", make: (d) => ({
    bytes: d.pick([packet(0x32, [0, 1, 0x61, 0, 0]), packet(0x34, [0, 1, 0x61, 0, 0, 9]), ack(4, 0, [0, 0]), ack(5, 0, [0, 0]), ack(6, 2, [0, 0]), ack(7, 0, [0, 0]), ack(9, 0, [0, 0, 1]), ack(11, 0, [0, 0])]),
  }) },
  { name: "PUBLISH whose topic runs past the packet", status: "MALFORMED_PACKET", make: () => ({ bytes: packet(0x30, [0, 9, 0x61]) }) },
  { name: "PUBLISH QoS 1 without its packet id", status: "MALFORMED_PACKET", make: () => ({ bytes: packet(0x32, [0, 1, 0x61, 0]) }) },
  { name: "PUBLISH with an empty topic", status: "MALFORMED_PACKET", make: () => ({ bytes: packet(0x30, [0, 0, 0x78]) }) },
  { name: "PUBLISH topic not UTF-8 (overlong, lone continuation, surrogate, past U+10FFFF, truncated)", status: "MALFORMED_PACKET", make: (d) => {
    const bad = d.pick([[0xc0, 0x80], [0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff]]);
    return { bytes: packet(0x30, [0, bad.length + 1, 0x61, ...bad, 0x78]) };
  } },
  { name: "PUBLISH topic with U+0000", status: "MALFORMED_PACKET", make: () => ({ bytes: packet(0x30, [0, 3, 0x61, 0, 0x62]) }) },
  { name: "PUBLISH topic with a wildcard", status: "MALFORMED_PACKET", make: (d) => ({ bytes: publish({ topic: d.pick(["a/+", "#", "a/#", "+"]), payload: "x" }) }) },
  { name: "acknowledgement of the wrong length (PUBACK 3 bytes, PUBCOMP 1, UNSUBACK 0)", status: "MALFORMED_PACKET", make: (d) => ({
    bytes: d.pick([ack(4, 0, [0, 1, 0]), ack(7, 0, [1]), ack(11, 0, [])]),
  }) },
  { name: "PINGRESP with a body", status: "MALFORMED_PACKET", make: () => ({ bytes: packet(0xd0, [0]) }) },
  { name: "SUBACK with a bad return code (3, 0x7f, 0x81)", status: "MALFORMED_PACKET", make: (d) => ({ bytes: suback(1, [0, d.pick([3, 0x7f, 0x81])]) }) },
  { name: "SUBACK without return codes", status: "MALFORMED_PACKET", make: () => ({ bytes: ack(9, 0, [0, 1]) }) },
  { name: "SUBACK with fewer/more codes than filters", status: "PROTOCOL_ERROR", make: (d, ids) => {
    const id = ids.take();
    return { before: [{ op: "subscribe", filters: [["f/1", 1], ["f/2", 0]] }], bytes: suback(id, d.chance(0.5) ? [1] : [1, 0, 2]) };
  } },
  { name: "SUBACK or UNSUBACK answering no request", status: "PROTOCOL_ERROR", make: (d) => ({ bytes: d.chance(0.5) ? suback(d.between(40, 60), [0]) : unsuback(d.between(40, 60)) }) },
  { name: "CONNACK with reserved flags (0x02, 0x80)", status: "MALFORMED_PACKET", make: (d) => ({ connack: false, bytes: packet(0x20, [d.pick([2, 0x80]), 0]) }) },
  { name: "CONNACK return code above 5", status: "MALFORMED_PACKET", make: (d) => ({ connack: false, bytes: packet(0x20, [0, d.pick([6, 0x80, 0xff])]) }) },
  { name: "CONNACK refusal with session present", status: "MALFORMED_PACKET", make: (d) => ({ connack: false, bytes: packet(0x20, [1, d.between(1, 5)]) }) },
  { name: "CONNACK of the wrong length", status: "MALFORMED_PACKET", make: (d) => ({ connack: false, bytes: packet(0x20, d.pick([[0], [0, 0, 0]])) }) },
  { name: "CONNACK refusal, return codes 1–5", status: "CONNACK_*", make: (d) => ({ connack: false, bytes: connack(false, d.between(1, 5)) }) },
  { name: "a packet other than CONNACK first", status: "PROTOCOL_ERROR", make: (d) => ({ connack: false, bytes: d.pick([pingresp(), puback(1), publish({ topic: "a", payload: "x" })]) }) },
  { name: "a second CONNACK", status: "PROTOCOL_ERROR", make: (d) => ({ bytes: connack(d.chance(0.5), 0) }) },
  { name: "PUBLISH larger than the receive buffer", status: "OK", make: (d, _ids, shape) => {
    const qos = d.int(3) as 0 | 1 | 2;
    // a quarter of them with a topic about the buffer's size: past rxCapacity − 7 bytes it is discarded unread
    const topic = d.chance(0.25) ? "t".repeat(shape.rxCapacity - d.int(9)) : "big";
    const big = { topic, payload: new Uint8Array(shape.rxCapacity + d.int(64)), qos, packetId: qos > 0 ? d.between(1, 9) : undefined };
    // at QoS 2, half the time its resend before PUBREL: answered again, not counted again
    return { bytes: qos === 2 && d.chance(0.5) ? concat([publish(big), publish({ ...big, dup: true })]) : publish(big) };
  } },
  { name: "other packet larger than the receive buffer", status: "PACKET_TOO_LARGE", make: (d, _ids, shape) => ({
    bytes: d.chance(0.5) ? suback(1, new Array(shape.rxCapacity).fill(0)) : Uint8Array.from([0x40, ...encodeRemainingLength(shape.rxCapacity + 100)]),
  }) },
  { name: "more unreleased QoS 2 PUBLISHes than inbound slots", status: "OK", make: (d, _ids, shape) => {
    const slots = shape.inboundQos2Slots;
    const message = (i: number, dup = false) => publish({ topic: "q", payload: `${i}`, qos: 2, packetId: 100 + i, dup });
    // then resends of some of them: an id the full table forgot is delivered again, a held one only answered
    const resends = d.pick([[0], [slots], [slots, 0], [1, slots - 1]]).map((i) => message(i, true));
    return { bytes: concat([...Array.from({ length: slots + 1 }, (_, i) => message(i)), ...resends]) };
  } },
  { name: "PUBACK for a QoS 2 PUBLISH", status: "OK", make: (_d, ids) => {
    const id = ids.take();
    return { before: [{ op: "publish", topic: "q2", payload: "x", qos: 2, retain: false }], bytes: puback(id) };
  } },
  { name: "PUBREC for a QoS 1 PUBLISH", status: "PROTOCOL_ERROR", make: (_d, ids) => {
    const id = ids.take();
    return { before: [{ op: "publish", topic: "q1", payload: "x", qos: 1, retain: false }], bytes: pubrec(id) };
  } },
  { name: "PUBCOMP for a QoS 2 PUBLISH awaiting PUBREC", status: "PROTOCOL_ERROR", make: (_d, ids) => {
    const id = ids.take();
    return { before: [{ op: "publish", topic: "q2", payload: "x", qos: 2, retain: false }], bytes: pubcomp(id) };
  } },
];

/** Input `index` of class `cls` for `seed`. */
export function generate(seed: number, cls: InputClass, index: number, profile: string, kind: ModuleKind, shape: Shape): Input {
  const d = new Draw(new Random(seed).fork(`${cls}/${index}`));
  const ids = new Ids(kind);
  let steps: Step[];
  switch (cls) {
    case "random-bytes": steps = randomBytes(d); break;
    case "mutated-corpus": steps = mutatedCorpus(d, ids, kind); break;
    case "malformed": steps = malformed(d, ids, kind, shape, MALFORMED[index % MALFORMED.length]); break;
    case "chunking": steps = chunking(seed, index, kind, shape); break;
    case "app-interleaved": steps = appInterleaved(d, ids, kind); break;
  }
  return { seed, cls, index, profile, kind, steps };
}

/** Steps delivering `bytes` cut at random points (or whole). */
function chunked(d: Draw, bytes: Uint8Array): Step[] {
  if (d.chance(0.3)) return [{ op: "rx", bytes }];
  const steps: Step[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = Math.min(bytes.length - at, d.between(1, d.chance(0.5) ? 4 : 40));
    steps.push({ op: "rx", bytes: bytes.slice(at, at + n) });
    at += n;
  }
  return steps;
}

function randomBytes(d: Draw): Step[] {
  const headers = [0x20, 0x30, 0x32, 0x34, 0x3b, 0x40, 0x50, 0x62, 0x70, 0x90, 0xb0, 0xd0];
  const body = d.bytes(d.between(1, 48));
  if (d.chance(0.5)) body[0] = d.pick(headers);
  const steps: Step[] = d.chance(0.9) ? [{ op: "rx", bytes: connack(d.chance(0.5), 0) }] : [];
  return [...steps, ...chunked(d, body)];
}

/** A valid stream: CONNACK, then 1–8 packets. */
function corpusStream(d: Draw, ids: Ids, kind: ModuleKind): Uint8Array[] {
  return [connack(d.chance(0.5), 0), ...Array.from({ length: d.between(1, 8) }, () => validPacket(d, ids, kind))];
}

function mutatedCorpus(d: Draw, ids: Ids, kind: ModuleKind): Step[] {
  const before: Step[] = kind === "client" ? appRequests(d, ids, d.int(4)) : [];
  if (d.chance(0.15)) before.unshift({ op: "throttle", bytes: d.between(1, 16) });
  const packets = corpusStream(d, ids, kind);
  for (let n = d.between(1, 3); n > 0; n--) mutate(d, packets, ids, kind);
  return [...before, ...chunked(d, concat(packets))];
}

/** One mutation of the stream; the CONNACK (packet 0) is spared 85 % of the time. */
function mutate(d: Draw, packets: Uint8Array[], ids: Ids, kind: ModuleKind): void {
  const target = packets.length > 1 && d.chance(0.85) ? d.between(1, packets.length - 1) : d.int(packets.length);
  const p = packets[target];
  const at = d.int(p.length + 1);
  switch (d.int(7)) {
    case 0: { // bit flip
      const q = p.slice();
      q[Math.min(at, q.length - 1)] ^= 1 << d.int(8);
      packets[target] = q;
      break;
    }
    case 1: // insert
      packets[target] = concat([p.subarray(0, at), d.bytes(d.between(1, 4)), p.subarray(at)]);
      break;
    case 2: // delete
      packets[target] = concat([p.subarray(0, at), p.subarray(at + d.between(1, 4))]);
      break;
    case 3: { // Remaining Length corruption: another value, a continuation, a long or non-minimal encoding
      let lengthBytes = 1;
      while (lengthBytes < 4 && p[lengthBytes] & 0x80) lengthBytes++;
      const body = p.subarray(1 + lengthBytes);
      const choices = [[(body.length + 1) & 0x7f], [Math.max(0, body.length - 1) & 0x7f], [d.int(256)], [0xff, 0xff, 0xff, 0xff, 0x7f], [0x80 | body.length, 0x00], [0x80, 0x80, 0x80, 0x00], encodeRemainingLength(d.int(2 ** 28))];
      packets[target] = concat([p.subarray(0, 1), Uint8Array.from(d.pick(choices)), body]);
      break;
    }
    case 4: // truncation
      packets[target] = p.subarray(0, at);
      break;
    case 5: // duplication
      packets.splice(target, 0, p);
      break;
    default: { // splicing: a piece of another stream
      const other = concat(corpusStream(d, ids, kind));
      const from = d.int(other.length);
      packets.splice(target, 0, other.subarray(from, from + d.between(1, 24)));
    }
  }
}

function malformed(d: Draw, ids: Ids, kind: ModuleKind, shape: Shape, bad: MalformedCase): Step[] {
  const made = bad.make(d, ids, shape);
  const before = made.before && kind === "client" ? made.before : [];
  const prefix: Uint8Array[] = made.connack === false ? [] : [connack(d.chance(0.5), 0)];
  if (made.connack !== false) {
    // packets that owe answers, so a close must still send them
    for (let n = d.int(3); n > 0; n--) prefix.push(d.pick([publish({ topic: "p", payload: "1", qos: 1, packetId: d.between(1, 9) }), publish({ topic: "p", payload: "2", qos: 2, packetId: d.between(10, 19) }), pubrel(d.between(20, 29))]));
  }
  // valid packets that change nothing: a SUBACK or UNSUBACK answering no request would close the connection (boards/ABI.md)
  const after = Array.from({ length: d.int(3) }, () => validPacket(d, ids, kind)).filter((p) => p[0] !== 0x90 && p[0] !== 0xb0);
  // a case answering a request delivers the CONNACK alone: the request goes out when that rxCommit returns
  const connackAlone: Step[] = before.length > 0 ? [{ op: "rx", bytes: prefix.shift()! }] : [];
  const bytes = concat([...prefix, made.bytes, ...after]);
  return [...before, ...connackAlone, ...(d.chance(0.7) ? [{ op: "rx", bytes } as Step] : chunked(d, bytes))];
}

/** 64 consecutive inputs share a stream, derived from the group, and take every chunk size from 1 to 64. */
function chunking(seed: number, index: number, kind: ModuleKind, shape: Shape): Step[] {
  const group = Math.floor(index / CHUNKING_GROUP);
  const d = new Draw(new Random(seed).fork(`chunking-stream/${group}`));
  const ids = new Ids(kind);
  const before: Step[] = kind === "client" ? appRequests(d, ids, d.int(3)) : [];
  let bytes: Uint8Array;
  if (d.chance(0.5)) bytes = concat(corpusStream(d, ids, kind));
  else {
    const bad = d.pick(MALFORMED.filter((m) => !m.name.includes("larger")));
    const made = bad.make(d, ids, shape);
    bytes = concat([...(made.connack === false ? [] : [connack(d.chance(0.5), 0)]), validPacket(d, ids, kind), made.bytes]);
    if (made.before && kind === "client") before.push(...made.before);
  }
  const size = (index % CHUNKING_GROUP) + 1;
  const steps: Step[] = [...before];
  for (let at = 0; at < bytes.length; at += size) steps.push({ op: "rx", bytes: bytes.slice(at, at + size) });
  return steps;
}

/** `n` application publishes and subscribes (client API), with their ids predicted. */
function appRequests(d: Draw, ids: Ids, n: number): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < n; i++) {
    if (d.chance(0.7)) {
      const qos = d.int(3);
      steps.push({ op: "publish", topic: d.pick(["out/a", "out/b", "\u00fc"]), payload: "m".repeat(d.int(20)), qos, retain: d.chance(0.2) });
      if (qos > 0) (qos === 1 ? ids.qos1 : ids.qos2).push(ids.take());
    } else {
      const filters: [string, number][] = d.pick([[["in/#", 1]], [["in/+/x", 2], ["in/y", 0]], [["$SYS/#", 0]]]);
      steps.push({ op: "subscribe", filters });
      ids.subscribes.push([ids.take(), filters.length]);
    }
  }
  return steps;
}

function appInterleaved(d: Draw, ids: Ids, kind: ModuleKind): Step[] {
  const steps: Step[] = [];
  const subscribed: string[] = [];
  if (kind === "client") steps.push(...appRequests(d, ids, d.int(3)));
  steps.push({ op: "rx", bytes: connack(d.chance(0.5), 0) });
  for (let n = d.between(4, 24); n > 0; n--) {
    const roll = d.int(12);
    if (kind === "client" && roll < 3) {
      const qos = d.chance(0.05) ? 3 : d.int(3);
      const topic = d.chance(0.08) ? d.pick(["", "a/+", "#", "x".repeat(80)]) : d.pick(["out/a", "out/b/c", "\u00e9"]);
      steps.push({ op: "publish", topic, payload: "p".repeat(d.int(d.chance(0.1) ? 400 : 30)), qos, retain: d.chance(0.2) });
      if (qos === 1 || qos === 2) (qos === 1 ? ids.qos1 : ids.qos2).push(ids.take());
    } else if (kind === "client" && roll === 3) {
      const filters: [string, number][] = d.chance(0.1) ? [["a/#/b", 1]] : [[d.pick(["in/1", "in/+", "in/#", "x/y"]), d.int(3)]];
      steps.push({ op: "subscribe", filters });
      ids.subscribes.push([ids.take(), filters.length]);
      subscribed.push(filters[0][0]);
    } else if (kind === "client" && roll === 4 && subscribed.length > 0) {
      steps.push({ op: "unsubscribe", filters: [d.pick(subscribed)] });
      ids.unsubscribes.push(ids.take());
    } else if (roll === 5) {
      steps.push({ op: "reconnect", sessionPresent: d.chance(0.6) });
    } else if (roll === 6) {
      steps.push({ op: "tick", ms: d.int(kind === "telemetry" ? 3000 : 500) });
    } else if (roll === 7 && d.chance(0.5)) {
      steps.push({ op: "throttle", bytes: d.chance(0.4) ? 0 : d.between(1, 64) });
    } else if (roll === 8 && d.chance(0.2)) {
      steps.push({ op: "restart", sessionPresent: d.chance(0.5) });
    } else {
      steps.push(...chunked(d, brokerAnswers(d, ids, kind)));
    }
  }
  return steps;
}

/** What a broker sends in reply to the requests so far: the right acks mostly, some wrong, some messages. */
function brokerAnswers(d: Draw, ids: Ids, kind: ModuleKind): Uint8Array {
  const out: Uint8Array[] = [];
  if (ids.qos1.length > 0 && d.chance(0.5)) out.push(puback(ids.qos1.shift()!));
  if (ids.qos2.length > 0 && d.chance(0.5)) {
    const id = ids.qos2.shift()!;
    out.push(d.chance(0.15) ? puback(id) : pubrec(id));
    if (d.chance(0.5)) out.push(pubcomp(id));
    else ids.qos2.push(id);
  }
  if (ids.subscribes.length > 0 && d.chance(0.5)) {
    const [id, count] = ids.subscribes.shift()!;
    out.push(suback(id, Array.from({ length: count }, () => (d.chance(0.1) ? 0x80 : d.int(3)))));
  }
  if (ids.unsubscribes.length > 0 && d.chance(0.5)) out.push(unsuback(ids.unsubscribes.shift()!));
  if (out.length === 0 || d.chance(0.3)) out.push(validPacket(d, ids, kind));
  return concat(out);
}
