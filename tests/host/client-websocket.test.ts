/**
 * MQTT over WebSockets (`ws://`) against Mosquitto's `websockets` listener: QoS 0/1/2 both
 * ways with a TCP peer (mosquitto_pub / mosquitto_sub), reconnecting after the broker
 * restarts; and through a re-framing proxy (a `ws` server in front of Mosquitto's TCP
 * listener) that splits packets across frames, joins many into one, checks the
 * subprotocol and path, and sends a text frame, which closes the connection; wss:// through
 * the same proxy behind TLS; and the embedded aedes broker's WebSocket listener.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { after, before, test } from "node:test";
import { WebSocketServer } from "ws";
import { type Broker, mosquittoSupportsWebsockets, startMosquitto } from "../../host/mosquitto.ts";
import { startEmbeddedBroker } from "../../host/sim/broker.ts";
import { connect } from "../../host/index.ts";
import { makeCertificates } from "./support/certificates.ts";
import { openClient, rejection, text, uniqueId, uniqueTopic } from "./support/client-helpers.ts";
import { mosquittoPub, mosquittoSubStart } from "./support/mosquitto-clients.ts";

const skip = !mosquittoSupportsWebsockets() && "this mosquitto has no WebSocket support";

let broker: Broker;
before(async () => {
  if (!skip) broker = await startMosquitto({ websockets: true });
});
after(() => broker?.stop());

for (const qos of [0, 1, 2] as const) {
  test(`QoS ${qos}: wasmqtt over ws:// → mosquitto_sub over TCP, and mosquitto_pub → wasmqtt`, { skip }, async (t) => {
    const topic = uniqueTopic(`ws/q${qos}`);
    const { client, rec } = await openClient(t, broker.wsUrl!, { clientId: uniqueId("ws") });
    const sub = mosquittoSubStart(broker, ["-t", `${topic}/out`, "-q", String(qos), "-N"], { count: 1, timeoutMs: 4000 });
    await sub.ready;
    await client.publish(`${topic}/out`, `ws to tcp at QoS ${qos}`, { qos });
    assert.equal(text((await sub.done).stdout), `ws to tcp at QoS ${qos}`);
    await client.subscribe(`${topic}/in`, { qos });
    await mosquittoPub(broker, ["-t", `${topic}/in`, "-q", String(qos), "-m", `tcp to ws at QoS ${qos}`]);
    const [message] = await rec.waitForMessages(1);
    assert.equal(text(message.payload), `tcp to ws at QoS ${qos}`);
    assert.equal(message.meta.qos, qos);
  });
}

test("ws://: the client reconnects and resubscribes after the broker restarts", { skip }, async (t) => {
  const topic = uniqueTopic("ws/restart");
  const { client, rec } = await openClient(t, broker.wsUrl!, { clientId: uniqueId("ws-restart") });
  await client.subscribe(topic, { qos: 1 });
  const mark = rec.mark();
  await broker.restart();
  await rec.waitFor("offline", { from: mark });
  await rec.waitFor("connect", { from: mark, timeoutMs: 6000 });
  await rec.waitForPacket("in", "SUBACK", { from: mark });
  await mosquittoPub(broker, ["-t", topic, "-q", "1", "-m", "after the restart"]);
  const [message] = await rec.waitForMessages(1, { from: mark });
  assert.equal(text(message.payload), "after the restart");
});

/** How the proxy frames what the broker sends. */
type Framing = "split" | "joined" | "text";

/**
 * A WebSocket server in front of Mosquitto's TCP listener. Client → broker: each frame's
 * bytes are written as they come. Broker → client: "split" sends every byte in its own
 * frame; "joined" gathers what arrives within 30 ms into one frame; "text" answers the
 * first bytes with a text frame.
 */
async function reframingProxy(t: { after(fn: () => unknown): void }, framing: Framing, tls?: { cert: Buffer; key: Buffer }) {
  const requests: { path: string; protocols: string }[] = [];
  const frameSizes: number[] = [];
  const handleProtocols = (protocols: Set<string>) => (protocols.has("mqtt") ? "mqtt" : false);
  const https = tls === undefined ? undefined : createHttpsServer(tls);
  const server = https === undefined
    ? new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols })
    : new WebSocketServer({ server: https, handleProtocols });
  https?.listen(0, "127.0.0.1");
  server.on("connection", (socket, request) => {
    requests.push({ path: request.url ?? "", protocols: String(request.headers["sec-websocket-protocol"]) });
    const tcp = net.connect(broker.port, "127.0.0.1");
    let gathered: Buffer[] = [];
    let textSent = false;
    tcp.on("data", (chunk) => {
      if (framing === "split") for (const byte of chunk) socket.send(Uint8Array.of(byte));
      else if (framing === "text") {
        if (!textSent) socket.send(chunk.toString("latin1"));
        textSent = true;
      } else {
        if (gathered.length === 0) setTimeout(() => {
          const frame = Buffer.concat(gathered);
          frameSizes.push(frame.length);
          socket.send(frame);
          gathered = [];
        }, 30);
        gathered.push(chunk);
      }
    });
    socket.on("message", (data) => tcp.write(data as Buffer));
    socket.on("close", () => tcp.destroy());
    tcp.on("close", () => socket.close());
    tcp.on("error", () => socket.terminate());
  });
  await new Promise<void>((resolve) => (https ?? server).once("listening", () => resolve()));
  t.after(() => new Promise<void>((resolve) => {
    for (const client of server.clients) client.terminate();
    server.close(() => (https === undefined ? resolve() : https.close(() => resolve())));
  }));
  const port = ((https ?? server).address() as AddressInfo).port;
  return { url: `${https === undefined ? "ws" : "wss"}://127.0.0.1:${port}`, requests, frameSizes };
}

test("every byte in its own frame: packets spanning frames arrive whole; path /mqtt and subprotocol mqtt asked for", { skip }, async (t) => {
  const proxy = await reframingProxy(t, "split");
  const topic = uniqueTopic("ws/split");
  const { client, rec } = await openClient(t, proxy.url, { clientId: uniqueId("ws-split") });
  await client.subscribe(topic, { qos: 2 });
  const payload = "x".repeat(300);
  await mosquittoPub(broker, ["-t", topic, "-q", "2", "-m", payload]);
  const [message] = await rec.waitForMessages(1);
  assert.equal(text(message.payload), payload);
  assert.deepEqual(proxy.requests, [{ path: "/mqtt", protocols: "mqtt" }]);
});

test("many packets in one frame are all delivered, in order; the URL's own path is used", { skip }, async (t) => {
  const proxy = await reframingProxy(t, "joined");
  const topic = uniqueTopic("ws/joined");
  const { client, rec } = await openClient(t, `${proxy.url}/custom/path?k=v`, { clientId: uniqueId("ws-joined") });
  await client.subscribe(topic, { qos: 1 });
  const count = 20;
  const publisher = await openClient(t, broker.url, { clientId: uniqueId("ws-joined-pub") });
  await Promise.all(Array.from({ length: count }, (_, i) => publisher.client.publish(topic, `m${i}`, { qos: 1 })));
  const messages = await rec.waitForMessages(count);
  assert.deepEqual(messages.map((m) => text(m.payload)), Array.from({ length: count }, (_, i) => `m${i}`));
  assert.equal(proxy.requests[0].path, "/custom/path?k=v");
  // a PUBLISH of these is under 40 bytes: a frame of 80 or more held two or more
  assert.ok(Math.max(...proxy.frameSizes) >= 80, `frame sizes ${proxy.frameSizes.join(", ")}`);
});

test("wss://: TLS options reach the WebSocket's TLS; the wrong CA is TLS_CERT_INVALID", { skip }, async (t) => {
  const certs = makeCertificates();
  const proxy = await reframingProxy(t, "joined", { cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) });
  const topic = uniqueTopic("ws/tls");
  const { client, rec } = await openClient(t, proxy.url, { clientId: uniqueId("wss"), ca: readFileSync(certs.ca) });
  await client.subscribe(topic, { qos: 1 });
  await client.publish(topic, "over wss", { qos: 1 });
  const [message] = await rec.waitForMessages(1);
  assert.equal(text(message.payload), "over wss");
  const error = await rejection(connect(proxy.url, { clientId: uniqueId("wss-bad"), ca: readFileSync(certs.otherCa), reconnect: false }), "wss with the wrong CA");
  assert.equal(error.code, "TLS_CERT_INVALID", `${error.code}: ${error.message}`);
});

test("a text frame closes the connection (MQTT 3.1.1 §6.0: binary frames only)", { skip }, async (t) => {
  const proxy = await reframingProxy(t, "text");
  const error = await rejection(connect(proxy.url, { clientId: uniqueId("ws-text"), reconnect: false }), "connect through a text frame");
  assert.equal(error.code, "CONNECTION_LOST", `${error.code}: ${error.message}`);
  assert.match(String((error.cause as Error | undefined)?.message), /text frame; MQTT travels in binary frames only/);
});

test("the embedded broker (aedes) serves ws://…/mqtt next to TCP: wasmqtt over ws ↔ wasmqtt over TCP", async (t) => {
  const embedded = await startEmbeddedBroker();
  t.after(() => embedded.close());
  assert.match(embedded.wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
  assert.notEqual(embedded.wsPort, embedded.port);
  const topic = uniqueTopic("ws/aedes");
  const { client: overWs, rec: wsRec } = await openClient(t, embedded.wsUrl, { clientId: uniqueId("aedes-ws") });
  const { client: overTcp, rec: tcpRec } = await openClient(t, embedded.url, { clientId: uniqueId("aedes-tcp") });
  await overWs.subscribe(`${topic}/to-ws`, { qos: 2 });
  await overTcp.subscribe(`${topic}/to-tcp`, { qos: 1 });
  await overTcp.publish(`${topic}/to-ws`, "tcp → ws", { qos: 2 });
  await overWs.publish(`${topic}/to-tcp`, "ws → tcp", { qos: 1 });
  assert.equal(text((await wsRec.waitForMessages(1))[0].payload), "tcp → ws");
  assert.equal(text((await tcpRec.waitForMessages(1))[0].payload), "ws → tcp");
});

test("a WebSocket handshake that never completes ends in CONNECT_TIMEOUT, the half-open socket closed without an unhandled error", async () => {
  const silent = net.createServer(() => {}); // accepts TCP, never answers the HTTP upgrade
  silent.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => silent.once("listening", () => resolve()));
  try {
    const url = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const error = await rejection(connect(url, { clientId: uniqueId("ws-silent"), connectTimeout: 300, reconnect: false }), "connect to a silent server");
    assert.equal(error.code, "CONNECT_TIMEOUT", `${error.code}: ${error.message}`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the aborted handshake reports its error now
  } finally {
    silent.close();
  }
});

test("ws:// to a port nobody listens on is CONNECTION_REFUSED, to a name that does not resolve HOST_NOT_FOUND; an HTTP answer without the upgrade names its status", async (t) => {
  const refused = await rejection(connect("ws://127.0.0.1:1", { reconnect: false }), "ws to port 1");
  assert.equal(refused.code, "CONNECTION_REFUSED", `${refused.code}: ${refused.message}`);
  const unresolved = await rejection(connect("ws://broker.invalid", { reconnect: false }), "ws to .invalid");
  assert.equal(unresolved.code, "HOST_NOT_FOUND", `${unresolved.code}: ${unresolved.message}`);
  const http = createHttpServer((_request, response) => response.writeHead(404).end());
  http.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => http.once("listening", () => resolve()));
  t.after(() => new Promise<void>((resolve) => http.close(() => resolve())));
  const notFound = await rejection(connect(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`, { reconnect: false }), "ws to a plain HTTP server");
  assert.equal(notFound.code, "CONNECTION_REFUSED", `${notFound.code}: ${notFound.message}`);
  assert.match(notFound.message, /404/);
});
