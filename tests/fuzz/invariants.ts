/**
 * The module's invariants that hold whatever the input: its memory stays one size, its
 * string literals are never written, nothing is written above its static data, and the
 * stats block stays consistent (used within capacity, counters never going back).
 */
import { Finding } from "./finding.ts";
import { Stat, type Device } from "./device.ts";

/** Counters and high-water marks that never decrease (boards/ABI.md, "Stats block"). */
const MONOTONIC = [
  Stat.rxHighWater, Stat.txHighWater, Stat.outboxHighWater, Stat.outboxRejected, Stat.packetsSent, Stat.packetsReceived,
  Stat.messagesPublished, Stat.messagesAcknowledged, Stat.messagesDelivered, Stat.reconnects, Stat.bytesSent,
  Stat.bytesReceived, Stat.protocolErrors, Stat.rxOversizeDropped, Stat.qos2Downgraded, Stat.inboundQos2Overflow,
] as const;
/** Fields fixed at build time. */
const CONSTANT = [
  Stat.staticBytes, Stat.rxCapacity, Stat.txCapacity, Stat.outboxCapacity, Stat.inflightCapacity, Stat.subscriptionCapacity,
  Stat.inboundQos2Capacity, Stat.stagingCapacity, Stat.maxTopicLength,
] as const;
/** [used, capacity] pairs. */
const BOUNDED = [
  [Stat.rxHighWater, Stat.rxCapacity], [Stat.txUsed, Stat.txHighWater], [Stat.txHighWater, Stat.txCapacity],
  [Stat.outboxUsed, Stat.outboxHighWater], [Stat.outboxHighWater, Stat.outboxCapacity], [Stat.inflightUsed, Stat.inflightCapacity],
  [Stat.subscriptionUsed, Stat.subscriptionCapacity], [Stat.inboundQos2Used, Stat.inboundQos2Capacity],
] as const;
const NAMES = Object.fromEntries(Object.entries(Stat).map(([name, index]) => [index, name]));

/** Checks the stats block against the previous one; returns the new block. */
export function checkStats(device: Device, previous: Uint32Array, messagesDelivered: number): Uint32Array {
  const now = device.stats();
  const fail = (why: string): never => {
    throw new Finding("stats", why);
  };
  for (const i of CONSTANT) if (now[i] !== previous[i]) fail(`${NAMES[i]} changed from ${previous[i]} to ${now[i]}`);
  for (const i of MONOTONIC) if (now[i] < previous[i]) fail(`${NAMES[i]} went back from ${previous[i]} to ${now[i]}`);
  for (const [used, capacity] of BOUNDED) if (now[used] > now[capacity]) fail(`${NAMES[used]} ${now[used]} > ${NAMES[capacity]} ${now[capacity]}`);
  if (now[Stat.state] > 5) fail(`state ${now[Stat.state]}`);
  if (now[Stat.staticBytes] !== device.exports.staticDataEnd()) fail("staticBytes is not staticDataEnd()");
  if (now[Stat.messagesDelivered] !== messagesDelivered) fail(`messagesDelivered ${now[Stat.messagesDelivered]}, onMessage called ${messagesDelivered} times`);
  const space = device.exports.rxSpace();
  if (space > now[Stat.rxCapacity]) fail(`rxSpace() ${space} > rxCapacity ${now[Stat.rxCapacity]}`);
  return now;
}

/** Checks memory: its size, the data segments, and zero bytes above staticDataEnd(). */
export function checkMemory(device: Device, initialSize: number): void {
  const buffer = device.exports.memory.buffer;
  if (buffer.byteLength !== initialSize) throw new Finding("memory-size", `memory grew from ${initialSize} to ${buffer.byteLength} bytes`);
  const bytes = Buffer.from(buffer);
  for (const segment of device.compiled.segments) {
    const now = bytes.subarray(segment.offset, segment.offset + segment.bytes.length);
    if (!now.equals(segment.bytes)) {
      const i = now.findIndex((b, k) => b !== segment.bytes[k]);
      throw new Finding("read-only-data", `string literal byte at ${segment.offset + i} changed from ${segment.bytes[i]} to ${now[i]}`);
    }
  }
  const end = device.exports.staticDataEnd();
  const above = bytes.subarray(end);
  if (!above.equals(zeros(above.length))) {
    throw new Finding("stray-write", `byte ${end + above.findIndex((b) => b !== 0)} above staticDataEnd() ${end} written`);
  }
}

let zeroBuffer = Buffer.alloc(0);

/** A zero-filled buffer of n bytes (shared; never written). */
function zeros(n: number): Buffer {
  if (zeroBuffer.length < n) zeroBuffer = Buffer.alloc(n);
  return zeroBuffer.subarray(0, n);
}
