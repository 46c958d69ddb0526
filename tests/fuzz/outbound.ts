/**
 * The outbound stream check: every packet the module gives netSend must be a valid
 * MQTT 3.1.1 client-to-server packet (§2.2.2 flags, §3.x bodies), and the stream as a
 * whole must keep the QoS rules: PUBLISHes in the order they were accepted (first
 * sends and resends alike), DUP exactly on resends after a reconnect, each message
 * resent intact, a PUBREL only after a PUBREC, no more QoS 1/2 flows open than the
 * in-flight slots. It keeps the {@link Reference}'s view of the outbound flows current.
 */
import { PacketType, type Packet } from "../host/support/mqtt-packets.ts";
import { Finding } from "./finding.ts";
import { isTopicFilter, isTopicName, type Reference } from "./reference.ts";

/** One message the module accepted for publishing, from publish() or first seen on the wire. */
export interface Message {
  /** Order of acceptance. */
  seq: number;
  qos: number;
  id: number;
  /** What publish() was given (client API), to compare with the first send. */
  topic?: Uint8Array;
  payload?: Uint8Array;
  retain?: boolean;
  /** The first send without DUP; a resend must equal it with DUP set. */
  firstBytes?: Uint8Array;
  /** The connection it was last sent on (0: never). */
  sentOn: number;
  done: boolean;
  /** A connection ended while the network was throttled after it was accepted: it may have gone partly out (so a resend has DUP), and at QoS 0 it may be lost. */
  interrupted?: boolean;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const u16 = (b: Uint8Array, at: number): number => (b[at] << 8) | b[at + 1];

export class OutboundCheck {
  /** Connections seen (each begins with CONNECT). */
  connection = 0;
  /** Messages in order of acceptance. */
  readonly messages: Message[] = [];
  /** Not-done QoS 1/2 messages by packet id. */
  readonly byId = new Map<number, Message>();
  /** PUBLISH/SUBSCRIBE/UNSUBSCRIBE/PUBREL may go out only once a CONNACK accepted the connection. */
  accepted = false;
  /** Packets sent on this connection so far (0 before its CONNECT). */
  sentOnThisConnection = 0;
  private lastSeqOnConnection = -1;
  private seq = 0;
  /**
   * A module that publishes by itself had a connection end while netSend was throttled:
   * a PUBLISH it wrote may have gone partly out unseen, so its resend (DUP) is the first
   * whole send seen. Until a PUBLISH without DUP goes out: PUBLISHes keep their order, so
   * every such resend comes before it.
   */
  private unseenCutOff = false;

  constructor(private readonly reference: Reference, private readonly inflightSlots: number, private readonly knowsCalls: boolean) {}

  /** publish() accepted a message (returned id ≥ 0). */
  published(qos: number, id: number, topic: Uint8Array, payload: Uint8Array, retain: boolean): void {
    if (qos > 0 && this.byId.has(id)) throw new Finding("outbound", `publish() returned packet id ${id}, still in use`);
    const m: Message = { seq: this.seq++, qos, id, topic, payload, retain, sentOn: 0, done: false };
    this.reference.highestId = Math.max(this.reference.highestId, id);
    this.messages.push(m);
    if (qos > 0) {
      this.byId.set(id, m);
      this.reference.flows.set(id, "queued");
    }
  }

  /** A CONNACK accepted the connection. */
  connackAccepted(): void {
    this.accepted = true;
  }

  /** The connection ended; `throttled`: netSend may have left written packets unsent. */
  connectionClosed(throttled = false): void {
    this.accepted = false;
    if (throttled) for (const m of this.messages) if (!m.done && m.firstBytes === undefined) m.interrupted = true;
    if (throttled && !this.knowsCalls) this.unseenCutOff = true;
  }

  /** A PUBLISH_DONE event for id. */
  completed(id: number): void {
    const m = this.byId.get(id);
    if (m === undefined) throw new Finding("publish-done", `PUBLISH_DONE for packet id ${id}, which no unfinished message has`);
    m.done = true;
    this.byId.delete(id);
  }

  /** Checks one outbound packet and updates the flows. */
  sent(p: Packet): void {
    const bad = (why: string): never => {
      throw new Finding("outbound", `${why}: ${Buffer.from(p.bytes).toString("hex")}`);
    };
    const b = p.body;
    switch (p.type) {
      case PacketType.CONNECT:
        if (p.flags !== 0) bad("CONNECT with flags");
        if (b.length < 12 || u16(b, 0) !== 4 || String.fromCharCode(...b.subarray(2, 6)) !== "MQTT" || b[6] !== 4) bad("CONNECT without protocol MQTT level 4");
        if ((b[7] & 1) !== 0) bad("CONNECT reserved flag set (§3.1.2.3)");
        if (this.sentOnThisConnection > 0) bad("a second CONNECT on one connection");
        this.connection++;
        this.lastSeqOnConnection = -1;
        this.sentOnThisConnection = 1;
        return;
      case PacketType.PINGREQ:
      case PacketType.DISCONNECT:
        if (p.flags !== 0 || b.length !== 0) bad("PINGREQ/DISCONNECT with flags or a body");
        break;
      case PacketType.PUBACK:
      case PacketType.PUBREC:
      case PacketType.PUBCOMP:
      case PacketType.PUBREL:
        if (p.flags !== (p.type === PacketType.PUBREL ? 2 : 0)) bad("acknowledgement with wrong fixed-header flags (§2.2.2)");
        if (b.length !== 2 || u16(b, 0) === 0) bad("acknowledgement without exactly a non-zero packet id");
        if (p.type === PacketType.PUBREL) this.pubrel(u16(b, 0), bad);
        break;
      case PacketType.PUBLISH:
        this.publish(p, bad);
        break;
      case PacketType.SUBSCRIBE:
      case PacketType.UNSUBSCRIBE:
        this.request(p, bad);
        break;
      default:
        bad(`packet type ${p.type} is not one a client sends`);
    }
    if (this.sentOnThisConnection === 0) bad("packet before CONNECT");
    if (!this.accepted && p.type !== PacketType.DISCONNECT) bad("packet sent before a CONNACK accepted the connection");
    this.sentOnThisConnection++;
  }

  /** netOpen: a new connection begins. */
  opening(): void {
    this.sentOnThisConnection = 0;
    this.accepted = false;
  }

  private publish(p: Packet, bad: (why: string) => never): void {
    const qos = (p.flags >> 1) & 3;
    const dup = (p.flags & 8) !== 0;
    if (qos === 3) bad("PUBLISH with QoS 3");
    if (qos === 0 && dup) bad("PUBLISH with DUP at QoS 0 (§3.3.1.1)");
    const b = p.body;
    if (b.length < 2 || 2 + u16(b, 0) + (qos > 0 ? 2 : 0) > b.length) bad("PUBLISH whose topic or packet id runs past the packet");
    const topic = b.subarray(2, 2 + u16(b, 0));
    if (!isTopicName(topic)) bad("PUBLISH topic is not a valid topic name");
    const id = qos > 0 ? u16(b, 2 + topic.length) : 0;
    if (qos > 0 && id === 0) bad("PUBLISH with packet id 0");
    let m = qos > 0 ? this.byId.get(id) : undefined;
    if (!dup) this.unseenCutOff = false;
    if (dup && m === undefined && this.unseenCutOff) {
      // cut off unseen with its connection: this is its first whole send
      m = { seq: this.seq++, qos, id, sentOn: 0, done: false };
      this.messages.push(m);
      this.byId.set(id, m);
      const plain = p.bytes.slice();
      plain[0] &= ~8;
      m.firstBytes = plain;
    } else if (dup && m !== undefined && m.firstBytes === undefined && m.interrupted) {
      // its first attempt was cut off with the connection: this is its first whole send
      const plain = p.bytes.slice();
      plain[0] &= ~8;
      this.checkFirstSend(m, qos, id, topic, b, p.flags, bad);
      m.firstBytes = plain;
    } else if (dup) {
      if (m === undefined || m.firstBytes === undefined) bad(`DUP PUBLISH for packet id ${id}, never sent before`);
      if (m.sentOn === this.connection) bad(`PUBLISH ${id} sent twice on one connection`);
      const expected = m.firstBytes.slice();
      expected[0] |= 8;
      if (!same(expected, p.bytes)) throw new Finding("resend", `PUBLISH ${id} not resent intact: ${Buffer.from(p.bytes).toString("hex")} after ${Buffer.from(m.firstBytes).toString("hex")}`);
    } else {
      if (m?.firstBytes !== undefined) bad(`PUBLISH ${id} resent without DUP`);
      if (this.knowsCalls) {
        // the oldest unsent message, past QoS 0 ones an interrupted connection may have lost
        for (;;) {
          m = this.messages.find((x) => !x.done && x.firstBytes === undefined);
          if (m === undefined) bad("PUBLISH that no publish() call asked for");
          if (!(m.qos === 0 && m.interrupted && !this.matches(m, qos, id, topic, b, p.flags))) break;
          m.done = true;
        }
        this.checkFirstSend(m, qos, id, topic, b, p.flags, bad);
      } else {
        if (qos > 0 && this.byId.has(id)) bad(`PUBLISH ${id} while that id is in use`);
        m = { seq: this.seq++, qos, id, sentOn: 0, done: false };
        this.messages.push(m);
        if (qos > 0) this.byId.set(id, m);
      }
      m.firstBytes = p.bytes.slice();
    }
    if (m.seq <= this.lastSeqOnConnection) bad(`PUBLISH seq ${m.seq} overtook a later message (last ${this.lastSeqOnConnection})`);
    this.lastSeqOnConnection = m.seq;
    m.sentOn = this.connection;
    if (qos === 0) {
      m.done = true;
      return;
    }
    this.reference.flows.set(id, qos === 1 ? "puback" : "pubrec");
    if (this.openFlows() > this.inflightSlots) bad(`more than ${this.inflightSlots} QoS 1/2 flows open`);
  }

  private matches(m: Message, qos: number, id: number, topic: Uint8Array, body: Uint8Array, flags: number): boolean {
    return m.qos === qos && m.id === id && same(m.topic!, topic) && same(m.payload!, body.subarray(2 + topic.length + (qos > 0 ? 2 : 0))) && m.retain === ((flags & 1) === 1);
  }

  /** A first send must be the message as publish() was given it (client API). */
  private checkFirstSend(m: Message, qos: number, id: number, topic: Uint8Array, body: Uint8Array, flags: number, bad: (why: string) => never): void {
    if (this.knowsCalls && !this.matches(m, qos, id, topic, body, flags)) {
      bad(`first PUBLISH is not the oldest unsent message (seq ${m.seq}, qos ${m.qos}, id ${m.id}) as given to publish()`);
    }
  }

  private pubrel(id: number, bad: (why: string) => never): void {
    if (this.reference.flows.get(id) !== "pubrelDue") bad(`PUBREL ${id} without a PUBREC for it`);
    this.reference.flows.set(id, "pubcomp");
  }

  private request(p: Packet, bad: (why: string) => never): void {
    if (p.flags !== 2) bad("SUBSCRIBE/UNSUBSCRIBE without flags 0b0010 (§3.8.1, §3.10.1)");
    const b = p.body;
    if (b.length < 2 || u16(b, 0) === 0) bad("request without a non-zero packet id");
    const subscribing = p.type === PacketType.SUBSCRIBE;
    let at = 2;
    let count = 0;
    while (at < b.length) {
      if (at + 2 > b.length) bad("request entry runs past the packet");
      const len = u16(b, at);
      const end = at + 2 + len + (subscribing ? 1 : 0);
      if (end > b.length) bad("request entry runs past the packet");
      const filter = b.subarray(at + 2, at + 2 + len);
      if (!isTopicFilter(filter)) bad("request with an invalid topic filter");
      if (subscribing && b[end - 1] > 2) bad("SUBSCRIBE requesting QoS > 2 or reserved bits set (§3.8.3.1)");
      at = end;
      count++;
    }
    if (count === 0) bad("request with no topic filter (§3.8.3, §3.10.3)");
    const id = u16(b, 0);
    this.reference.highestId = Math.max(this.reference.highestId, id);
    if (subscribing) this.reference.subscribes.set(id, count);
    else this.reference.unsubscribes.add(id);
  }

  /** Messages not complete: QoS 0 ones an interrupted connection may have lost do not count. */
  unfinished(): Message[] {
    return this.messages.filter((m) => !m.done && !(m.qos === 0 && m.interrupted));
  }

  /** QoS 1/2 flows under way on this connection: PUBLISHes sent on it and PUBREL phases. */
  private openFlows(): number {
    let n = 0;
    for (const m of this.byId.values()) {
      const flow = this.reference.flows.get(m.id); // undefined: completed by an ack whose PUBLISH_DONE is still to be seen
      if (flow === "pubrelDue" || flow === "pubcomp" || (m.sentOn === this.connection && (flow === "puback" || flow === "pubrec"))) n++;
    }
    return n;
  }
}
