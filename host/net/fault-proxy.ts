/**
 * A TCP proxy on a free loopback port in front of a target port, with faults that can be
 * switched at run time: a half-open link, dropped connections, latency, refusal. The
 * tests put it between a client and Mosquitto; `wasmqtt soak --real` puts one in front of
 * Mosquitto for every device (host/soak/proxy-link.ts).
 *
 * @example
 * const proxy = await startFaultProxy(broker.port);
 * const client = mqtt.connect(proxy.url, { keepalive: 1 });
 * proxy.blackhole(true); // the client must notice through its keepalive
 * await proxy.close();
 */
import net from "node:net";
import { listenOnLoopback } from "./ports.ts";

/** Traffic counters; bytes count what was actually forwarded. */
export interface ProxyStats {
  /** Connections accepted and forwarded (refused ones are not counted). */
  connections: number;
  /** Connections currently open on the client side. */
  active: number;
  /** Connections closed at once because `refuse(true)` was in force. */
  refused: number;
  bytesToTarget: number;
  bytesToClient: number;
  /** Bytes thrown away while `blackhole(true)` was in force, both directions. */
  bytesDiscarded: number;
}

/** A running fault proxy. */
export interface FaultProxy {
  port: number;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  /**
   * While on, traffic in both directions is silently discarded and a close on one side
   * is not passed to the other: a half-open link that neither peer can tell from a slow
   * one. Bytes are lost, not held, so a connection that lived through a blackhole is
   * corrupt; turning it off closes the partner of any side that closed meanwhile, and
   * `dropAll()` clears the rest.
   */
  blackhole(on: boolean): void;
  /** Destroys every current connection, both sides. */
  dropAll(): void;
  /** Adds `ms` of latency to every chunk from now on, preserving order. 0 removes it. */
  delay(ms: number): void;
  /** While on, new connections are accepted and closed immediately. */
  refuse(on: boolean): void;
  /** A snapshot of the counters. */
  readonly stats: ProxyStats;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/** Forwards chunks to a socket `latencyMs()` after they arrived, in arrival order. */
class DelayedWriter {
  private readonly queue: { due: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: net.Socket,
    private readonly latencyMs: () => number,
    private readonly onWrite: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    const latency = this.latencyMs();
    if (latency <= 0 && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    this.queue.push({ due: Date.now() + latency, chunk });
    this.schedule();
  }

  /** Drops what is still queued. */
  clear(): void {
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      while (this.queue.length > 0 && this.queue[0].due <= Date.now()) this.write(this.queue.shift()!.chunk);
      this.schedule();
    }, Math.max(0, this.queue[0].due - Date.now()));
  }

  private write(chunk: Buffer): void {
    if (this.target.destroyed) return;
    this.target.write(chunk);
    this.onWrite(chunk.length);
  }
}

/** One proxied connection: the accepted client socket and its upstream socket. */
class Link {
  private readonly toTarget: DelayedWriter;
  private readonly toClient: DelayedWriter;

  constructor(
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    private readonly proxy: ProxyState,
  ) {
    this.toTarget = new DelayedWriter(upstream, () => proxy.latencyMs, (n) => (proxy.stats.bytesToTarget += n));
    this.toClient = new DelayedWriter(client, () => proxy.latencyMs, (n) => (proxy.stats.bytesToClient += n));
    client.on("data", (chunk: Buffer) => this.forward(chunk, this.toTarget));
    upstream.on("data", (chunk: Buffer) => this.forward(chunk, this.toClient));
    for (const side of [client, upstream]) {
      side.on("error", () => {}); // resets are expected; "close" follows
      side.once("close", () => this.sideClosed());
    }
  }

  /** Destroys both sides. */
  destroy(): void {
    this.toTarget.clear();
    this.toClient.clear();
    this.client.destroy();
    this.upstream.destroy();
  }

  /** Closes the partner of a side that closed while the blackhole hid it. */
  settle(): void {
    if (this.client.destroyed || this.upstream.destroyed) this.destroy();
  }

  private forward(chunk: Buffer, writer: DelayedWriter): void {
    if (this.proxy.blackholed) this.proxy.stats.bytesDiscarded += chunk.length;
    else writer.push(chunk);
  }

  /** Passes a close on to the other side, unless the blackhole hides it. */
  private sideClosed(): void {
    if (!this.proxy.blackholed) this.destroy();
    if (this.client.destroyed && this.upstream.destroyed) this.proxy.links.delete(this);
  }
}

/** Mutable state shared by the proxy and its links. */
interface ProxyState {
  blackholed: boolean;
  refusing: boolean;
  latencyMs: number;
  links: Set<Link>;
  stats: ProxyStats;
}

/** Starts a proxy on a free loopback port forwarding to `targetHost:targetPort`. */
export async function startFaultProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<FaultProxy> {
  const state: ProxyState = {
    blackholed: false,
    refusing: false,
    latencyMs: 0,
    links: new Set(),
    stats: { connections: 0, active: 0, refused: 0, bytesToTarget: 0, bytesToClient: 0, bytesDiscarded: 0 },
  };

  const server = net.createServer((client) => {
    if (state.refusing) {
      state.stats.refused++;
      client.destroy();
      return;
    }
    state.stats.connections++;
    state.stats.active++;
    client.once("close", () => state.stats.active--);
    client.setNoDelay(true);
    const upstream = net.connect({ port: targetPort, host: targetHost, noDelay: true });
    state.links.add(new Link(client, upstream, state));
  });
  const port = await listenOnLoopback(server);

  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    blackhole(on) {
      state.blackholed = on;
      if (!on) for (const link of state.links) link.settle();
    },
    dropAll() {
      for (const link of state.links) link.destroy();
      state.links.clear();
    },
    delay(ms) {
      state.latencyMs = ms;
    },
    refuse(on) {
      state.refusing = on;
    },
    get stats() {
      return { ...state.stats };
    },
    async close() {
      for (const link of state.links) link.destroy();
      state.links.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
