/**
 * The simulator's web dashboard: a small HTTP server on 127.0.0.1 serving the page in
 * web/ (plain HTML, CSS and a script), the browser bundle (dist/browser.js) and the client
 * module (build/client-desktop.wasm) at the paths they have in the package, and
 * config.json naming the broker's WebSocket listener. The page runs wasmqtt itself: the
 * readings, relay, LED and online/offline come over MQTT. What a board does not publish —
 * its module's outbox fill and reconnect count — the simulator knows; with `devices`, the
 * server hands those out as devices.json.
 *
 * @example
 * const dashboard = await startDashboard({ wsUrl: broker.wsUrl, devices: () => sim.snapshot().devices });
 * console.log(`dashboard: ${dashboard.url}`);
 * await dashboard.close();
 */
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { type AddressInfo, type Socket } from "node:net";
import { createServer } from "node:http";
import { join } from "node:path";
import { packageRoot } from "../platform.ts";
import type { DeviceSnapshot } from "./device.ts";

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** The broker's WebSocket listener the page connects to. */
  wsUrl: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** The simulated devices' state now; without it devices.json is a 404 and the page shows no outbox or reconnects. */
  devices?: () => readonly DeviceSnapshot[];
}

/** What devices.json tells of each device: its module's outbox fill (bytes) and reconnects. */
export interface DashboardDevice {
  id: string;
  outbox: { used: number; capacity: number };
  reconnects: number;
}

/** A running dashboard server. */
export interface Dashboard {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** Stops serving; resolves once every connection is closed. */
  close(): Promise<void>;
}

/** Each path the server answers, the file it serves (under the package root) and its type. */
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "web/index.html", type: "text/html; charset=utf-8" },
  "/dashboard.css": { file: "web/dashboard.css", type: "text/css; charset=utf-8" },
  "/dashboard.js": { file: "web/dashboard.js", type: "text/javascript; charset=utf-8" },
  "/chart.js": { file: "web/chart.js", type: "text/javascript; charset=utf-8" },
  "/dist/browser.js": { file: "dist/browser.js", type: "text/javascript; charset=utf-8" },
  "/build/client-desktop.wasm": { file: "build/client-desktop.wasm", type: "application/wasm" },
};

/** Starts the server on 127.0.0.1; rejects when the port cannot be bound (e.g. EADDRINUSE). */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const root = packageRoot();
  const config = JSON.stringify({ wsUrl: options.wsUrl, devices: options.devices !== undefined });
  const devices = options.devices;
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/config.json") {
      response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(config);
      return;
    }
    if (path === "/devices.json" && devices !== undefined) {
      const body: DashboardDevice[] = devices().map(({ id, outbox, reconnects }) => ({ id, outbox, reconnects }));
      response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
      return;
    }
    const entry = FILES[path];
    if (entry === undefined || request.method !== "GET") {
      response.writeHead(404, { "content-type": "text/plain" }).end(`${path}: not found\n`);
      return;
    }
    readFile(join(root, entry.file)).then(
      (body) => response.writeHead(200, { "content-type": entry.type, "cache-control": "no-store" }).end(body),
      () => response.writeHead(500, { "content-type": "text/plain" }).end(`${entry.file} is missing (run \`npm run build\`)\n`),
    );
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
}
