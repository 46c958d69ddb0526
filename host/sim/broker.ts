/**
 * Where the simulated devices' connections end up. Each device's {@link NetworkLink} hands
 * the broker end of a connection (a Node `Duplex`) to `accept`:
 *
 * - {@link startEmbeddedBroker}: an in-process aedes broker (its store patched:
 *   host/aedes-store.ts) handles the Duplex directly, and also listens on 127.0.0.1 so
 *   outside tools (`mosquitto_sub -t 'devices/#' -v`) can watch, over TCP and over
 *   WebSockets (a `ws` server whose connections aedes reads as streams: browsers, the
 *   dashboard);
 * - {@link remoteBroker}: every Duplex is piped to a fresh TCP connection to a real broker
 *   (`--broker mqtt://host:port`); a network drop resets that connection, so the broker
 *   publishes the device's will as it would for a real one.
 *
 * @example
 * const broker = await startEmbeddedBroker({ port: 0 });
 * const link = new NetworkLink(clock, random, (duplex) => broker.accept(duplex));
 * console.log(`watch with: mosquitto_sub -p ${broker.port} -t 'devices/#' -v`);
 * await broker.close();
 */
import { once } from "node:events";
import { type AddressInfo, type Server, type Socket, connect, createServer } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, createWebSocketStream } from "ws";
import { type AedesBroker, aedesModules, patchMemoryStore } from "../aedes-store.ts";

/** A broker the simulator's connections are handed to. */
export interface SimBroker {
  /** Where outside tools connect: `mqtt://host:port`. */
  readonly url: string;
  /** The embedded broker's WebSocket listener: `ws://host:port/mqtt`. */
  readonly wsUrl?: string;
  /** "embedded" (aedes in this process) or "remote" (a real broker over TCP). */
  readonly kind: "embedded" | "remote";
  /** Serves the broker end of one device connection. */
  accept(connection: Duplex): void;
  /** Ends every connection and stops listening; resolves once all are gone. */
  close(): Promise<void>;
}

/** Options of {@link startEmbeddedBroker}. */
export interface EmbeddedBrokerOptions {
  /** TCP port of the listener for outside tools; 0 (default) picks a free one. */
  port?: number;
  /** Port of the WebSocket listener; 0 (default) picks a free one. */
  wsPort?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
}

/** The subprotocols MQTT over WebSockets asks for (MQTT 3.1.1 §6.0; "mqttv3.1" by older clients). */
const MQTT_SUBPROTOCOLS = ["mqtt", "mqttv3.1"];

/** The longest client id the embedded broker accepts: the firmware's longest device id. */
const MAX_CLIENT_ID_LENGTH = 32;
/** How long `close` waits for a remote broker to close a connection before resetting it. */
const CLOSE_GRACE_MS = 1000;

/**
 * Starts aedes in this process with a TCP listener on `host:port` and a WebSocket one on
 * `host:wsPort` (default 127.0.0.1, free ports; any request path). Rejects when a port
 * cannot be bound (e.g. EADDRINUSE).
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<SimBroker & { port: number; wsPort: number; wsUrl: string }> {
  // the memory store with aedes's QoS 2 bugs patched (host/aedes-store.ts): a device whose
  // connection drops between PUBREL and PUBCOMP would otherwise reconnect forever
  const { createBroker, memoryPersistence } = aedesModules();
  const broker = createBroker({ maxClientsIdLength: MAX_CLIENT_ID_LENGTH, persistence: patchMemoryStore(memoryPersistence()) });
  const host = options.host ?? "127.0.0.1";
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  server.listen(options.port ?? 0, host);
  const websockets = new WebSocketServer({
    host,
    port: options.wsPort ?? 0,
    handleProtocols: (offered) => MQTT_SUBPROTOCOLS.find((protocol) => offered.has(protocol)) ?? false,
  });
  websockets.on("connection", (socket) => {
    const stream = createWebSocketStream(socket);
    stream.on("error", () => {}); // a dropped connection ends the stream; aedes has seen the end
    broker.handle(stream);
  });
  try {
    await Promise.all([once(server, "listening"), once(websockets, "listening")]);
  } catch (error) {
    server.close();
    websockets.close();
    await closeAedes(broker);
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const wsPort = (websockets.address() as AddressInfo).port;
  const authority = (at: number) => `${host.includes(":") ? `[${host}]` : host}:${at}`;
  return {
    kind: "embedded",
    url: `mqtt://${authority(port)}`,
    port,
    wsUrl: `ws://${authority(wsPort)}/mqtt`,
    wsPort,
    accept: (connection) => {
      connection.on("error", () => {}); // a dropped connection is destroyed; aedes has seen the end
      broker.handle(connection);
    },
    close: async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      const wsStopped = new Promise<void>((resolve) => websockets.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      for (const socket of websockets.clients) socket.terminate();
      await closeAedes(broker);
      await Promise.all([stopped, wsStopped]);
    },
  };
}

/**
 * Pipes every device connection to its own TCP connection to `url` (`mqtt://host:port`,
 * port 1883 by default). Throws a TypeError for a URL that is not `mqtt://` or `tcp://`.
 */
export function remoteBroker(url: string): SimBroker {
  const target = parseBrokerUrl(url);
  const sockets = new Set<Socket>();
  return {
    kind: "remote",
    url: `mqtt://${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`,
    accept: (connection) => {
      const socket = connect({ host: target.host, port: target.port });
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      splice(connection, socket);
    },
    close: async () => {
      await Promise.all([...sockets].map((socket) => closeSocket(socket)));
    },
  };
}

/** `mqtt://host:port` or `tcp://host:port` (port 1883 by default). */
export function parseBrokerUrl(url: string): { host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`"${url}" is not a URL; expected mqtt://host:port`);
  }
  if (parsed.protocol !== "mqtt:" && parsed.protocol !== "tcp:") {
    throw new TypeError(`unsupported scheme "${parsed.protocol}" in "${url}"; the simulator connects to mqtt:// URLs`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new TypeError(`"${url}" names no host`);
  return { host, port: parsed.port === "" ? 1883 : Number(parsed.port) };
}

/**
 * Joins the simulated connection and the TCP socket: bytes both ways, an orderly end both
 * ways, and a reset (destroy) of either end resets the other.
 */
function splice(connection: Duplex, socket: Socket): void {
  connection.pipe(socket);
  socket.pipe(connection);
  const reset = (): void => {
    if (!socket.destroyed) socket.destroy();
    if (!connection.destroyed) connection.destroy();
  };
  socket.on("error", reset);
  connection.on("error", reset);
  connection.once("close", () => {
    // a drop by the simulated network destroys the connection: the broker must see a reset
    if (!connection.readableEnded || !connection.writableFinished) socket.resetAndDestroy();
    else if (!socket.destroyed) socket.end();
  });
  socket.once("close", () => {
    if (!connection.destroyed) connection.destroy();
  });
}

/** Ends a socket gracefully, destroying it if the peer does not close within the grace period. */
function closeSocket(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  const gone = once(socket, "close").then(() => undefined, () => undefined);
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
  timer.unref();
  socket.end();
  return gone.finally(() => clearTimeout(timer));
}

function closeAedes(broker: AedesBroker): Promise<void> {
  return new Promise<void>((resolve) => broker.close(() => resolve()));
}
