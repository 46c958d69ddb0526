/**
 * aedes-persistence's memory store with two bugs of aedes 0.51 / aedes-persistence 9.1
 * patched — bugs the soak found (host/soak/broker.ts) and that a device meets whenever a
 * connection drops in the middle of a QoS 2 flow, so the simulator's embedded broker
 * (host/sim/broker.ts) runs the patched store too:
 *
 * 1. aedes answers a PUBREL for a packet id it does not hold (the PUBCOMP was lost, so the
 *    client sends the PUBREL again) with an error and closes the connection
 *    (moscajs/aedes#634, fixed upstream in 2025), where MQTT 3.1.1 §4.3.3 says the
 *    receiver MUST answer PUBCOMP: a client that resends its PUBREL, as §4.4 requires,
 *    then reconnects forever. Patched: the store answers such a PUBREL with a placeholder
 *    that aedes publishes nowhere, so aedes sends the PUBCOMP.
 * 2. The memory store's `outgoingUpdate` matches a PUBREL (which has no brokerId) to any
 *    earlier entry without one — an earlier PUBREL still awaiting its PUBCOMP — and
 *    renumbers that entry instead of turning the acknowledged PUBLISH into a PUBREL. When
 *    two QoS 2 messages to one subscriber overlap, the second PUBLISH then stays queued
 *    after both PUBCOMPs and is sent again at the next session resume: a duplicate QoS 2
 *    delivery. Patched: each PUBREL gets a brokerCounter of its own, so a new PUBREL matches
 *    by packet id only, and a resumed session's resend of it still finds it.
 *
 * @example
 * const store = patchMemoryStore(aedesModules().memoryPersistence(), () => answered++);
 * const broker = aedesModules().createBroker({ persistence: store });
 */
import { createRequire } from "node:module";
import type { AedesOptions, Client, createBroker } from "aedes";

/** An aedes broker instance. */
export type AedesBroker = ReturnType<typeof createBroker>;

/** The aedes factory and aedes-persistence's memory store factory, loaded together. */
export interface AedesModules {
  createBroker(options?: AedesOptions): AedesBroker;
  memoryPersistence(): MemoryPersistence;
}

/** The part of aedes-persistence's memory store that is patched or wrapped (its callbacks as aedes calls them). */
export interface MemoryPersistence {
  incomingStorePacket(client: Client, packet: StoredPacket, callback: (error: Error | null) => void): void;
  incomingGetPacket(client: Client, packet: StoredPacket, callback: (error: Error | null, packet?: StoredPacket) => void): void;
  incomingDelPacket(client: Client, packet: StoredPacket, callback: (error: Error | null) => void): void;
  outgoingUpdate(client: Client, packet: StoredPacket, callback: (...results: unknown[]) => void): void;
}

/** A PUBLISH (or PUBREL) as aedes hands it to its store. */
export interface StoredPacket {
  cmd?: string;
  topic?: string;
  payload?: Buffer | string;
  qos?: number;
  retain?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
}

/** Where aedes "publishes" the placeholder of an unknown PUBREL: `$` topics match no `+`/`#` filter. */
const PLACEHOLDER_TOPIC = "$aedes-store/unknown-pubrel";

/**
 * Loads aedes and the aedes-persistence it depends on (resolved from aedes, so the store
 * is the one aedes was built against); `require`'s cache decides whether aedes is
 * evaluated afresh (the soak drops it so aedes takes its virtual timers).
 */
export function aedesModules(): AedesModules {
  const require = createRequire(import.meta.url);
  const createBroker = require("aedes") as AedesModules["createBroker"];
  const fromAedes = createRequire(require.resolve("aedes"));
  const memoryPersistence = fromAedes("aedes-persistence") as AedesModules["memoryPersistence"];
  return { createBroker, memoryPersistence };
}

/**
 * Patches the two bugs of the file comment into `store` (in place) and returns it;
 * `onUnknownPubrel` is told of each PUBREL answered through bug 1's placeholder.
 */
export function patchMemoryStore(store: MemoryPersistence, onUnknownPubrel: () => void = () => {}): MemoryPersistence {
  const getPacket = store.incomingGetPacket.bind(store);
  const delPacket = store.incomingDelPacket.bind(store);
  const outgoingUpdate = store.outgoingUpdate.bind(store);
  const placeholders = new WeakSet<object>();
  let pubrels = 0;
  store.outgoingUpdate = (client, packet, callback) => {
    // bug 2: a PUBREL matches by packet id only; its own id and counter (copied when a
    // resumed session resends it) make later updates find it again
    if (packet.cmd === "pubrel" && packet.brokerId === undefined) {
      packet.brokerId = "$aedes-store-pubrel";
      packet.brokerCounter = -++pubrels;
    }
    outgoingUpdate(client, packet, callback);
  };
  store.incomingGetPacket = (client, packet, callback) => {
    getPacket(client, packet, (error, stored) => {
      if (error === null) return callback(error, stored);
      // bug 1: a PUBREL for an id not held is answered (PUBCOMP), not an error
      onUnknownPubrel();
      const placeholder: StoredPacket = { cmd: "publish", topic: PLACEHOLDER_TOPIC, payload: Buffer.alloc(0), qos: 0, retain: false, messageId: packet.messageId };
      placeholders.add(placeholder);
      callback(null, placeholder);
    });
  };
  store.incomingDelPacket = (client, packet, callback) => {
    if (placeholders.has(packet)) return callback(null);
    delPacket(client, packet, callback);
  };
  return store;
}
