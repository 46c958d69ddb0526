/**
 * The browser bundle (dist/browser.js, `wasmqtt/browser`) as a page would run it, in this
 * Node process with only what browsers have: the `WebSocket` global (the `ws` package's,
 * the same WHATWG API), `fetch`, `MessageChannel`, `performance`, `crypto`. It fetches the
 * module over HTTP (`wasmUrl`), talks to the embedded aedes broker's WebSocket listener,
 * interoperates with a TCP client, and refuses what a browser cannot do. Needs
 * `node scripts/build.mjs` first (the test command builds before it runs the tests).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { WebSocket } from "ws";
import { type SimBroker, startEmbeddedBroker } from "../../host/sim/broker.ts";
import { openClient, rejection, uniqueId, uniqueTopic } from "./support/client-helpers.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUNDLE = path.join(ROOT, "dist", "browser.js");

type BrowserApi = typeof import("../../host/browser.ts");
let api: BrowserApi;
let broker: SimBroker & { wsUrl: string };
let wasmUrl: string;
const requested: string[] = [];
const server = createServer((request, response) => {
  requested.push(request.url ?? "");
  if (request.url !== "/client-desktop.wasm") {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { "content-type": "application/wasm" }).end(readFileSync(path.join(ROOT, "build", "client-desktop.wasm")));
});

before(async () => {
  assert.ok(existsSync(BUNDLE), "dist/browser.js is missing: run node scripts/build.mjs first");
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  api = (await import(pathToFileURL(BUNDLE).href)) as BrowserApi;
  broker = await startEmbeddedBroker();
  server.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  wasmUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client-desktop.wasm`;
});
after(async () => {
  await broker?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test("the bundle imports no module at all (no Node built-in, no package)", () => {
  const source = readFileSync(BUNDLE, "utf8");
  assert.doesNotMatch(source, /\bimport\s*[^(]*?\bfrom\s*["']/);
  assert.doesNotMatch(source, /\bimport\(["']|\brequire\(/);
});

test("connect over the browser's WebSocket with the module fetched from wasmUrl: messages both ways with a TCP client", async (t) => {
  const topic = uniqueTopic("browser");
  const client = await api.connect(broker.wsUrl, { clientId: uniqueId("browser"), wasmUrl, keepalive: 5 });
  t.after(() => client.end());
  assert.ok(requested.includes("/client-desktop.wasm"));
  const received: { topic: string; payload: Uint8Array; qos: number }[] = [];
  client.on("message", (name, payload, meta) => received.push({ topic: name, payload, qos: meta.qos }));
  await client.subscribe(`${topic}/in`, { qos: 1 });
  const { client: tcp, rec } = await openClient(t, broker.url, { clientId: uniqueId("browser-peer") });
  await tcp.subscribe(`${topic}/out`, { qos: 1 });
  await tcp.publish(`${topic}/in`, "to the page", { qos: 1 });
  await client.publish(`${topic}/out`, "from the page", { qos: 2 });
  const [fromPage] = await rec.waitForMessages(1);
  assert.equal(Buffer.from(fromPage.payload).toString(), "from the page");
  for (let i = 0; i < 200 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(received.length, 1);
  assert.equal(received[0].payload.toString(), "to the page", "a payload's toString() is its UTF-8 text, as a Buffer's");
  assert.equal(Buffer.isBuffer(received[0].payload), false, "no Buffer in a browser");
  assert.equal(received[0].qos, 1);
});

test("mqtt:// and TLS options are refused, naming why; a wasmUrl that answers 404 is MODULE_LOAD_FAILED", async () => {
  const tcp = await rejection(api.connect(broker.url, { wasmUrl }), "mqtt:// in a browser");
  assert.equal(tcp.code, "INVALID_ARGUMENT");
  assert.match(tcp.message, /a browser cannot open mqtt:\/\/ \(TCP\); connect to the broker's WebSocket listener/);
  const tls = await rejection(api.connect(broker.wsUrl.replace("ws:", "wss:"), { wasmUrl, ca: "x" }), "ca in a browser");
  assert.match(tls.message, /ca is not available in a browser/);
  const missing = await rejection(api.connect(broker.wsUrl, { wasmUrl: wasmUrl.replace("client-desktop", "absent") }), "a 404 module");
  assert.equal(missing.code, "MODULE_LOAD_FAILED");
  assert.match(missing.message, /absent\.wasm .*HTTP 404/);
});
