/**
 * host/platform.ts for browsers, put in its place by the browser build (scripts/build.mjs):
 * the browser's `WebSocket` for ws:// and wss:// (a browser cannot open TCP), the module
 * fetched by URL, a small event emitter, a deferred call through a MessageChannel, and
 * payloads as Uint8Arrays whose `toString()` decodes UTF-8 as a Buffer's does; no state
 * file (`persist` takes a store there). No Node
 * built-ins: the build fails if one is reached.
 *
 * @example
 * const transport = createTransport(parseBrokerTarget("wss://broker.example/mqtt"), {});
 */
import { type BrokerTarget, TLS_OPTION_NAMES, type TlsOptions, webSocketUrl } from "./broker-url.ts";
import { argumentError } from "./errors.ts";
import type { Clock } from "./clock.ts";
import type { LinkTap } from "./link.ts";
import type { SessionStore } from "./persist.ts";
import type { Transport } from "./transport.ts";
import { type WebSocketLike, WebSocketTransport } from "./websocket.ts";

/** A pcap trace a client writes and closes. */
export type PcapTraceFile = LinkTap & { close(): void };

/** `trace.pcap` writes a file: a browser has none to write. Throws WasmqttError INVALID_ARGUMENT. */
export function openPcapTrace(file: string, _clock: Clock): PcapTraceFile {
  throw argumentError(`trace.pcap ('${file}') writes a file, which a browser cannot: trace in Node`);
}

/** A listener as stored: each event's own argument types are checked at `on` and `emit`. */
type Listener = (...args: any[]) => void;

/** The part of node:events' EventEmitter the client API offers in a browser: on, once, off, emit, listeners. */
export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listenersByName = new Map<keyof Events, { listener: Listener; once: boolean }[]>();

  /** Calls `listener` on every `name` event; returns this. */
  on<K extends keyof Events>(name: K, listener: (...args: Events[K]) => void): this {
    return this.add(name, listener, false);
  }

  /** The same as `on`. */
  addListener<K extends keyof Events>(name: K, listener: (...args: Events[K]) => void): this {
    return this.add(name, listener, false);
  }

  /** Calls `listener` on the next `name` event only; returns this. */
  once<K extends keyof Events>(name: K, listener: (...args: Events[K]) => void): this {
    return this.add(name, listener, true);
  }

  /** Removes `listener` (the last one added, if it was added twice); returns this. */
  off<K extends keyof Events>(name: K, listener: (...args: Events[K]) => void): this {
    const entries = this.listenersByName.get(name) ?? [];
    const index = entries.map((entry) => entry.listener).lastIndexOf(listener as Listener);
    if (index >= 0) entries.splice(index, 1);
    return this;
  }

  /** The same as `off`. */
  removeListener<K extends keyof Events>(name: K, listener: (...args: Events[K]) => void): this {
    return this.off(name, listener);
  }

  /** Removes every listener of `name`, or of every event; returns this. */
  removeAllListeners(name?: keyof Events): this {
    if (name === undefined) this.listenersByName.clear();
    else this.listenersByName.delete(name);
    return this;
  }

  /** How many listeners `name` has. */
  listenerCount(name: keyof Events): number {
    return this.listenersByName.get(name)?.length ?? 0;
  }

  /** Calls the listeners of `name` in the order they were added; returns whether there were any. */
  emit<K extends keyof Events>(name: K, ...args: Events[K]): boolean {
    const entries = [...(this.listenersByName.get(name) ?? [])];
    for (const entry of entries) {
      if (entry.once) this.off(name, entry.listener as (...args: Events[K]) => void);
      (entry.listener as (...args: Events[K]) => void)(...args);
    }
    return entries.length > 0;
  }

  private add(name: keyof Events, listener: Listener, once: boolean): this {
    const entries = this.listenersByName.get(name) ?? [];
    entries.push({ listener, once });
    this.listenersByName.set(name, entries);
    return this;
  }
}

const deferred: (() => void)[] = [];
let channel: MessageChannel | undefined;

/**
 * Runs `run` after the current turn, as a task (a message to itself: no timer clamping).
 * The channel is closed whenever nothing waits, so it keeps no event loop alive.
 */
export function defer(run: () => void): void {
  if (channel === undefined) {
    const opened = new MessageChannel();
    opened.port1.onmessage = () => {
      const next = deferred.shift();
      if (deferred.length === 0) {
        opened.port1.close();
        channel = undefined;
      }
      next?.();
    };
    channel = opened;
  }
  deferred.push(run);
  channel.port2.postMessage(0);
}

/** A payload: the bytes, and `toString()` decoding them as UTF-8 (as a Node Buffer's does). */
class Payload extends Uint8Array {
  override toString(): string {
    return new TextDecoder().decode(this);
  }
}

/** A copy of `bytes` the caller may keep: a Uint8Array whose `toString()` is its UTF-8 text (typed as Node's Buffer, which it stands in for). */
export function copyBytes(bytes: Uint8Array): Buffer {
  return Payload.from(bytes) as unknown as Buffer;
}

/**
 * The browser's WebSocket for ws:// and wss://. Throws INVALID_ARGUMENT for mqtt:// and
 * mqtts:// (a page cannot open TCP) and for TLS options (the browser's trust store decides).
 */
export function createTransport(target: BrokerTarget, tls: TlsOptions): Transport {
  if (target.scheme === "mqtt" || target.scheme === "mqtts") {
    throw argumentError(`a browser cannot open ${target.scheme}:// (TCP); connect to the broker's WebSocket listener with ws:// or wss://`);
  }
  const given = TLS_OPTION_NAMES.find((name) => tls[name] !== undefined);
  if (given !== undefined) throw argumentError(`${given} is not available in a browser: its own trust store checks wss:// certificates`);
  return new WebSocketTransport(webSocketUrl(target), (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike);
}

/** Where a module file is by default: build/<name> of the package, next to the bundle's dist/. */
export function moduleLocation(name: string): URL {
  return new URL(`../build/${name}`, import.meta.url);
}

/** Fetches a module file; rejects when the request fails or the answer is not 200-299. */
export async function readModule(location: string | URL): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(location);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A page has no files: `persist` takes a store ({ load, save }) there. Throws INVALID_ARGUMENT. */
export function openStateFile(path: string, _length: number): SessionStore {
  throw argumentError(`persist: a browser has no file ${JSON.stringify(path)}; pass a store { load(), save(image, slot) } (e.g. over IndexedDB)`);
}
