/**
 * Tests of the test-support code in tests/host/support/ against real peers:
 * Mosquitto with its command line clients, and MQTT.js.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once, type EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { mosquittoSupportsWebsockets, startMosquitto } from "../../host/mosquitto.ts";
import { startFaultProxy } from "../../host/net/fault-proxy.ts";
import {
  PacketSplitter,
  PacketType,
  connack,
  decodeRemainingLength,
  defaultScript,
  encodeRemainingLength,
  packet,
  packetIdOf,
  parseConnect,
  pingresp,
  publish,
  scriptWith,
  startFakeBroker,
  suback,
  parseSubscribe,
  type ConnectFields,
} from "./support/fake-broker.ts";
import { within } from "./support/client-helpers.ts";
import { mosquittoPub, mosquittoSub, mosquittoSubStart } from "./support/mosquitto-clients.ts";

/** Connects MQTT.js and closes it when the test ends. */
function connectClient(t: { after(fn: () => unknown): void }, url: string, options: IClientOptions): MqttClient {
  const client = mqtt.connect(url, { reconnectPeriod: 0, ...options });
  client.on("error", () => {}); // failures show up as missing events in the assertions
  t.after(() => client.endAsync(true));
  return client;
}

/** Resolves with the arguments of the next `event` from `client`; rejects on "error" or after `timeoutMs`. */
function nextEvent(client: MqttClient, event: string, timeoutMs = 3000): Promise<unknown[]> {
  return within(timeoutMs, `"${event}" event`, once(client as unknown as EventEmitter, event));
}

/** Resolves with the next message on `topic`; rejects after `timeoutMs`. */
function nextMessage(client: MqttClient, topic: string, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${topic} within ${timeoutMs} ms`)), timeoutMs);
    client.on("message", function onMessage(received, payload) {
      if (received !== topic) return;
      clearTimeout(timer);
      client.off("message", onMessage);
      resolve(payload);
    });
  });
}

test("mosquitto_pub -f delivers a binary payload byte-exact to mosquitto_sub", async (t) => {
  const broker = await startMosquitto();
  t.after(() => broker.stop());
  const payload = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);
  const file = path.join(broker.dir, "payload.bin");
  writeFileSync(file, payload);

  const sub = mosquittoSubStart(broker, ["-t", "harness/binary", "-N"], { count: 1, timeoutMs: 4000 });
  await sub.ready;
  await mosquittoPub(broker, ["-t", "harness/binary", "-f", file]);
  const result = await sub.done;

  assert.equal(result.timedOut, false);
  assert.deepEqual(result.stdout, payload);
  assert.match(broker.logs(), /mosquitto version 2\.\d+\.\d+ running/);
});

test("mosquittoSub gets a retained message, and reports a -W timeout with the lines it got", async (t) => {
  const broker = await startMosquitto({ websockets: false });
  t.after(() => broker.stop());
  await mosquittoPub(broker, ["-t", "harness/retained", "-r", "-m", "kept for later"]);
  const retained = await mosquittoSub(broker, ["-t", "harness/retained", "-v"], { count: 1, timeoutMs: 3000 });
  assert.deepEqual(retained, {
    lines: ["harness/retained kept for later"],
    stdout: Buffer.from("harness/retained kept for later\n"),
    timedOut: false,
  });

  const sub = mosquittoSubStart(broker, ["-t", "harness/lines", "-v"], { count: 3, timeoutMs: 1000 });
  await sub.ready;
  await mosquittoPub(broker, ["-t", "harness/lines", "-m", "only one"]);
  const result = await sub.done;
  assert.equal(result.timedOut, true);
  assert.deepEqual(result.lines, ["harness/lines only one"]);
});

test("a password file refuses anonymous and wrong logins and admits a listed user", async (t) => {
  const broker = await startMosquitto({ websockets: false, users: [{ username: "alice", password: "s3cret" }] });
  t.after(() => broker.stop());
  await assert.rejects(mosquittoPub(broker, ["-t", "x", "-m", "1"]), /not authori[sz]ed/);
  await assert.rejects(mosquittoPub(broker, ["-u", "alice", "-P", "wrong", "-t", "x", "-m", "1"]), /not authori[sz]ed/);
  await mosquittoPub(broker, ["-u", "alice", "-P", "s3cret", "-t", "x", "-m", "1"]);
});

test("the WebSocket listener carries MQTT.js", { skip: !mosquittoSupportsWebsockets() && "no WebSocket support" }, async (t) => {
  const broker = await startMosquitto({ websockets: true });
  t.after(() => broker.stop());
  assert.ok(broker.wsUrl);
  const client = connectClient(t, broker.wsUrl, {});
  await nextEvent(client, "connect");
  await client.subscribeAsync("harness/ws", { qos: 1 });
  const received = nextMessage(client, "harness/ws");
  await mosquittoPub(broker, ["-t", "harness/ws", "-m", "over websockets"]);
  assert.equal((await received).toString(), "over websockets");
});

test("fault proxy: QoS 1 passes, a blackhole is caught by keepalive, lifting it lets the client back", async (t) => {
  const broker = await startMosquitto({ websockets: false });
  t.after(() => broker.stop());
  const proxy = await startFaultProxy(broker.port);
  t.after(() => proxy.close());
  const client = connectClient(t, proxy.url, { keepalive: 1, reconnectPeriod: 200, connectTimeout: 1000 });
  await nextEvent(client, "connect");

  await client.subscribeAsync("harness/proxy", { qos: 1 });
  const received = nextMessage(client, "harness/proxy");
  await client.publishAsync("harness/proxy", "through", { qos: 1 });
  assert.equal((await received).toString(), "through");
  const before = proxy.stats;
  assert.equal(before.connections, 1);
  assert.ok(before.bytesToTarget > 0 && before.bytesToClient > 0);

  proxy.blackhole(true);
  const started = Date.now();
  await nextEvent(client, "offline", 4000);
  assert.ok(Date.now() - started >= 900, "detected before a keepalive interval had passed");
  assert.ok(proxy.stats.bytesDiscarded > 0, "the PINGREQ should have been discarded");
  assert.equal(proxy.stats.bytesToClient, before.bytesToClient, "nothing may reach the client while blackholed");

  proxy.blackhole(false);
  await nextEvent(client, "connect", 4000);
  const again = nextMessage(client, "harness/proxy");
  await client.publishAsync("harness/proxy", "again", { qos: 1 });
  assert.equal((await again).toString(), "again");
});

test("fault proxy: delay adds latency each way, dropAll closes, refuse turns connections away", async (t) => {
  const broker = await startMosquitto({ websockets: false });
  t.after(() => broker.stop());
  const proxy = await startFaultProxy(broker.port);
  t.after(() => proxy.close());
  const client = connectClient(t, proxy.url, { reconnectPeriod: 100 });
  await nextEvent(client, "connect");

  proxy.delay(250);
  let started = Date.now();
  await client.publishAsync("harness/delay", "slow", { qos: 1 });
  assert.ok(Date.now() - started >= 480, `PUBLISH + PUBACK took only ${Date.now() - started} ms`);
  proxy.delay(0);
  started = Date.now();
  await client.publishAsync("harness/delay", "fast", { qos: 1 });
  assert.ok(Date.now() - started < 200, `PUBLISH + PUBACK took ${Date.now() - started} ms without delay`);

  proxy.refuse(true);
  const closed = nextEvent(client, "close", 1000);
  proxy.dropAll();
  await within(1000, "close after dropAll", closed);
  await sleep(500);
  assert.ok(proxy.stats.refused >= 2, `only ${proxy.stats.refused} reconnects were refused`);
  assert.equal(client.connected, false);
  assert.equal(proxy.stats.connections, 1);

  proxy.refuse(false);
  await nextEvent(client, "connect", 2000);
  assert.equal(proxy.stats.connections, 2);
});

test("restart() with persistence keeps a clean:false subscriber's offline QoS 1 message, not QoS 0", async (t) => {
  const broker = await startMosquitto({ websockets: false, persistence: true });
  t.after(() => broker.stop());
  const options: IClientOptions = { clientId: "harness-persistent", clean: false };
  const first = mqtt.connect(broker.url, { ...options, reconnectPeriod: 0 });
  await nextEvent(first, "connect");
  await first.subscribeAsync("harness/persist", { qos: 1 });
  await first.endAsync();

  await mosquittoPub(broker, ["-t", "harness/persist", "-q", "1", "-m", "kept"]);
  await mosquittoPub(broker, ["-t", "harness/persist", "-q", "0", "-m", "qos0"]);
  await broker.restart();
  assert.match(broker.logs(), /Saving in-memory database/);

  const payloads: string[] = [];
  const second = connectClient(t, broker.url, options);
  second.on("message", (_topic, payload) => payloads.push(payload.toString()));
  const [connackPacket] = (await nextEvent(second, "connect")) as [{ sessionPresent: boolean }];
  assert.equal(connackPacket.sessionPresent, true);
  await within(3000, "queued message", (async () => {
    while (payloads.length === 0) await sleep(20);
  })());
  await sleep(200); // room for a wrongly queued QoS 0 message to arrive
  assert.deepEqual(payloads, ["kept"]);
});

test("kill() loses the session that restart() would have saved", async (t) => {
  const broker = await startMosquitto({ websockets: false, persistence: true });
  t.after(() => broker.stop());
  const options: IClientOptions = { clientId: "harness-killed", clean: false, reconnectPeriod: 0 };
  const first = mqtt.connect(broker.url, options);
  await nextEvent(first, "connect");
  await first.subscribeAsync("harness/killed", { qos: 1 });
  await first.endAsync();
  await mosquittoPub(broker, ["-t", "harness/killed", "-q", "1", "-m", "lost"]);

  await broker.kill();
  await broker.restart();
  const second = connectClient(t, broker.url, options);
  const [connackPacket] = (await nextEvent(second, "connect")) as [{ sessionPresent: boolean }];
  assert.equal(connackPacket.sessionPresent, false);
});

test("pause() leaves connects unanswered until resume()", async (t) => {
  const broker = await startMosquitto({ websockets: false });
  t.after(() => broker.stop());
  broker.pause();
  const client = connectClient(t, broker.url, { connectTimeout: 500 });
  let connected = false;
  client.on("connect", () => (connected = true));
  const [error] = (await nextEvent(client, "error", 2000)) as [Error];
  assert.match(error.message, /connack timeout/);
  assert.equal(connected, false);

  broker.resume();
  const again = connectClient(t, broker.url, { connectTimeout: 2000 });
  await nextEvent(again, "connect", 2000);
});

test("fake broker: the script sees MQTT.js's CONNECT and its PUBLISH reaches MQTT.js", async (t) => {
  const connects: ConnectFields[] = [];
  const payload = Uint8Array.from([0, 1, 2, 0xfe, 0xff]);
  const broker = await startFakeBroker(async (conn) => {
    connects.push(parseConnect(await conn.next(PacketType.CONNECT)));
    conn.send(connack(false, 0));
    conn.send(publish({ topic: "fake/down", payload, qos: 1, packetId: 7 }));
    await defaultScript(conn);
  });
  t.after(() => broker.close());
  const client = connectClient(t, broker.url, { clientId: "harness-fake", keepalive: 30 });
  const received = nextMessage(client, "fake/down");
  await nextEvent(client, "connect");

  assert.deepEqual(Buffer.from(await received), Buffer.from(payload));
  const conn = await broker.waitForConnection(1);
  assert.equal(packetIdOf(await conn.waitForPacket(PacketType.PUBACK)), 7);
  assert.deepEqual(connects, [
    { protocolName: "MQTT", protocolLevel: 4, cleanSession: true, keepalive: 30, clientId: "harness-fake", username: undefined },
  ]);
  const granted = await client.subscribeAsync("fake/up", { qos: 1 });
  assert.equal(granted[0].qos, 1);
  assert.equal(broker.connectionCount, 1);
  assert.equal(conn.scriptError, undefined);
});

test("fake broker: scriptWith overrides one step and keeps the defaults", async (t) => {
  const broker = await startFakeBroker(
    scriptWith({
      [PacketType.SUBSCRIBE]: (p, conn) => conn.send(suback(parseSubscribe(p).packetId, [0x80])),
    }),
  );
  t.after(() => broker.close());
  const client = connectClient(t, broker.url, {});
  await nextEvent(client, "connect");
  await assert.rejects(client.subscribeAsync("fake/refused", { qos: 1 }), /Subscribe error/);
  await client.publishAsync("fake/acked", "x", { qos: 1 }); // PUBACK still from the defaults
  const conn = await broker.waitForConnection(1);
  assert.deepEqual(
    conn.packets.map((p) => p.type),
    [PacketType.CONNECT, PacketType.SUBSCRIBE, PacketType.PUBLISH],
  );
});

test("PacketSplitter rebuilds packets fed one byte at a time", () => {
  const packets = [
    pingresp(),
    publish({ topic: "a/b", payload: randomBytes(200), qos: 1, packetId: 1 }), // 2-byte length
    publish({ topic: "big", payload: randomBytes(20_000) }), // 3-byte length
    connack(true, 0),
    packet(PacketType.PINGREQ << 4),
  ];
  const stream = Buffer.concat(packets);
  const splitter = new PacketSplitter();
  const out: Uint8Array[] = [];
  const completedAt: number[] = [];
  for (let i = 0; i < stream.length; i++) {
    for (const p of splitter.push(stream.subarray(i, i + 1))) {
      out.push(p.bytes);
      completedAt.push(i);
    }
  }
  assert.deepEqual(out.map((b) => Buffer.from(b)), packets.map((b) => Buffer.from(b)));
  let end = -1;
  assert.deepEqual(completedAt, packets.map((p) => (end += p.length)));
  assert.equal(splitter.bufferedBytes, 0);
});

test("Remaining Length round-trips at every size boundary and rejects a fifth byte", () => {
  const cases: [number, number[]][] = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16_383, [0xff, 0x7f]],
    [16_384, [0x80, 0x80, 0x01]],
    [2_097_151, [0xff, 0xff, 0x7f]],
    [2_097_152, [0x80, 0x80, 0x80, 0x01]],
    [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
  ];
  for (const [value, bytes] of cases) {
    assert.deepEqual(encodeRemainingLength(value), bytes);
    assert.deepEqual(decodeRemainingLength(Uint8Array.from([0x30, ...bytes]), 1), { value, size: bytes.length });
    assert.equal(decodeRemainingLength(Uint8Array.from([0x30, ...bytes.slice(0, -1)]), 1), undefined);
  }
  assert.throws(() => encodeRemainingLength(268_435_456), RangeError);
  assert.throws(() => decodeRemainingLength(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 1), /more than 4 bytes/);
});
