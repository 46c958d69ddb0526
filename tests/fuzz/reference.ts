/**
 * The fuzzer's reference decoder: an independent TypeScript model of what the module
 * must do with the bytes a broker sends (MQTT 3.1.1 and the rules of boards/ABI.md).
 * It shares no code with `assembly/`. Fed the same chunks as the module, it says for
 * each rxCommit which packets are accepted, which messages are delivered, which
 * answers (PUBACK, PUBREC, PUBCOMP) and PUBLISH_DONE events follow, and whether and
 * with which status the connection closes.
 */
import { Status } from "../../host/status.ts";
import { PacketType } from "../host/support/mqtt-packets.ts";

/** onEvent kind of a skipped oversized PUBLISH (boards/ABI.md, "Oversized messages"). */
export const EVENT_MESSAGE_DROPPED = 10;

/** CONNACK refusals are this − return code (boards/ABI.md, "Status codes"). */
const CONNACK_REFUSED_BASE = -20;
/** onEvent kinds that report an ended connection. */
export const EVENT_CONNECT_FAILED = 2;
export const EVENT_CONNECTION_LOST = 3;

/** Where the outbound flow of one packet id stands, as seen on the wire. */
export type FlowState = "queued" | "puback" | "pubrec" | "pubrelDue" | "pubcomp";

/** An answer the client owes to an inbound packet. */
export interface Answer {
  type: number;
  id: number;
}

/** A message the module must hand to onMessage. */
export interface Delivery {
  topic: Uint8Array;
  payload: Uint8Array;
  flags: number;
}

/** What one rxCommit must do. */
export interface Verdict {
  status: number;
  deliveries: Delivery[];
  answers: Answer[];
  /** PUBLISH_DONE packet ids, in order. */
  done: number[];
  /** Packet ids whose PUBREL became due: each must be sent before the commit returns unless the connection closed. */
  pubrelsDue: number[];
  /** SUBACK events for SUBSCRIBEs the client sent: [packetId, codes]. */
  subacks: [number, number[]][];
  unsubacks: number[];
  dropped: number;
  /** An ack (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK) for a packet that may still sit in the module's tx ring (only while {@link Reference.lenient}): no broker sends one, and the module may take it either way. */
  ambiguous?: boolean;
  /** The connection-ending event, when the input ends it. */
  close?: { kind: number; code: number; arg: number; counted: boolean };
  /** A CONNACK accepted the connection. */
  connected?: { sessionPresent: boolean };
}

type Phase = "awaitConnack" | "connected" | "closed";

/** Capacities the rules depend on, from the module's stats block. */
export interface Capacities {
  rx: number;
  inboundQos2: number;
}

/**
 * An oversized PUBLISH being skipped (boards/ABI.md, "Oversized messages"): its fixed
 * header, the sizes of that header and of the body, the body bytes taken so far, and the
 * start of the body up to the packet id, read until it is answered.
 */
interface Skip {
  header: number;
  headLength: number;
  length: number;
  taken: number;
  head: number[];
  answered: boolean;
}

export class Reference {
  phase: Phase = "closed";
  /** Outbound QoS 1/2 flows by packet id (updated from the outbound stream by the oracle). */
  readonly flows = new Map<number, FlowState>();
  /** SUBSCRIBEs sent on this connection and not answered: packet id → filter count. */
  readonly subscribes = new Map<number, number>();
  readonly unsubscribes = new Set<number>();
  /** Inbound QoS 2 packet ids delivered and not yet released. */
  readonly inboundQos2 = new Set<number>();
  /** The network is throttled: a packet the client wrote may not be on the wire yet (see Verdict.ambiguous). */
  lenient = false;
  /** The module publishes and subscribes by itself (the telemetry firmware): a flow or request may exist before its packet is seen. */
  publishesUnseen = false;
  /**
   * Packet ids a request of the client may hold before its SUBSCRIBE or UNSUBSCRIBE is
   * seen (see Verdict.ambiguous): those subscribe() and unsubscribe() returned (the
   * oracle adds them), and those a CONNACK without session may give the resubscriptions,
   * the next {@link subscriptionSlots} after the {@link highestId}.
   */
  readonly requestIds = new Set<number>();
  /** The highest packet id the client is known to have used (the oracle and the outbound check note them). */
  highestId = 0;
  /** The module's subscription slots (stats subscriptionCapacity): at most that many resubscriptions per CONNACK. */
  subscriptionSlots = 0;
  /** Connections closed because of their input (the stats' protocolErrors). */
  protocolErrors = 0;
  /** The stats' rxOversizeDropped, qos2Downgraded and inboundQos2Overflow, as the rules count them. */
  oversizeDropped = 0;
  qos2Downgraded = 0;
  inboundQos2Overflow = 0;
  private pending: number[] = [];
  private skip: Skip | undefined;

  constructor(private readonly capacities: Capacities) {}

  /** netUp: a new connection awaits its CONNACK. */
  opened(): void {
    this.phase = "awaitConnack";
    this.pending = [];
    this.skip = undefined;
  }

  /** The connection ended for a reason other than its input (netDown, a timeout). */
  closed(): void {
    this.phase = "closed";
    this.pending = [];
    this.skip = undefined;
  }

  /** True while a connection is open (CONNECT sent or session running). */
  isOpen(): boolean {
    return this.phase !== "closed";
  }

  /** The verdict for one rxCommit of `chunk`; updates the model as the module must update itself. */
  commit(chunk: Uint8Array): Verdict {
    const v: Verdict = { status: Status.OK, deliveries: [], answers: [], done: [], pubrelsDue: [], subacks: [], unsubacks: [], dropped: 0 };
    if (this.phase === "closed") return v; // late bytes of a closed connection
    for (const b of chunk) this.pending.push(b);
    let at = 0;
    while (this.isOpen()) {
      if (this.skip !== undefined) {
        const skip = this.skip;
        const need = skip.answered ? skip.length - skip.taken : headNeed(skip) - skip.head.length;
        const take = Math.min(need, this.pending.length - at);
        if (!skip.answered) skip.head.push(...this.pending.slice(at, at + take));
        at += take;
        skip.taken += take;
        if (skip.answered) {
          if (skip.taken < skip.length) break;
          this.skip = undefined;
          continue;
        }
        const status = this.skipping(skip, v);
        if (status !== Status.OK) return this.reject(v, status);
        if (!skip.answered && take < need) break; // the rest of its topic length, topic or packet id is still to come
        continue;
      }
      const available = this.pending.length - at;
      if (available === 0) break;
      const header = this.pending[at];
      let status = checkHeader(header);
      if (status !== Status.OK) return this.reject(v, status);
      const length = remainingLength(this.pending, at + 1);
      if (length === "more") break;
      if (length === "malformed") return this.reject(v, Status.MALFORMED_PACKET);
      const size = 1 + length.bytes + length.value;
      if (size > this.capacities.rx) {
        if (header >> 4 !== PacketType.PUBLISH || this.phase !== "connected") return this.reject(v, Status.PACKET_TOO_LARGE);
        this.skip = { header, headLength: 1 + length.bytes, length: length.value, taken: 0, head: [], answered: false };
        at += 1 + length.bytes;
        continue;
      }
      if (size > available) break;
      const body = Uint8Array.from(this.pending.slice(at + 1 + length.bytes, at + size));
      at += size;
      status = this.handle(header, body, v);
      if (status !== Status.OK) return this.reject(v, status);
    }
    this.pending = this.pending.slice(at);
    return v;
  }

  /**
   * Closes because of the input: rxCommit returns the status (a CONNACK refusal's too),
   * the event reports it, and the answers owed for the packets before it still go out.
   */
  private reject(v: Verdict, status: number): Verdict {
    const refusal = status <= CONNACK_REFUSED_BASE - 1 && status >= CONNACK_REFUSED_BASE - 5;
    v.status = status;
    const kind = this.phase === "awaitConnack" ? EVENT_CONNECT_FAILED : EVENT_CONNECTION_LOST;
    v.close = { kind, code: status, arg: refusal ? CONNACK_REFUSED_BASE - status : 0, counted: !refusal };
    if (!refusal) this.protocolErrors++;
    this.closed();
    return v;
  }

  /** One whole packet. Returns OK or the status the connection closes with. */
  private handle(header: number, body: Uint8Array, v: Verdict): number {
    const type = header >> 4;
    if (this.phase === "awaitConnack") return type === PacketType.CONNACK ? this.connack(body, v) : Status.PROTOCOL_ERROR;
    switch (type) {
      case PacketType.PUBLISH: return this.publish(header, body, v);
      // boards/ABI.md, "Acknowledgements": by the state of the flow; an id in no flow (or queued, not sent on this connection) is ignored
      case PacketType.PUBACK: return this.ack(body, (id) => {
        const flow = this.inFlight(id, v);
        if (flow !== undefined && flow !== "puback") this.qos2Downgraded++; // a QoS 2 flow too: the broker downgraded it
        if (flow !== undefined) this.complete(id, v);
        return Status.OK;
      });
      case PacketType.PUBREC: return this.ack(body, (id) => {
        const flow = this.inFlight(id, v);
        if (flow === undefined) return Status.OK;
        if (flow === "puback") return Status.PROTOCOL_ERROR;
        this.flows.set(id, "pubrelDue"); // a repeated PUBREC gets its PUBREL again
        v.pubrelsDue.push(id);
        return Status.OK;
      });
      case PacketType.PUBREL: return this.ack(body, (id) => {
        this.inboundQos2.delete(id);
        v.answers.push({ type: PacketType.PUBCOMP, id });
        return Status.OK;
      });
      case PacketType.PUBCOMP: return this.ack(body, (id) => {
        const flow = this.inFlight(id, v);
        if (flow === undefined) return Status.OK;
        if (flow === "puback" || flow === "pubrec") return Status.PROTOCOL_ERROR;
        this.complete(id, v);
        return Status.OK;
      });
      case PacketType.SUBACK: return this.suback(body, v);
      // an UNSUBACK must answer an UNSUBSCRIBE sent on this connection and not answered yet
      case PacketType.UNSUBACK: return this.ack(body, (id) => {
        if (this.unsubscribes.delete(id)) v.unsubacks.push(id);
        else if (this.mayBeUnseenRequest(id)) v.ambiguous = true;
        else return Status.PROTOCOL_ERROR;
        this.requestIds.delete(id);
        return Status.OK;
      });
      case PacketType.PINGRESP: return body.length === 0 ? Status.OK : Status.MALFORMED_PACKET;
    }
    return Status.PROTOCOL_ERROR; // a second CONNACK
  }

  /** CONNACK (§3.2.2): flags 0 or 1, return code 0–5, session present only with code 0. */
  private connack(body: Uint8Array, v: Verdict): number {
    if (body.length !== 2) return Status.MALFORMED_PACKET;
    const [flags, code] = body;
    if ((flags & 0xfe) !== 0 || code > 5 || (code !== 0 && flags !== 0)) return Status.MALFORMED_PACKET;
    if (code !== 0) return CONNACK_REFUSED_BASE - code;
    const sessionPresent = flags === 1;
    this.phase = "connected";
    if (!sessionPresent) this.inboundQos2.clear();
    if (!sessionPresent) for (let i = 1; i <= this.subscriptionSlots; i++) this.requestIds.add(this.highestId + i); // ids count up (wrapping past 65535 is out of the inputs' reach)
    // every unfinished flow starts again on the new connection (boards/ABI.md: resend after reconnect)
    for (const [id, flow] of this.flows) this.flows.set(id, flow === "pubcomp" || flow === "pubrelDue" ? "pubrelDue" : "queued");
    this.subscribes.clear();
    this.unsubscribes.clear();
    v.connected = { sessionPresent };
    return Status.OK;
  }

  /** PUBLISH (§3.3): topic within the packet, packet id when QoS > 0 and not 0, a well-formed topic name. */
  private publish(header: number, body: Uint8Array, v: Verdict): number {
    const fields = publishFields(header, body);
    if (fields === undefined || !isTopicName(fields.topic)) return Status.MALFORMED_PACKET;
    const { qos, id } = fields;
    if (qos === 2 && this.inboundQos2.has(id)) {
      v.answers.push({ type: PacketType.PUBREC, id }); // a resend: answered, not delivered again (§4.3.3)
      return Status.OK;
    }
    if (qos === 2) this.hold(id);
    const flags = (header & 1) | ((header & 8) >> 2) | (qos << 2);
    v.deliveries.push({ topic: fields.topic, payload: fields.payload, flags });
    if (qos > 0) v.answers.push({ type: qos === 1 ? PacketType.PUBACK : PacketType.PUBREC, id });
    return Status.OK;
  }

  /** Holds an inbound QoS 2 id until its PUBREL; a full table forgets its oldest id first (boards/ABI.md, "Inbound QoS 2"). */
  private hold(id: number): void {
    if (this.inboundQos2.size >= this.capacities.inboundQos2) {
      this.inboundQos2.delete(this.inboundQos2.values().next().value!);
      this.inboundQos2Overflow++;
    }
    this.inboundQos2.add(id);
  }

  /**
   * A skipped oversized PUBLISH once its topic length, then its topic and packet id, are in
   * (boards/ABI.md, "Oversized messages"): a topic or packet id running past the packet,
   * a packet id 0, or a topic short enough to be read that is no topic name closes with
   * MALFORMED_PACKET; else it is answered per QoS and reported, not delivered, its QoS 2
   * id held like a delivered message's (a resend of a held one is only answered).
   */
  private skipping(skip: Skip, v: Verdict): number {
    const qos = (skip.header >> 1) & 3;
    const head = skip.head;
    if (head.length < 2) return Status.OK;
    const topicLength = (head[0] << 8) | head[1];
    if (headNeed(skip) > skip.length) return Status.MALFORMED_PACKET;
    if (head.length < headNeed(skip)) return Status.OK;
    const id = qos > 0 ? (head[2 + topicLength] << 8) | head[3 + topicLength] : 0;
    if (qos > 0 && id === 0) return Status.MALFORMED_PACKET;
    const readable = skip.headLength + 2 + topicLength + 2 <= this.capacities.rx; // else the topic is discarded unread
    if (readable && !isTopicName(Uint8Array.from(head.slice(2, 2 + topicLength)))) return Status.MALFORMED_PACKET;
    skip.answered = true;
    skip.head = [];
    if (qos === 2 && this.inboundQos2.has(id)) {
      v.answers.push({ type: PacketType.PUBREC, id });
      return Status.OK;
    }
    if (qos === 2) this.hold(id);
    v.dropped++;
    this.oversizeDropped++;
    if (qos > 0) v.answers.push({ type: qos === 1 ? PacketType.PUBACK : PacketType.PUBREC, id });
    return Status.OK;
  }

  /** PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (§3.4–3.7, §3.11): exactly a non-zero packet id, then what `then` says of it. */
  private ack(body: Uint8Array, then: (id: number) => number): number {
    if (body.length !== 2) return Status.MALFORMED_PACKET;
    const id = (body[0] << 8) | body[1];
    if (id === 0) return Status.MALFORMED_PACKET;
    return then(id);
  }

  /**
   * SUBACK (§3.9): a non-zero packet id and at least one return code, each 0, 1, 2 or
   * 0x80; it must answer a SUBSCRIBE sent on this connection and not answered yet, one
   * code per filter (§3.9.3), else PROTOCOL_ERROR with nothing applied.
   */
  private suback(body: Uint8Array, v: Verdict): number {
    if (body.length < 3) return Status.MALFORMED_PACKET;
    const id = (body[0] << 8) | body[1];
    const codes = [...body.subarray(2)];
    if (id === 0 || codes.some((c) => c > 2 && c !== 0x80)) return Status.MALFORMED_PACKET;
    const count = this.subscribes.get(id);
    if (count === undefined && this.mayBeUnseenRequest(id)) v.ambiguous = true;
    if (count !== codes.length) return Status.PROTOCOL_ERROR;
    this.subscribes.delete(id);
    this.requestIds.delete(id);
    v.subacks.push([id, codes]);
    return Status.OK;
  }

  /** True when a request with packet id `id` may be written but not yet sent (its SUBSCRIBE or UNSUBSCRIBE still in the tx ring). */
  private mayBeUnseenRequest(id: number): boolean {
    return this.lenient && (this.publishesUnseen || this.requestIds.has(id));
  }

  /**
   * The state of the flow an ack for `id` meets, undefined when there is none in flight
   * (never used, ended, or its PUBLISH not sent on this connection). Marks the verdict
   * ambiguous when the flow's PUBLISH or PUBREL may be written but not yet sent.
   */
  private inFlight(id: number, v: Verdict): FlowState | undefined {
    const flow = this.flows.get(id);
    if (this.lenient && (flow === "queued" || flow === "pubrelDue" || (flow === undefined && this.publishesUnseen))) v.ambiguous = true;
    return flow === "queued" ? undefined : flow;
  }

  /** Ends a flow: PUBLISH_DONE, and a PUBREL still due is owed no more. */
  private complete(id: number, v: Verdict): void {
    this.flows.delete(id);
    v.done.push(id);
    v.pubrelsDue = v.pubrelsDue.filter((due) => due !== id);
  }
}

/** Body bytes of a skipped PUBLISH to read before it is answered: the topic length, then through the packet id. */
function headNeed(skip: Skip): number {
  if (skip.head.length < 2) return 2;
  return 2 + ((skip.head[0] << 8) | skip.head[1]) + (((skip.header >> 1) & 3) > 0 ? 2 : 0);
}

/** The fixed-header rules for a packet from the server (§2.2.1, §2.2.2, §3.3.1). */
export function checkHeader(header: number): number {
  const type = header >> 4;
  const flags = header & 0x0f;
  if (type === 0 || type === 15) return Status.MALFORMED_PACKET; // reserved
  if ([PacketType.CONNECT, PacketType.SUBSCRIBE, PacketType.UNSUBSCRIBE, PacketType.PINGREQ, PacketType.DISCONNECT].includes(type as 1)) {
    return Status.PROTOCOL_ERROR; // client-to-server only
  }
  if (type === PacketType.PUBLISH) {
    const qos = (flags >> 1) & 3;
    return qos === 3 || (qos === 0 && (flags & 8) !== 0) ? Status.MALFORMED_PACKET : Status.OK;
  }
  if (type === PacketType.PUBREL) return flags === 2 ? Status.OK : Status.MALFORMED_PACKET;
  return flags === 0 ? Status.OK : Status.MALFORMED_PACKET;
}

/** The Remaining Length at `at` (§2.2.3): its value and size, "more" when the bytes end inside it, "malformed" past four bytes. */
export function remainingLength(bytes: ArrayLike<number>, at: number): { value: number; bytes: number } | "more" | "malformed" {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (at + i >= bytes.length) return "more";
    const b = bytes[at + i];
    value += (b & 0x7f) * 128 ** i;
    if ((b & 0x80) === 0) return { value, bytes: i + 1 };
  }
  return "malformed";
}

/** The fields of a PUBLISH body, or undefined when the topic or packet id runs past it or the id is 0. */
function publishFields(header: number, body: Uint8Array): { qos: number; id: number; topic: Uint8Array; payload: Uint8Array } | undefined {
  const qos = (header >> 1) & 3;
  if (body.length < 2) return undefined;
  let at = 2 + ((body[0] << 8) | body[1]);
  if (at > body.length) return undefined;
  const topic = body.subarray(2, at);
  let id = 0;
  if (qos > 0) {
    if (at + 2 > body.length) return undefined;
    id = (body[at] << 8) | body[at + 1];
    if (id === 0) return undefined;
    at += 2;
  }
  return { qos, id, topic, payload: body.subarray(at) };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Well-formed UTF-8 (no overlong forms, surrogates, or code points past U+10FFFF) without U+0000 (§1.5.3). */
export function isMqttString(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A topic name a client may receive (§4.7.3): not empty, no wildcard, an MQTT string. Any length. */
export function isTopicName(topic: Uint8Array): boolean {
  return topic.length > 0 && !topic.includes(0x2b) && !topic.includes(0x23) && isMqttString(topic);
}

/** A topic filter (§4.7.1): '+' fills a whole level, '#' the last one; an MQTT string. */
export function isTopicFilter(filter: Uint8Array): boolean {
  if (filter.length === 0 || !isMqttString(filter)) return false;
  const levels = new TextDecoder().decode(filter).split("/");
  return levels.every((level, i) => {
    if (level.includes("#")) return level === "#" && i === levels.length - 1;
    return !level.includes("+") || level === "+";
  });
}
