/**
 * The oracle: plays one {@link Input} against a fresh module instance and the
 * {@link Reference} side by side, and throws a {@link Finding} at the first check the
 * module fails. After every rxCommit the module's status, deliveries, answers,
 * PUBLISH_DONE and connection events must be the reference's; every outbound packet
 * goes through {@link OutboundCheck}; while netSend is throttled the comparison is
 * cumulative (the module may answer in a later tick); after every step the stats invariants hold; after
 * the input the memory invariants hold, and a reconnect (netDown → netUp → CONNACK)
 * must bring every unfinished message out again and complete it, after which a new
 * publish goes out.
 */
import { Status } from "../host/support/module-bench.ts";
import { PacketType, concat, connack, puback, pubcomp, pubrec, suback, unsuback, type Packet } from "../host/support/mqtt-packets.ts";
import { Device, Stat, State, type RecordedEvent } from "./device.ts";
import { Finding, Inconclusive } from "./finding.ts";
import type { Input, Step } from "./input.ts";
import { checkMemory, checkStats } from "./invariants.ts";
import { OutboundCheck } from "./outbound.ts";
import { EVENT_CONNECTION_LOST, EVENT_CONNECT_FAILED, EVENT_MESSAGE_DROPPED, Reference, isTopicName, type Capacities, type Verdict } from "./reference.ts";

const EVENT_BACKOFF = 9;
const EVENT_PUBLISH_DONE = 5;
const EVENT_SUBACK = 6;
const EVENT_UNSUBACK = 7;
const EVENT_CLOSED = 8;
/** Reconnect backoff bounds for every input: short, so a reconnect costs little virtual time. */
const BACKOFF_MS = 100;
/** Rounds of answering the resent packets before the drain gives up. */
const DRAIN_ROUNDS = 64;
/** Ticks the module gets to catch up with a throttled network; the ms between them. */
const SETTLE_TICKS = 2000;
const TICK_MS = 5;
/** Attempts to bring a connection up before that counts as a stall. */
const CONNECT_ATTEMPTS = 8;
/** The board of tests/host/firmware.test.ts (nodemcu-v3) for the telemetry module. */
const BOARD = [10, 1000, 3200, 0, 1, 767, 352, 2, 5, 1] as const;
const encoder = new TextEncoder();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Inputs that turned {@link Inconclusive}, counted by whoever passes it. */
export interface RunCounts {
  inconclusive: number;
}

/** Makes the reference a run compares against; the fuzzer's own tests give a wrong one to see a finding. */
export type ReferenceFactory = (capacities: Capacities) => Reference;
const newReference: ReferenceFactory = (capacities) => new Reference(capacities);

/** Plays `input`; returns the first finding, or undefined when the module passed every check (or the input proved nothing, counted in `counts`). */
export function runInput(input: Input, counts?: RunCounts, reference: ReferenceFactory = newReference): Finding | undefined {
  const run = new Run(input, reference);
  try {
    run.play();
    return undefined;
  } catch (error) {
    if (error instanceof Inconclusive) {
      if (counts) counts.inconclusive++;
      return undefined;
    }
    if (!(error instanceof Finding)) throw error;
    return error;
  } finally {
    run.release();
  }
}

class Run {
  private readonly device: Device;
  private readonly reference: Reference;
  private readonly outbound: OutboundCheck;
  private readonly memorySize: number;
  private stats: Uint32Array;
  /** What the reference said must happen and what the module did, while the network is throttled. */
  private owed = emptyLedger();
  private seen = emptyLedger();
  /** A throttled commit happened and the module has not been seen to catch up since. */
  private behind = false;
  /** Outbound packets held back while publish() runs, until the message is known. */
  private deferred: Packet[] | undefined;

  constructor(private readonly input: Input, reference: ReferenceFactory) {
    this.device = new Device(input.kind, input.profile);
    this.stats = this.device.stats();
    this.memorySize = this.device.exports.memory.buffer.byteLength;
    this.reference = reference({ rx: this.stats[Stat.rxCapacity], inboundQos2: this.stats[Stat.inboundQos2Capacity] });
    this.outbound = new OutboundCheck(this.reference, this.stats[Stat.inflightCapacity], input.kind === "client");
    this.reference.publishesUnseen = input.kind === "telemetry";
    this.reference.subscriptionSlots = this.stats[Stat.subscriptionCapacity];
    this.device.onPacketSent = (p) => (this.deferred ? this.deferred.push(p) : this.outbound.sent(p));
    this.device.onNetOpen = () => this.outbound.opening();
  }

  /** Gives the module instance back for reuse. */
  release(): void {
    this.device.release();
  }

  play(): void {
    this.setUp();
    for (const step of this.input.steps) {
      this.step(step);
      this.stats = checkStats(this.device, this.stats, this.device.messages.length);
    }
    this.drain();
    checkMemory(this.device, this.memorySize);
  }

  /** Configures and starts the module, then netUp: the CONNECT is out, the CONNACK is the input's. */
  private setUp(): void {
    const d = this.device;
    const e = d.exports;
    const expectOk = (what: string, status: number): void => {
      if (status !== Status.OK) throw new Error(`${what} returned ${status}: the fuzzer's set-up is wrong`);
    };
    // a split telemetry module may keep its own backoff settings: bringUp() waits out whatever BACKOFF says
    if (typeof e.setReconnect === "function") expectOk("setReconnect", d.call("setReconnect", (x) => x.setReconnect(BACKOFF_MS, BACKOFF_MS, 1)));
    if (this.input.kind === "client") {
      const id = encoder.encode("fuzz");
      d.stage(id);
      expectOk("configure", d.call("configure", (x) => x.configure(id.length, 0, 0, 0, 0, 0, 0))); // persistent session, no keepalive
      expectOk("start", d.call("start", (x) => x.start(d.now)));
    } else {
      if (e.boardConfigure === undefined || e.appConfigure === undefined || e.appStart === undefined) throw new Error(`${d.compiled.path} lacks the firmware exports`);
      expectOk("boardConfigure", d.call("boardConfigure", (x) => x.boardConfigure!(...BOARD)));
      const id = encoder.encode("fuzz");
      d.stage(id);
      expectOk("appConfigure", d.call("appConfigure", (x) => x.appConfigure!(id.length, 1, 0, 0, 0, 1)));
      expectOk("appStart", d.call("appStart", (x) => x.appStart!(d.now)));
    }
    this.netUp();
  }

  private step(step: Step): void {
    switch (step.op) {
      case "rx": return this.receive(step.bytes);
      case "publish": return this.publish(step);
      case "subscribe": return this.request(step.filters, true);
      case "unsubscribe": return this.request(step.filters.map((f) => [f, 0]), false);
      case "reconnect":
        this.settle();
        this.bringDown();
        return this.bringUp(step.sessionPresent);
      case "restart":
        return this.restart(step.sessionPresent);
      case "throttle":
        this.device.sendLimit = step.bytes;
        if (step.bytes === 0) this.settle();
        return;
      case "tick":
        return this.tick(step.ms);
    }
  }

  /** Virtual time passes and tick() runs; what it does goes to the ledger. */
  private tick(ms: number): void {
    const d = this.device;
    const marks = this.marks();
    d.now = (d.now + ms) >>> 0;
    d.call("tick", (x) => x.tick(d.now));
    this.observe("tick", this.effectsSince(marks));
  }

  /**
   * Ticks until the module has caught up with the bytes it was given: the tick ends
   * with nothing left in the tx ring, so every complete packet is parsed. Then what it
   * did must be exactly what the reference said.
   */
  private settle(): void {
    if (!this.behind && this.device.stat(Stat.txUsed) === 0) return;
    for (let i = 0; i < SETTLE_TICKS; i++) {
      this.tick(TICK_MS);
      if (this.device.stat(Stat.txUsed) === 0) {
        for (const track of TRACKS) {
          const owed = this.owed[track].join();
          const seen = this.seen[track].join();
          if (owed !== seen) throw new Finding(TRACK_CHECK[track], `after the network caught up: ${track} [${seen}], expected [${owed}]`);
        }
        this.owed = emptyLedger();
        this.seen = emptyLedger();
        this.behind = false;
        return;
      }
    }
    throw new Finding("stall", `the tx ring did not empty in ${SETTLE_TICKS} ticks at ${this.device.sendLimit} bytes per netSend`);
  }

  /** stop() (appStop() for the firmware): CLOSED(CLIENT_STOPPED); then start() (appStart()), netUp and the CONNACK. */
  private restart(sessionPresent: boolean): void {
    const d = this.device;
    this.settle();
    const marks = this.marks();
    const firmware = this.input.kind === "telemetry" && typeof d.exports.appStop === "function";
    const status = firmware ? d.call("appStop", (x) => x.appStop!(d.now)) : d.call("stop", (x) => x.stop(d.now));
    this.reference.closed();
    this.outbound.connectionClosed(d.sendLimit > 0); // a throttled netSend may have cut off what stop() wrote
    const closes = this.effectsSince(marks).closes;
    if (status !== Status.OK || closes.join() !== `${EVENT_CLOSED}/${Status.CLIENT_STOPPED}/0`) {
      throw new Finding("events", `stop() returned ${status} with connection events [${closes}], expected OK and [${EVENT_CLOSED}/${Status.CLIENT_STOPPED}/0]`);
    }
    if (d.stat(Stat.state) !== State.stopped) throw new Finding("status", `state ${d.stat(Stat.state)} after stop(), expected ${State.stopped}`);
    const started = this.input.kind === "client" ? d.call("start", (x) => x.start(d.now)) : d.call("appStart", (x) => x.appStart!(d.now));
    if (started !== Status.OK) throw new Finding("status", `start() after stop() returned ${started}`);
    this.bringUp(sessionPresent);
  }

  /** Feeds bytes as the host would: at most rxSpace() per rxCommit, checking each commit against the reference. */
  private receive(bytes: Uint8Array): void {
    const d = this.device;
    let at = 0;
    while (at < bytes.length) {
      let space = d.call("rxSpace", (x) => x.rxSpace());
      for (let i = 0; space === 0 && d.sendLimit > 0 && i < SETTLE_TICKS; i++) {
        this.tick(TICK_MS);
        space = d.call("rxSpace", (x) => x.rxSpace());
      }
      if (space === 0) throw new Finding("stall", `rxSpace() stays 0 with ${bytes.length - at} bytes to deliver (netSend limit ${d.sendLimit || "none"})`);
      const chunk = bytes.subarray(at, at + Math.min(space, bytes.length - at));
      at += chunk.length;
      this.commit(chunk);
    }
  }

  private commit(chunk: Uint8Array): void {
    const d = this.device;
    this.reference.lenient = this.throttled;
    const expected = this.reference.commit(chunk);
    if (expected.ambiguous) throw new Inconclusive();
    if (expected.connected) this.outbound.connackAccepted();
    const marks = this.marks();
    const status = d.commit(chunk);
    const label = `rxCommit of ${hex(chunk)}`;
    const effects = this.effectsSince(marks);
    if (!this.behind && d.sendLimit === 0) {
      if (status !== expected.status) throw new Finding("status", `${label} returned ${status}, expected ${expected.status}`);
      this.compare(label, expected, effects);
      return;
    }
    // the network is throttled: the module may answer later, in a tick; compare what it did so far
    this.behind = true;
    this.owed.deliveries.push(...expected.deliveries.map(deliveryName));
    this.owed.answers.push(...expected.answers.map((a) => `${typeName(a.type)} ${a.id}`));
    this.owed.done.push(...expected.done.map(String));
    if (expected.close) this.owed.closes.push(closeName(expected.close));
    if (status !== Status.OK && !this.owed.closes.some((c) => c.split("/")[1] === String(status))) {
      throw new Finding("status", `${label} returned ${status}; the connection events owed are [${this.owed.closes}]`);
    }
    this.observe(label, effects);
  }

  /** netSend may be leaving written packets unsent: it takes few bytes per call, or did and the module has not caught up. */
  private get throttled(): boolean {
    return this.device.sendLimit > 0 || this.behind || this.device.stat(Stat.txUsed) > 0;
  }

  /** Runs an export call that is not an rxCommit; what it did goes to the ledger. */
  private observed<R>(label: string, fn: () => R): R {
    const marks = this.marks();
    const result = fn();
    this.observe(label, this.effectsSince(marks));
    return result;
  }

  /** Where the recordings stand, to take what one call adds. */
  private marks(): [number, number, number] {
    return [this.device.sent.length, this.device.events.length, this.device.messages.length];
  }

  private effectsSince([sent, events, messages]: [number, number, number]): Effects {
    const d = this.device;
    const ev = d.events.slice(events);
    return {
      sent: d.sent.slice(sent),
      events: ev,
      deliveries: d.messages.slice(messages).map(deliveryName),
      answers: d.sent.slice(sent).filter(isAnswer).map(answerName),
      done: ev.filter((e) => e.kind === EVENT_PUBLISH_DONE).map((e) => String(e.arg)),
      closes: ev.filter(isClose).map(closeName),
    };
  }

  /**
   * What the module did outside a strict commit (a tick, a throttled commit): it must
   * be the next part of what the reference owes. A close nothing owes is the host's
   * or a timer's (the reference's connection ends too); a close that was owed drops the
   * answers still unsent, which a throttled network could not take.
   */
  private observe(label: string, effects: Effects): void {
    for (const id of effects.done) this.outbound.completed(Number(id));
    for (const close of effects.closes) {
      this.outbound.connectionClosed(this.throttled);
      if (this.seen.closes.length >= this.owed.closes.length) {
        this.reference.closed();
        this.owed.closes.push(close);
      }
      this.seen.closes.push(close);
      this.owed.answers.splice(this.seen.answers.length + effects.answers.length);
    }
    this.seen.deliveries.push(...effects.deliveries);
    this.seen.answers.push(...effects.answers);
    this.seen.done.push(...effects.done);
    for (const track of TRACKS) {
      const seen = this.seen[track];
      const owed = this.owed[track];
      if (seen.length > owed.length || seen.some((x, i) => x !== owed[i])) {
        throw new Finding(TRACK_CHECK[track], `${label}: ${track} so far [${seen}], expected a start of [${owed}]`);
      }
    }
  }

  /** A strict commit's effects against its verdict. */
  private compare(label: string, v: Verdict, effects: Effects): void {
    const { sent, events } = effects;
    const expectedDeliveries = v.deliveries.map(deliveryName);
    if (effects.deliveries.join() !== expectedDeliveries.join()) {
      throw new Finding("deliveries", `${label}: delivered [${effects.deliveries}] (topic:payload:flags), expected [${expectedDeliveries}]`);
    }
    const expectedAnswers = v.answers.map((a) => `${typeName(a.type)} ${a.id}`);
    if (effects.answers.join() !== expectedAnswers.join()) throw new Finding("answers", `${label}: answered [${effects.answers}], expected [${expectedAnswers}]`);
    if (v.close === undefined && this.reference.phase === "connected") {
      const pubrels = new Set(sent.filter((p) => p.type === PacketType.PUBREL).map((p) => (p.body[0] << 8) | p.body[1]));
      const missing = v.pubrelsDue.filter((id) => !pubrels.has(id));
      if (missing.length > 0) throw new Finding("answers", `${label}: no PUBREL for ${missing} after their PUBREC`);
    }
    if (effects.done.join() !== v.done.join()) throw new Finding("publish-done", `${label}: PUBLISH_DONE for [${effects.done}], expected [${v.done}]`);
    for (const id of effects.done) this.outbound.completed(Number(id));
    const expectedCloses = v.close ? [closeName(v.close)] : [];
    if (effects.closes.join() !== expectedCloses.join()) throw new Finding("events", `${label}: connection events [${effects.closes}] (kind/code/arg), expected [${expectedCloses}]`);
    if (v.close) this.outbound.connectionClosed(this.throttled);
    // SUBACK/UNSUBACK events for requests the client sent, in order; a SUBACK for an id no request awaits may add its own
    const subackEvents = events.filter((e) => e.kind === EVENT_SUBACK).map((e) => `${e.arg & 0xffff}#${e.arg >>> 16}=${e.code}`);
    const expectedSubacks = v.subacks.flatMap(([id, codes]) => codes.map((c, i) => `${id}#${i}=${c}`));
    if (!isSubsequence(expectedSubacks, subackEvents)) throw new Finding("events", `${label}: SUBACK events [${subackEvents}], expected [${expectedSubacks}] among them`);
    const unsubacks = events.filter((e) => e.kind === EVENT_UNSUBACK).map((e) => String(e.arg));
    if (!isSubsequence(v.unsubacks.map(String), unsubacks)) throw new Finding("events", `${label}: UNSUBACK events [${unsubacks}], expected [${v.unsubacks}] among them`);
    const dropped = events.filter((e) => e.kind === EVENT_MESSAGE_DROPPED).length;
    if (dropped !== v.dropped) throw new Finding("events", `${label}: ${dropped} MESSAGE_DROPPED events, expected ${v.dropped}`);
    for (const counter of ["protocolErrors", "qos2Downgraded", "inboundQos2Overflow"] as const) {
      const value = this.device.stat(Stat[counter]);
      if (value !== this.reference[counter]) throw new Finding("stats", `${label}: ${counter} ${value}, expected ${this.reference[counter]}`);
    }
    const held = this.device.stat(Stat.inboundQos2Used);
    if (held !== this.reference.inboundQos2.size) throw new Finding("stats", `${label}: inboundQos2Used ${held}, expected ${this.reference.inboundQos2.size}`);
    const oversize = this.device.stat(Stat.rxOversizeDropped);
    if (oversize !== this.reference.oversizeDropped) throw new Finding("stats", `${label}: rxOversizeDropped ${oversize}, expected ${this.reference.oversizeDropped}`);
    const state = this.device.stat(Stat.state);
    // a closed connection waits out its backoff, then (after a tick) opens the next one, which only netUp makes the reference's
    const expectedStates: number[] = { awaitConnack: [State.awaitConnack], connected: [State.connected], closed: [State.backoff, State.connecting] }[this.reference.phase];
    if (!expectedStates.includes(state)) throw new Finding("status", `${label}: state ${state} after the commit, expected ${expectedStates.join(" or ")} (${this.reference.phase})`);
  }

  private publish(step: Extract<Step, { op: "publish" }>): void {
    const d = this.device;
    if (this.input.kind !== "client") throw new Error("publish steps are for the client module");
    const topic = encoder.encode(step.topic);
    const payload = encoder.encode(step.payload);
    d.stage(concat([topic, payload]));
    const out: Packet[] = [];
    this.deferred = out;
    let result: number;
    try {
      result = this.observed("publish", () => d.call("publish", (x) => x.publish(topic.length, payload.length, step.qos, step.retain ? 1 : 0, d.now)));
    } finally {
      this.deferred = undefined;
    }
    const valid = isTopicName(topic) && topic.length <= this.stats[Stat.maxTopicLength];
    const label = `publish("${step.topic}", ${payload.length} bytes, QoS ${step.qos})`;
    if (step.qos > 2) {
      if (result !== Status.INVALID_QOS) throw new Finding("status", `${label} returned ${result}, expected INVALID_QOS`);
    } else if (!valid) {
      if (result !== Status.INVALID_TOPIC) throw new Finding("status", `${label} returned ${result}, expected INVALID_TOPIC`);
    } else if (result >= 0) {
      if ((step.qos === 0) !== (result === 0)) throw new Finding("status", `${label} returned ${result}`);
      this.outbound.published(step.qos, result, topic, payload, step.retain);
    } else if (![Status.OUTBOX_FULL, Status.NO_PACKET_ID, Status.PACKET_TOO_LARGE].includes(result as -4)) {
      throw new Finding("status", `${label} returned ${result}`);
    }
    for (const p of out) this.outbound.sent(p); // the packets publish() sent, now that the message is known
  }

  private request(filters: [string, number][], subscribing: boolean): void {
    const d = this.device;
    if (this.input.kind !== "client") throw new Error("subscribe steps are for the client module");
    const parts: number[] = [];
    for (const [filter, qos] of filters) {
      const bytes = encoder.encode(filter);
      parts.push(bytes.length & 0xff, bytes.length >> 8, ...bytes);
      if (subscribing) parts.push(qos);
    }
    d.stage(Uint8Array.from(parts));
    const name = subscribing ? "subscribe" : "unsubscribe";
    const result = this.observed(name, () => d.call(name, (x) => (subscribing ? x.subscribe : x.unsubscribe)(filters.length, d.now)));
    if (result > 0) {
      this.reference.requestIds.add(result);
      this.reference.highestId = Math.max(this.reference.highestId, result);
    }
    const allowed = [Status.INVALID_FILTER, Status.INVALID_QOS, Status.SUBSCRIPTIONS_FULL, Status.INVALID_ARGUMENT, Status.INVALID_STATE, Status.PACKET_TOO_LARGE, Status.NO_PACKET_ID];
    if (result <= 0 && !allowed.includes(result as -6)) throw new Finding("status", `${name}(${JSON.stringify(filters)}) returned ${result}`);
  }

  /** netUp while the module is connecting: the reference sees a new connection. */
  private netUp(): void {
    this.observed("netUp", () => this.device.call("netUp", (x) => x.netUp(this.device.now)));
    if (this.device.stat(Stat.state) === State.awaitConnack) this.reference.opened();
  }

  /** netDown on an open or opening connection. */
  private bringDown(): void {
    const state = this.device.stat(Stat.state);
    if (state !== State.connecting && state !== State.awaitConnack && state !== State.connected) return;
    this.observed("netDown", () => this.device.call("netDown", (x) => x.netDown(this.device.now, 0)));
    this.reference.closed();
  }

  /** Lets the backoff run out, netUp, and accepts with a CONNACK, until connected. */
  private bringUp(sessionPresent: boolean): void {
    for (let attempt = 0; attempt < CONNECT_ATTEMPTS; attempt++) {
      const state = this.device.stat(Stat.state);
      if (state === State.connected) return;
      if (state === State.backoff) {
        const backoff = this.device.events.filter((e) => e.kind === EVENT_BACKOFF).at(-1);
        this.step({ op: "tick", ms: backoff?.arg ?? BACKOFF_MS });
      } else if (state === State.connecting) this.netUp();
      else if (state === State.awaitConnack) this.receive(connack(sessionPresent, 0));
      else throw new Finding("stall", `state ${state}: the module will not reconnect`);
    }
    throw new Finding("stall", `not connected after ${CONNECT_ATTEMPTS} steps of reconnecting`);
  }

  /**
   * The resend check: reconnect, then answer every PUBLISH, PUBREL and request as a
   * broker would until nothing new goes out. Every message accepted must be complete,
   * the outbox empty, and a new publish must go out at once.
   */
  private drain(): void {
    const d = this.device;
    d.sendLimit = 0;
    this.settle();
    this.bringDown();
    const before = d.sent.length;
    this.bringUp(true);
    let answered = before;
    for (let round = 0; round < DRAIN_ROUNDS && answered < d.sent.length; round++) {
      const fresh = d.sent.slice(answered);
      answered = d.sent.length;
      const answers = fresh.map(answerTo).filter((a): a is Uint8Array => a !== undefined);
      if (answers.length > 0) this.receive(concat(answers));
      if (this.reference.phase !== "connected") throw new Finding("resend", `the connection closed while the resent packets were answered correctly`);
    }
    const open = this.outbound.unfinished();
    if (open.length > 0) {
      const m = open[0];
      throw new Finding("resend", `after a reconnect and every packet answered, message seq ${m.seq} (QoS ${m.qos}, id ${m.id}, ${m.firstBytes ? "sent before" : "never sent"}) is not complete`);
    }
    const stats = d.stats();
    if (stats[Stat.outboxUsed] !== 0 || stats[Stat.inflightUsed] !== 0) {
      throw new Finding("resend", `every message complete, yet outboxUsed ${stats[Stat.outboxUsed]}, inflightUsed ${stats[Stat.inflightUsed]}`);
    }
    if (this.input.kind !== "client") return;
    const sent = d.sent.length;
    this.publish({ op: "publish", topic: "fuzz/after", payload: "x", qos: 1, retain: false });
    const fresh = d.sent.slice(sent).filter((p) => p.type === PacketType.PUBLISH);
    const expected = encoder.encode("fuzz/after");
    if (fresh.length !== 1 || !same(fresh[0].body.subarray(2, 2 + expected.length), expected)) {
      throw new Finding("resend", `a publish after the reconnect did not go out (${fresh.length} PUBLISH sent)`);
    }
  }
}

/** The effects the ledger compares, each as a list of names. */
const TRACKS = ["deliveries", "answers", "done", "closes"] as const;
type Track = (typeof TRACKS)[number];
const TRACK_CHECK = { deliveries: "deliveries", answers: "answers", done: "publish-done", closes: "events" } as const;
type Ledger = Record<Track, string[]>;
const emptyLedger = (): Ledger => ({ deliveries: [], answers: [], done: [], closes: [] });

/** What one export call did. */
interface Effects extends Ledger {
  sent: Packet[];
  events: RecordedEvent[];
}

const deliveryName = (m: { topic: Uint8Array; payload: Uint8Array; flags: number }): string => `${hex(m.topic)}:${hex(m.payload)}:${m.flags}`;
const closeName = (e: { kind: number; code: number; arg: number }): string => `${e.kind}/${e.code}/${e.arg}`;
const isClose = (e: RecordedEvent): boolean => e.kind === EVENT_CONNECT_FAILED || e.kind === EVENT_CONNECTION_LOST || e.kind === EVENT_CLOSED;
const isAnswer = (p: Packet): boolean => p.type === PacketType.PUBACK || p.type === PacketType.PUBREC || p.type === PacketType.PUBCOMP;

/** What a broker answers to a client packet (§4.3, §3.9, §3.11), or undefined. */
function answerTo(p: Packet): Uint8Array | undefined {
  const id = (at: number): number => (p.body[at] << 8) | p.body[at + 1];
  if (p.type === PacketType.PUBLISH) {
    const qos = (p.flags >> 1) & 3;
    if (qos === 0) return undefined;
    const packetId = id(2 + id(0));
    return qos === 1 ? puback(packetId) : pubrec(packetId);
  }
  if (p.type === PacketType.PUBREL) return pubcomp(id(0));
  if (p.type === PacketType.UNSUBSCRIBE) return unsuback(id(0));
  if (p.type === PacketType.SUBSCRIBE) {
    const codes: number[] = [];
    for (let at = 2; at < p.body.length; at += 3 + id(at)) codes.push(p.body[at + 2 + id(at)]);
    return suback(id(0), codes);
  }
  return undefined;
}

/** True when every item of `wanted` occurs in `list`, in order. */
function isSubsequence(wanted: string[], list: string[]): boolean {
  let at = 0;
  for (const item of list) if (at < wanted.length && item === wanted[at]) at++;
  return at === wanted.length;
}

const TYPE_NAMES = Object.fromEntries(Object.entries(PacketType).map(([name, value]) => [value, name]));

function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

function answerName(p: Packet): string {
  return `${typeName(p.type)} ${(p.body[0] << 8) | p.body[1]}`;
}
