/**
 * What the host needs of the platform it runs on, for Node: the transport of each broker
 * URL scheme, where the module's `.wasm` is and how to read it, the event emitter, a
 * deferred call, a copy of bytes as the API hands them out, and the state file of the
 * `persist` option. The browser build
 * (scripts/build.mjs, `wasmqtt/browser`) puts host/platform.browser.ts in this file's
 * place; both export the same names, and nothing else in the host imports a Node
 * built-in the browser bundle needs.
 *
 * @example
 * const transport = createTransport(parseBrokerTarget("mqtts://broker.example"), { ca });
 * const bytes = await readModule(moduleLocation("client-desktop.wasm"));
 */
import { EventEmitter } from "node:events";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { type BrokerTarget, type TlsOptions, webSocketUrl } from "./broker-url.ts";
import type { Clock } from "./clock.ts";
import type { LinkTap } from "./link.ts";
import { PcapTrace } from "./pcap.ts";
import type { SessionStore, SlotName } from "./persist.ts";
import { TlsTransport } from "./tls.ts";
import { TcpTransport, type Transport } from "./transport.ts";
import { type WebSocketLike, WebSocketTransport } from "./websocket.ts";

/** The event emitter the client extends: node:events'. */
export { EventEmitter as Emitter };

/** Runs `run` after the current turn, once pending I/O callbacks had theirs (`setImmediate`). */
export function defer(run: () => void): void {
  setImmediate(run);
}

/** A copy of `bytes` the caller may keep, as the API hands payloads out: a Buffer. */
export function copyBytes(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes);
}

/** TCP for mqtt://, node:tls for mqtts://, the `ws` package's WebSocket (with the TLS options) for ws:// and wss://. */
export function createTransport(target: BrokerTarget, tls: TlsOptions): Transport {
  switch (target.scheme) {
    case "mqtt":
      return new TcpTransport(target.host, target.port);
    case "mqtts":
      return new TlsTransport(target.host, target.port, tls);
    case "ws":
    case "wss":
      return new WebSocketTransport(
        webSocketUrl(target),
        (url, protocols) => new WebSocket(url, protocols, { ...(tls as WebSocket.ClientOptions), perMessageDeflate: false }) as unknown as WebSocketLike,
      );
  }
}

/** A pcap trace a client writes and closes. */
export type PcapTraceFile = LinkTap & { close(): void };

/**
 * The client's `trace.pcap`: creates `file` for a pcap trace on `clock` (host/pcap.ts).
 * Throws WasmqttError INVALID_ARGUMENT naming the file when it cannot be created.
 */
export function openPcapTrace(file: string, clock: Clock): PcapTraceFile {
  return PcapTrace.open(file, clock);
}

/** The package root: the nearest directory above this file whose package.json is named "wasmqtt" (host/ and dist/ alike). */
export function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(directory, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === "wasmqtt") return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new Error('cannot find the wasmqtt package root (no package.json named "wasmqtt" above this file)');
    directory = parent;
  }
}

/** Where a module file is by default: `<package root>/build/<name>`. */
export function moduleLocation(name: string): string {
  return join(packageRoot(), "build", name);
}

/** The bytes of a module file: a path or a `file:` URL. Rejects with the file system's error. */
export async function readModule(location: string | URL): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await readFile(typeof location === "string" && !location.startsWith("file:") ? location : fileURLToPath(location));
  return new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The `persist: "<path>"` store: one file holding slot A in its first `length` bytes and
 * slot B in the next (boards/ABI.md, "Two slots"), created on the first save. Each save
 * is written in place and fsynced before `save` returns (the directory too when the file
 * was new), so a crash leaves at most the slot being written torn.
 */
export function openStateFile(path: string, length: number): SessionStore {
  let fd: number | undefined;
  return {
    load: () => {
      if (!existsSync(path)) return undefined;
      const bytes = readFileSync(path);
      return { a: bytes.subarray(0, length), b: bytes.subarray(length, 2 * length) };
    },
    save: (image: Uint8Array, slot: SlotName) => {
      if (fd === undefined) {
        const created = !existsSync(path);
        fd = openSync(path, created ? "w+" : "r+");
        if (created) {
          const directory = openSync(dirname(path), "r");
          fsyncSync(directory);
          closeSync(directory);
        }
      }
      writeSync(fd, image, 0, image.length, slot === "a" ? 0 : length);
      fsyncSync(fd);
    },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
