/**
 * Edge-case arguments for the exports a host calls with its user's values: the CONNECT
 * and option encoders (configure, setReconnect, setTimeouts), the requests (publish,
 * subscribe, unsubscribe) and the topic checks. Lengths at the edges (0, 1, 2, staging
 * capacity ± 1, 0xffff, 0x10000, 0xffffffff) or anywhere in staging, random flag bits,
 * bool arguments other than 0 and 1, random staging bytes (topic-like, random, or
 * subscribe entries with edge lengths), offline or connected.
 *
 * Case `index` of a seed is derived from (seed, index) alone. Each call must not trap,
 * must return a status its doc comment in assembly/ names, must leave memory as the
 * invariants want it, and a PUBLISH it sends must carry the QoS and retain asked for;
 * the CONNECT of the last configure() accepted must carry exactly its fields and flags.
 * After the calls the module must still work: connect, have every request answered,
 * publish at QoS 1 and complete it, and on netDown reconnect exactly when the last
 * accepted setReconnect's `enabled` was not 0 (boards/ABI.md).
 */
import { Random } from "../../host/sim/random.ts";
import { Status, statusName, type StatusName } from "../../host/status.ts";
import {
  PacketType, concat, connack, parseConnectDetails, puback, pubcomp, pubrec, suback, unsuback, type ConnectDetails, type Packet,
} from "../host/support/mqtt-packets.ts";
import { Device, Stat, State } from "./device.ts";
import { Finding } from "./finding.ts";
import { checkMemory } from "./invariants.ts";

export const ARGUMENT_EXPORTS = ["configure", "setReconnect", "setTimeouts", "publish", "subscribe", "unsubscribe", "checkTopicName", "checkTopicFilter"] as const;
export type ArgumentExport = (typeof ARGUMENT_EXPORTS)[number];

/** A status, or a packet id (> 0) of publish, subscribe and unsubscribe. */
type Outcome = StatusName | "PACKET_ID";

/** The returns each export's doc comment in assembly/ names (publish's 0, "QoS 0 accepted", is OK). */
export const DOCUMENTED: Record<ArgumentExport, readonly Outcome[]> = {
  configure: ["OK", "INVALID_STATE", "INVALID_ARGUMENT", "INVALID_TOPIC", "INVALID_QOS", "PACKET_TOO_LARGE"],
  setReconnect: ["OK", "INVALID_ARGUMENT"],
  setTimeouts: ["OK", "INVALID_ARGUMENT"],
  publish: ["PACKET_ID", "OK", "INVALID_QOS", "INVALID_ARGUMENT", "INVALID_TOPIC", "PACKET_TOO_LARGE", "NO_PACKET_ID", "OUTBOX_FULL"],
  subscribe: ["PACKET_ID", "INVALID_ARGUMENT", "INVALID_FILTER", "INVALID_QOS", "INVALID_STATE", "PACKET_TOO_LARGE", "SUBSCRIPTIONS_FULL", "NO_PACKET_ID"],
  unsubscribe: ["PACKET_ID", "INVALID_ARGUMENT", "INVALID_FILTER", "INVALID_STATE", "PACKET_TOO_LARGE", "NO_PACKET_ID"],
  checkTopicName: ["OK", "INVALID_TOPIC", "INVALID_ARGUMENT"],
  checkTopicFilter: ["OK", "INVALID_FILTER", "INVALID_ARGUMENT"],
};

/** Event kinds (boards/ABI.md, "Events"). */
const EVENT_PUBLISH_DONE = 5;
const EVENT_CLOSED = 8;
const EVENT_BACKOFF = 9;
/** Rounds of answering what the module sent before it must be idle. */
const ANSWER_ROUNDS = 16;

export interface ArgumentCall {
  name: ArgumentExport;
  args: number[];
  /** The whole staging buffer as the call finds it. */
  staging: Uint8Array;
}

export interface ArgumentCase {
  seed: number;
  index: number;
  profile: string;
  /** Configured, started and accepted by a CONNACK before the calls. */
  connected: boolean;
  calls: ArgumentCall[];
}

/** What the module is: staging capacity and subscription slots, from its stats block. */
export interface ArgumentShape {
  stagingCapacity: number;
  subscriptionSlots: number;
}

export function shapeOf(profile: string): ArgumentShape {
  const d = new Device("client", profile);
  const stats = d.stats();
  d.release();
  return { stagingCapacity: stats[Stat.stagingCapacity], subscriptionSlots: stats[Stat.subscriptionCapacity] };
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** Case `index` of `seed`. */
export function generateCase(seed: number, index: number, profile: string, shape: ArgumentShape): ArgumentCase {
  const r = new Random(seed).fork(`arguments/${index}`);
  const int = (n: number): number => r.next() % n;
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  const cap = shape.stagingCapacity;
  const length = (): number => (r.float() < 0.6 ? pick([0, 1, 2, cap - 1, cap, cap + 1, 0xffff, 0x10000, 0xffffffff]) : int(cap + 1));
  const small = (): number => (r.float() < 0.7 ? int(12) : length());
  const flags = (): number => pick([r.next(), r.next() & 0x7f, (1 << int(32)) >>> 0, 0]);
  const bool = (): number => pick([0, 1, 2, 0xff, 0x100, 0xffffffff]);
  const time = (): number => pick([0, 1, 100, 1000, 0x7fffffff, 0xffffffff, r.next()]);
  const count = (): number => (r.float() < 0.5 ? 1 + int(3) : pick([0, shape.subscriptionSlots, shape.subscriptionSlots + 1, 0xffff, 0xffffffff]));
  const qos = (): number => (r.float() < 0.7 ? int(3) : pick([3, 0xffffffff, r.next()]));
  /** configure's arguments: half of them consistent (absent fields empty, a password only with a username). */
  const configure = (): number[] => {
    if (r.float() < 0.5) return [small(), small(), small(), small(), small(), flags(), pick([0, 1, 60, 0xffff, 0x10000, 0xffffffff])];
    const f = int(0x80) & ~(int(2) === 0 ? 0x60 : 0);
    const user = (f & 2) !== 0 || (f & 4) !== 0;
    const will = (f & 8) !== 0;
    const bits = (f & 0x69) | (user ? 2 : 0) | (f & 4) | (will ? f & 0x10 : 0);
    return [int(24), user ? int(12) : 0, (f & 4) !== 0 ? int(12) : 0, will ? 1 + int(8) : 0, will ? int(12) : 0, will ? bits : bits & 7, int(0x10000)];
  };
  const TOPIC_BYTES = [0x61, 0x62, 0x2f, 0x2f, 0x2b, 0x23, 0x24, 0x00, 0xc3, 0xa9, 0xff];
  /** Staging bytes: topic-like (0), subscribe entries (1), or random (2); requests get entries more often. */
  const staging = (request: boolean): Uint8Array => {
    const bytes = Uint8Array.from({ length: cap }, () => int(256));
    const kind = request && r.float() < 0.6 ? 1 : int(3);
    if (kind === 0) for (let i = 0; i < cap; i++) bytes[i] = r.float() < 0.9 ? 0x61 + int(3) : pick(TOPIC_BYTES);
    if (kind === 1) {
      for (let at = 0; at + 3 <= cap; ) {
        const len = small() & 0xffff;
        bytes[at] = len & 0xff;
        bytes[at + 1] = len >> 8;
        for (let i = 0; i < len && at + 2 + i < cap; i++) bytes[at + 2 + i] = r.float() < 0.9 ? 0x61 + int(3) : pick(TOPIC_BYTES);
        if (at + 2 + len < cap) bytes[at + 2 + len] = pick([0, 1, 2, 3, 0xff]);
        at += 3 + len;
      }
    }
    return bytes;
  };
  const call = (): ArgumentCall => {
    const name = pick(ARGUMENT_EXPORTS);
    const args = {
      configure,
      setReconnect: () => [time(), time(), bool()],
      setTimeouts: () => [time()],
      publish: () => [small(), length(), qos(), bool(), 0],
      subscribe: () => [count(), 0],
      unsubscribe: () => [count(), 0],
      checkTopicName: () => [length()],
      checkTopicFilter: () => [length()],
    }[name]();
    return { name, args, staging: staging(name === "subscribe" || name === "unsubscribe") };
  };
  return { seed, index, profile, connected: r.float() < 0.5, calls: Array.from({ length: 1 + int(6) }, call) };
}

/** Plays a case; returns the first finding, or undefined when every check held. */
export function runCase(c: ArgumentCase, observe?: (name: ArgumentExport, outcome: string) => void): Finding | undefined {
  const d = new Device("client", c.profile);
  try {
    play(d, c, observe);
    return undefined;
  } catch (error) {
    if (error instanceof Finding) return error;
    throw error;
  } finally {
    d.release();
  }
}

function describe(call: ArgumentCall): string {
  return `${call.name}(${call.args.map(hex).join(", ")})`;
}

function play(d: Device, c: ArgumentCase, observe?: (name: ArgumentExport, outcome: string) => void): void {
  const memorySize = d.exports.memory.buffer.byteLength;
  const capacity = d.exports.stagingCapacity();
  let reconnects = true; // init()'s default
  let reconnectSetting: ArgumentCall | undefined;
  let configured: ArgumentCall | undefined;
  if (c.connected) connect(d);
  for (const call of c.calls) {
    new Uint8Array(d.exports.memory.buffer, d.exports.stagingBuffer(), capacity).set(call.staging.subarray(0, capacity));
    const sent = d.sent.length;
    const fn = d.exports[call.name] as unknown as (...args: number[]) => number;
    const result = d.call(call.name, () => fn(...call.args)) | 0;
    const returnsId = call.name === "publish" || call.name === "subscribe" || call.name === "unsubscribe";
    const outcome: string = returnsId && result > 0 ? "PACKET_ID" : statusName(result);
    observe?.(call.name, outcome);
    if (!(DOCUMENTED[call.name] as readonly string[]).includes(outcome)) {
      throw new Finding("status", `${describe(call)} returned ${result} (${outcome}), not one of its documented ${DOCUMENTED[call.name].join(", ")}`);
    }
    if (call.name === "setReconnect" && result === Status.OK) {
      reconnects = call.args[2] !== 0;
      reconnectSetting = call;
    }
    if (call.name === "configure" && result === Status.OK) configured = call;
    if (call.name === "publish" && result >= 0) checkPublish(call, result, d.sent.slice(sent));
    checkMemory(d, memorySize);
  }
  if (configured !== undefined && d.stat(Stat.state) === State.idle) startConfigured(d, configured);
  stillWorking(d, reconnects, reconnectSetting);
}

/** A PUBLISH that publish() sent at once: the QoS, retain, topic and packet id asked for (§3.3.1). */
function checkPublish(call: ArgumentCall, result: number, sent: Packet[]): void {
  const [topicLen, , qos, retain] = call.args;
  if ((qos === 0) !== (result === 0)) throw new Finding("publish", `${describe(call)} returned ${result} for QoS ${qos}`);
  for (const p of sent.filter((x) => x.type === PacketType.PUBLISH)) {
    const topic = p.body.subarray(2, 2 + ((p.body[0] << 8) | p.body[1]));
    if (((p.flags >> 1) & 3) !== qos || (p.flags & 1) !== (retain !== 0 ? 1 : 0)) {
      throw new Finding("publish", `${describe(call)} sent a PUBLISH with flags ${hex(p.flags)}`);
    }
    if (topic.length !== topicLen || !topic.every((b, i) => b === call.staging[i])) throw new Finding("publish", `${describe(call)} sent another topic`);
  }
}

/** Starts with what an accepted configure() encoded: its CONNECT must carry exactly those fields and flags (§3.1). */
function startConfigured(d: Device, call: ArgumentCall): void {
  const [clientIdLen, usernameLen, passwordLen, willTopicLen, willPayloadLen, flags, keepalive] = call.args;
  const sent = d.sent.length;
  const started = d.call("start", (x) => x.start(d.now));
  if (started !== Status.OK) throw new Finding("still-working", `start after ${describe(call)} returned ${statusName(started)}`);
  d.call("netUp", (x) => x.netUp(d.now));
  const p = d.sent.slice(sent).find((x) => x.type === PacketType.CONNECT);
  if (p === undefined) throw new Finding("connect", `no CONNECT after ${describe(call)}, start and netUp`);
  let connect: ConnectDetails;
  try {
    connect = parseConnectDetails(p);
  } catch (error) {
    throw new Finding("connect", `${describe(call)} encoded a CONNECT that does not parse: ${(error as Error).message}`);
  }
  const fields: Uint8Array[] = [];
  let at = 0;
  for (const len of [clientIdLen, usernameLen, passwordLen, willTopicLen, willPayloadLen]) {
    fields.push(call.staging.subarray(at, at + len));
    at += len;
  }
  const [clientId, username, password, willTopic, willPayload] = fields;
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  const will = (flags & 8) !== 0;
  const expectedFlags = ((flags & 1) << 1) | (will ? 0x04 | (((flags >> 5) & 3) << 3) | ((flags & 16) << 1) : 0) | ((flags & 4) << 4) | ((flags & 2) << 6);
  const wrong = [
    connect.flags !== expectedFlags && `flags ${hex(connect.flags)}, expected ${hex(expectedFlags)}`,
    connect.keepalive !== keepalive && `keepalive ${connect.keepalive}`,
    connect.clientId !== text(clientId) && "client id",
    (flags & 2) !== 0 && connect.username !== text(username) && "username",
    (flags & 4) !== 0 && !same(connect.password, password) && "password",
    will && (connect.will?.topic !== text(willTopic) || !same(connect.will?.payload, willPayload)) && "will",
  ].filter(Boolean);
  if (wrong.length > 0) throw new Finding("connect", `${describe(call)} encoded a CONNECT with another ${wrong.join(", ")}`);
  const accepted = d.commit(connack(false, 0));
  if (accepted !== Status.OK) throw new Finding("still-working", `the CONNACK to ${describe(call)}'s CONNECT returned ${statusName(accepted)}`);
}

const same = (a: Uint8Array | undefined, b: Uint8Array): boolean => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** Configures a plain client, starts it and accepts its CONNECT. */
function connect(d: Device): void {
  const id = new TextEncoder().encode("fuzz-arguments");
  d.stage(id);
  const configured = d.call("configure", (x) => x.configure(id.length, 0, 0, 0, 0, 1, 30));
  if (configured !== Status.OK) throw new Finding("still-working", `a valid configure returned ${statusName(configured)}`);
  const started = d.call("start", (x) => x.start(d.now));
  if (started !== Status.OK) throw new Finding("still-working", `start returned ${statusName(started)}`);
  d.call("netUp", (x) => x.netUp(d.now));
  const accepted = d.commit(connack(false, 0));
  if (accepted !== Status.OK || d.stat(Stat.state) !== State.connected) throw new Finding("still-working", `not connected after a CONNACK (status ${accepted}, state ${d.stat(Stat.state)})`);
}

/** What a broker answers to a client packet: PUBACK / PUBREC, PUBCOMP, SUBACK granting what was asked, UNSUBACK. */
function answer(p: Packet): Uint8Array | undefined {
  const u16 = (at: number): number => (p.body[at] << 8) | p.body[at + 1];
  if (p.type === PacketType.PUBLISH) {
    const qos = (p.flags >> 1) & 3;
    const id = u16(2 + u16(0));
    return qos === 1 ? puback(id) : qos === 2 ? pubrec(id) : undefined;
  }
  if (p.type === PacketType.PUBREL) return pubcomp(u16(0));
  if (p.type === PacketType.UNSUBSCRIBE) return unsuback(u16(0));
  if (p.type === PacketType.SUBSCRIBE) {
    const codes: number[] = [];
    for (let at = 2; at < p.body.length; at += 3 + u16(at)) codes.push(p.body[at + 2 + u16(at)]);
    return suback(u16(0), codes);
  }
  return undefined;
}

/** After the calls: connected, every request answered, a QoS 1 publish completes, netDown reconnects as setReconnect said. */
function stillWorking(d: Device, reconnects: boolean, reconnectSetting: ArgumentCall | undefined): void {
  if (d.stat(Stat.state) !== State.connected) connect(d);
  let answered = 0;
  for (let round = 0; round < ANSWER_ROUNDS && answered < d.sent.length; round++) {
    const answers = d.sent.slice(answered).map(answer).filter((a): a is Uint8Array => a !== undefined);
    answered = d.sent.length;
    if (answers.length > 0) {
      const status = d.commit(concat(answers));
      if (status !== Status.OK) throw new Finding("still-working", `answering the requests as a broker would closed the connection (${statusName(status)})`);
    }
    d.call("tick", (x) => x.tick(d.now));
  }
  const topic = new TextEncoder().encode("fuzz/after");
  d.stage(concat([topic, Uint8Array.of(0x6f, 0x6b)]));
  const sent = d.sent.length;
  const id = d.call("publish", (x) => x.publish(topic.length, 2, 1, 0, d.now));
  const out = d.sent.slice(sent).filter((p) => p.type === PacketType.PUBLISH);
  if (id <= 0 || out.length !== 1) throw new Finding("still-working", `a QoS 1 publish returned ${id} and sent ${out.length} PUBLISH`);
  const events = d.events.length;
  d.commit(puback(id));
  if (!d.events.slice(events).some((e) => e.kind === EVENT_PUBLISH_DONE && e.arg === id)) throw new Finding("still-working", `no PUBLISH_DONE for id ${id} after its PUBACK`);
  const before = d.events.length;
  d.call("netDown", (x) => x.netDown(d.now, 0));
  const kinds = d.events.slice(before).map((e) => e.kind);
  const reconnecting = kinds.includes(EVENT_BACKOFF) && !kinds.includes(EVENT_CLOSED);
  if (reconnecting !== reconnects) {
    const setting = reconnectSetting === undefined ? "init()'s default" : describe(reconnectSetting);
    throw new Finding("reconnect-flag", `after ${setting} returned OK, netDown ${reconnecting ? "reconnects" : "closes for good"} (events ${kinds.join(", ")})`);
  }
}

export interface ArgumentRun {
  cases: number;
  calls: number;
  /** Per export, how often each outcome was returned. */
  outcomes: Record<ArgumentExport, Record<string, number>>;
  findings: { c: ArgumentCase; finding: Finding }[];
}

/** Cases 0 … cases − 1 of `seed`. */
export function runArguments(seed: number, cases: number, profile = "nodemcu"): ArgumentRun {
  const shape = shapeOf(profile);
  const outcomes = Object.fromEntries(ARGUMENT_EXPORTS.map((name) => [name, {}])) as ArgumentRun["outcomes"];
  const findings: ArgumentRun["findings"] = [];
  let calls = 0;
  for (let index = 0; index < cases; index++) {
    const c = generateCase(seed, index, profile, shape);
    const finding = runCase(c, (name, outcome) => {
      calls++;
      outcomes[name][outcome] = (outcomes[name][outcome] ?? 0) + 1;
    });
    if (finding !== undefined) findings.push({ c, finding });
  }
  return { cases, calls, outcomes, findings };
}
