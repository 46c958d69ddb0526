/**
 * A scripted fake MQTT broker over node:net, for tests that need a broker that
 * misbehaves in a precise way (malformed packets, missing acks, odd timing).
 *
 * Every accepted connection records the client's packets and runs a {@link Script}.
 * The packet builders and parsers of `mqtt-packets.ts` are re-exported from here.
 *
 * @example
 * const broker = await startFakeBroker(async (conn) => {
 *   await conn.next(PacketType.CONNECT);
 *   conn.send(connack(false, 0));
 *   conn.send(publish({ topic: "t", payload: "hi" }));
 *   await defaultScript(conn); // behave normally from here on
 * });
 * try { ... } finally { await broker.close(); }
 */
import net from "node:net";
import { listenOnLoopback } from "../../../host/net/ports.ts";
import {
  PacketSplitter,
  PacketType,
  connack,
  packetIdOf,
  parsePublish,
  parseSubscribe,
  pingresp,
  puback,
  pubcomp,
  pubrec,
  suback,
  unsuback,
  type Packet,
} from "./mqtt-packets.ts";

export * from "./mqtt-packets.ts";

/** Runs once per accepted connection; the connection stays open after it returns. */
export type Script = (conn: FakeConnection) => Promise<void>;

/** Rejection reason of {@link FakeConnection.next} when the client goes away first. */
export class ConnectionClosedError extends Error {
  constructor() {
    super("fake broker: connection closed before the expected packet arrived");
    this.name = "ConnectionClosedError";
  }
}

/** The broker side of one client connection. */
export class FakeConnection {
  /** Every packet received from the client, in order, including those `next` skipped. */
  readonly packets: Packet[] = [];
  /** Resolves when the socket has closed, whoever closed it. */
  readonly closed: Promise<void>;
  /** Set when the script threw anything other than {@link ConnectionClosedError}. */
  scriptError: unknown;
  /** Set when the client sent bytes that do not frame as MQTT packets. */
  protocolError: Error | undefined;

  private readonly splitter = new PacketSplitter();
  private readCursor = 0;
  private isClosed = false;
  private readonly arrival = new Signal();

  constructor(
    /** Zero-based order of acceptance. */
    readonly index: number,
    private readonly socket: net.Socket,
  ) {
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk) => this.receive(chunk));
    socket.on("error", () => {}); // a reset by the client is an ordinary event here
    socket.once("close", () => {
      this.isClosed = true;
      this.arrival.notify();
    });
  }

  /**
   * For the script: resolves with the next packet not yet returned by `next`, skipping
   * packets of other types when `type` is given. Rejects with
   * {@link ConnectionClosedError} if the connection closes first, or after `timeoutMs`.
   */
  async next(type?: number, timeoutMs = 5000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.readCursor < this.packets.length) {
        const candidate = this.packets[this.readCursor++];
        if (type === undefined || candidate.type === type) return candidate;
      }
      if (this.isClosed) throw new ConnectionClosedError();
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`fake broker: no packet of type ${type ?? "any"} within ${timeoutMs} ms`);
      await this.arrival.wait(remaining);
    }
  }

  /**
   * Resolves with the first packet of `type` the client has sent, now or earlier,
   * without consuming it: for tests observing a connection that a script is serving.
   */
  async waitForPacket(type: number, timeoutMs = 5000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.packets.find((p) => p.type === type);
      if (found) return found;
      if (this.isClosed) throw new ConnectionClosedError();
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`fake broker: no packet of type ${type} within ${timeoutMs} ms`);
      await this.arrival.wait(remaining);
    }
  }

  /** Writes raw bytes to the client. */
  send(bytes: Uint8Array | number[]): void {
    this.socket.write(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }

  /** Closes gracefully (FIN after pending writes). */
  close(): void {
    this.socket.end();
  }

  /** Closes abruptly, discarding pending writes. */
  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    try {
      this.packets.push(...this.splitter.push(chunk));
    } catch (error) {
      this.protocolError = error instanceof Error ? error : new Error(String(error));
      this.socket.destroy();
    }
    this.arrival.notify();
  }
}

/** Wakes every waiter when something happened; waiters re-check their condition. */
class Signal {
  private readonly waiters = new Set<() => void>();

  /** Resolves on the next {@link notify} or after `timeoutMs` (never, if infinite). */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(timeoutMs) ? setTimeout(done, timeoutMs) : undefined;
      const waiters = this.waiters;
      function done(): void {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/**
 * The normal broker reply to a client packet, or `undefined` when none is due:
 * CONNECT → CONNACK 0, SUBSCRIBE → SUBACK granting the requested QoS,
 * UNSUBSCRIBE → UNSUBACK, PUBLISH QoS 1/2 → PUBACK/PUBREC, PUBREL → PUBCOMP,
 * PINGREQ → PINGRESP.
 */
export function defaultReply(p: Packet): Uint8Array | undefined {
  switch (p.type) {
    case PacketType.CONNECT:
      return connack(false, 0);
    case PacketType.SUBSCRIBE: {
      const subscribe = parseSubscribe(p);
      return suback(subscribe.packetId, subscribe.filters.map((f) => f.qos));
    }
    case PacketType.UNSUBSCRIBE:
      return unsuback(packetIdOf(p));
    case PacketType.PUBLISH: {
      const message = parsePublish(p);
      if (message.packetId === undefined) return undefined;
      return message.qos === 1 ? puback(message.packetId) : pubrec(message.packetId);
    }
    case PacketType.PUBREL:
      return pubcomp(packetIdOf(p));
    case PacketType.PINGREQ:
      return pingresp();
    default:
      return undefined;
  }
}

/** Per packet type, a handler that replaces {@link defaultReply} for that type. */
export type Overrides = Partial<Record<number, (p: Packet, conn: FakeConnection) => void | Promise<void>>>;

/**
 * A script that answers like a well-behaved broker except for the overridden packet
 * types, e.g. `scriptWith({ [PacketType.PINGREQ]: () => {} })` never answers pings.
 * Closes the connection on DISCONNECT.
 */
export function scriptWith(overrides: Overrides): Script {
  return async (conn) => {
    for (;;) {
      const p = await conn.next(undefined, Number.POSITIVE_INFINITY);
      const override = overrides[p.type];
      if (override) {
        await override(p, conn);
      } else if (p.type === PacketType.DISCONNECT) {
        conn.close();
        return;
      } else {
        const reply = defaultReply(p);
        if (reply) conn.send(reply);
      }
    }
  };
}

/** A well-behaved broker script: {@link scriptWith} with no overrides. */
export const defaultScript: Script = scriptWith({});

/** A running fake broker. */
export interface FakeBroker {
  port: number;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  /** Every accepted connection, in order. */
  connections: FakeConnection[];
  /** Number of connections accepted so far. */
  readonly connectionCount: number;
  /** Resolves with connection number `n` (1-based) once it has been accepted. */
  waitForConnection(n: number, timeoutMs?: number): Promise<FakeConnection>;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts a fake broker on a free loopback port that runs `script` for each connection. */
export async function startFakeBroker(script: Script = defaultScript): Promise<FakeBroker> {
  const connections: FakeConnection[] = [];
  const sockets = new Set<net.Socket>();
  const accepted = new Signal();

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const conn = new FakeConnection(connections.length, socket);
    connections.push(conn);
    script(conn).catch((error: unknown) => {
      if (!(error instanceof ConnectionClosedError)) conn.scriptError = error;
    });
    accepted.notify();
  });
  const port = await listenOnLoopback(server);

  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    connections,
    get connectionCount() {
      return connections.length;
    },
    async waitForConnection(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (connections.length < n) {
        if (Date.now() >= deadline) throw new Error(`fake broker: connection ${n} not accepted within ${timeoutMs} ms`);
        await accepted.wait(deadline - Date.now());
      }
      return connections[n - 1];
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
