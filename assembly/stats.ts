// The stats block (boards/ABI.md, "Stats block"): u32 counters a host reads in one go.
import {
  RX_CAPACITY, TX_CAPACITY, OUTBOX_CAPACITY, STAGING_CAPACITY, INFLIGHT_SLOTS, SUBSCRIPTION_SLOTS,
  INBOUND_QOS2_SLOTS, MAX_TOPIC_LENGTH,
} from "./config";
import { client, tx, outbox, inboundQos2, subscriptions, DROPPED_BASE } from "./client";

/** Number of u32 fields in the block. */
export const STATS_FIELDS: u32 = 35;
const STATS = memory.data(STATS_FIELDS << 2);

// @ts-ignore: decorator
@inline function put(index: u32, value: u32): void {
  store<u32>(STATS + (index << 2), value);
}

/** Writes the current figures into the stats block. Returns its address. */
export function refreshStats(): usize {
  put(0, <u32>__heap_base);
  put(1, RX_CAPACITY);
  put(2, client.rxHighWater);
  put(3, TX_CAPACITY);
  put(4, tx.highWater);
  put(5, tx.length);
  put(6, OUTBOX_CAPACITY);
  put(7, outbox.used);
  put(8, outbox.highWater);
  put(9, client.outboxRejected);
  put(10, INFLIGHT_SLOTS);
  put(11, outbox.inflight);
  put(12, SUBSCRIPTION_SLOTS);
  put(13, subscriptions.used());
  put(14, INBOUND_QOS2_SLOTS);
  put(15, inboundQos2.used);
  put(16, client.packetsSent);
  put(17, client.packetsReceived);
  put(18, client.messagesPublished);
  put(19, client.messagesAcknowledged);
  put(20, client.messagesDelivered);
  put(21, client.reconnects);
  put(22, client.bytesSent);
  put(23, client.bytesReceived);
  put(24, client.state);
  put(25, STAGING_CAPACITY);
  put(26, MAX_TOPIC_LENGTH);
  put(27, client.protocolErrors);
  put(28, client.backoffMs);
  put(29, client.keepaliveMs / 1000);
  put(30, client.rxOversizeDropped);
  put(31, load<u32>(DROPPED_BASE, 4));
  put(32, load<u32>(DROPPED_BASE, 8));
  put(33, client.qos2Downgraded);
  put(34, inboundQos2.overflows);
  return STATS;
}
