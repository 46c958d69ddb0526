/**
 * The simulator's web dashboard: a small HTTP server on 127.0.0.1 serving the page in
 * web/ (plain HTML, CSS and a script), the browser bundle (dist/browser.js) and the client
 * module (build/client-desktop.wasm) at the paths they have in the package, and
 * config.json naming the broker's WebSocket listener. The page runs wasmqtt itself; this
 * server only hands out files.
 *
 * @example
 * const dashboard = await startDashboard({ wsUrl: broker.wsUrl });
 * console.log(`dashboard: ${dashboard.url}`);
 * await dashboard.close();
 */
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { type AddressInfo, type Socket } from "node:net";
import { createServer } from "node:http";
import { join } from "node:path";
import { packageRoot } from "../platform.ts";

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** The broker's WebSocket listener the page connects to. */
  wsUrl: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
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
  "/dist/browser.js": { file: "dist/browser.js", type: "text/javascript; charset=utf-8" },
  "/build/client-desktop.wasm": { file: "build/client-desktop.wasm", type: "application/wasm" },
};

/** Starts the server on 127.0.0.1; rejects when the port cannot be bound (e.g. EADDRINUSE). */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const root = packageRoot();
  const config = JSON.stringify({ wsUrl: options.wsUrl });
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/config.json") {
      response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(config);
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
