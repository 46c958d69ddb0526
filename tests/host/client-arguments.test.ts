/**
 * The argument checks of the host API, with no broker (or a fake one in process):
 * unknown options named with the closest known one, MQTT.js's option names, contradictory
 * options, wrong types, lone surrogates in MQTT strings, a URL that is not one, a client
 * used after end(), an unknown host, and an UNSUBSCRIBE of a filter the full
 * subscription table does not hold.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Status, WasmqttClient, connect, createClient } from "../../host/index.ts";
import { FAST, Recorder, endQuietly, fakeBroker, rejection, within, type After, type ClientOptions, type CodedError } from "./support/client-helpers.ts";
import { PacketType, connack } from "./support/fake-broker.ts";

/** A URL nothing listens on; these tests never connect to it. */
const NOWHERE = "mqtt://127.0.0.1:1";

/** Creates a client that is not connected and is ended when the test ends. */
async function offlineClient(t: After, options: ClientOptions = {}): Promise<WasmqttClient> {
  const client = await createClient(NOWHERE, options);
  t.after(() => endQuietly(client));
  return client;
}

/** Resolves with the error a call throws or rejects with (sync throws included). */
async function refusal(call: () => unknown, what: string): Promise<CodedError> {
  return rejection((async () => call())(), what);
}

/** Asserts `error` is an INVALID_ARGUMENT whose message matches `message`. */
function assertInvalid(error: CodedError, message: RegExp): void {
  assert.equal(error.code, "INVALID_ARGUMENT", `${error.code}: ${error.message}`);
  assert.match(error.message, message);
}

test("an unknown option is refused, naming it and the closest known option", async () => {
  for (const [options, message] of [
    [{ clientID: "a" }, /unknown option `clientID`; did you mean `clientId`\?/],
    [{ keepAlive: 30 }, /unknown option `keepAlive`; did you mean `keepalive`\?/],
    [{ connectTimeoutMs: 500 }, /unknown option `connectTimeoutMs`; did you mean `connectTimeout`\?/],
    [{ reconectPeriod: 500 }, /unknown option `reconectPeriod`; did you mean `reconnectPeriod`\?/],
    [{ reconnect: { minDelay: 5 } }, /unknown option `reconnect.minDelay`; did you mean `reconnect.minDelayMs`\?/],
    [{ will: { topic: "w", payload: "x", retian: true } }, /unknown option `will.retian`; did you mean `will.retain`\?/],
    [{ resubscribe: false }, /unknown option `resubscribe`; known options: `clientId`, `clean`, .*`clock`/],
  ] as [Record<string, unknown>, RegExp][]) {
    assertInvalid(await rejection(connect(NOWHERE, options as ClientOptions), `connect(${JSON.stringify(options)})`), message);
    assertInvalid(await rejection(createClient(NOWHERE, options as ClientOptions), `createClient(${JSON.stringify(options)})`), message);
  }
});

test("an unknown option of publish or subscribe is refused too, not silently ignored", async (t) => {
  const client = await offlineClient(t);
  assertInvalid(await refusal(() => client.publish("a/b", "x", { QoS: 1 } as never), "publish QoS"), /unknown option `QoS`; did you mean `qos`\?/);
  assertInvalid(await refusal(() => client.publish("a/b", "x", { dup: true } as never), "publish dup"), /unknown option `dup`; known options: `qos`, `retain`/);
  assertInvalid(await refusal(() => client.subscribe("a/b", { Qos: 1 } as never), "subscribe Qos"), /unknown option `Qos`; did you mean `qos`\?/);
  assertInvalid(await refusal(() => client.subscribe([{ topic: "a/b", qoss: 1 } as never]), "subscription qoss"), /unknown option `qoss`; did you mean `qos`\?/);
});

test("reconnect and reconnectPeriod together are refused, naming both", async () => {
  const error = await rejection(connect(NOWHERE, { reconnect: false, reconnectPeriod: 1000 }), "connect()");
  assertInvalid(error, /reconnect and reconnectPeriod are both given/);
});

test("retryFirstConnect with reconnecting turned off is refused, naming both options", async () => {
  assertInvalid(await rejection(connect(NOWHERE, { retryFirstConnect: true, reconnect: false }), "connect()"), /retryFirstConnect.*reconnect: false/);
  assertInvalid(await rejection(connect(NOWHERE, { retryFirstConnect: true, reconnectPeriod: 0 }), "connect()"), /retryFirstConnect.*reconnectPeriod: 0/);
});

test("options of the wrong type are INVALID_ARGUMENT naming the option", async (t) => {
  for (const [options, message] of [
    [{ reconnect: null }, /^reconnect must be true, false or \{ minDelayMs\?, maxDelayMs\? \} \(got null\)/],
    [{ reconnect: 5 }, /^reconnect must be/],
    [{ reconnectPeriod: -1 }, /^reconnectPeriod -1 must be a whole number of milliseconds/],
    [{ reconnectPeriod: "1000" }, /^reconnectPeriod "1000" must be/],
    [{ clean: "yes" }, /^clean must be true or false \(got "yes"\)/],
    [{ retryFirstConnect: 1 }, /^retryFirstConnect must be true or false \(got 1\)/],
    [{ keepalive: "60" }, /^keepalive "60" must be a whole number/],
    [{ connectTimeout: 0 }, /^connectTimeout 0 must be a whole number of milliseconds from 1/],
    [{ will: { topic: "w", payload: "x", retain: "yes" } }, /^will retain must be true or false \(got "yes"\)/],
    [{ username: 7 }, /^username must be a string \(got 7\)/],
  ] as [Record<string, unknown>, RegExp][]) {
    assertInvalid(await rejection(connect(NOWHERE, options as ClientOptions), `connect(${JSON.stringify(options)})`), message);
  }
  const client = await offlineClient(t, { reconnect: true, retryFirstConnect: false, clean: true }); // the right types pass
  assertInvalid(await refusal(() => client.publish("a/b", "x", { retain: "yes" as unknown as boolean }), "publish retain"), /^retain must be true or false \(got "yes"\)/);
  const qos = await refusal(() => client.publish("a/b", "x", { qos: "1" as unknown as 1 }), "publish qos");
  assert.equal(qos.code, "INVALID_QOS", `${qos.code}: ${qos.message}`);
});

test("null options of publish and subscribe are INVALID_ARGUMENT, not a TypeError", async (t) => {
  const client = await offlineClient(t);
  assertInvalid(await refusal(() => client.publish("a/b", "x", null as never), "publish(…, null)"), /^publish options must be an object \(got null\)/);
  assertInvalid(await refusal(() => client.subscribe("a/b", null as never), "subscribe(…, null)"), /^subscribe options must be an object \(got null\)/);
  assertInvalid(await rejection(connect(NOWHERE, null as never), "connect(url, null)"), /^options must be an object \(got null\)/);
});

test("a lone surrogate in an MQTT string is INVALID_ARGUMENT naming the field and the index", async (t) => {
  const lone = "ab\uD800c";
  const why = (field: string) => new RegExp(`^${field} contains a lone surrogate at index 2; MQTT strings are UTF-8 \\(MQTT 3\\.1\\.1 §1\\.5\\.3\\)$`);
  assertInvalid(await rejection(connect(NOWHERE, { clientId: lone }), "clientId"), why("clientId"));
  assertInvalid(await rejection(connect(NOWHERE, { username: lone }), "username"), why("username"));
  assertInvalid(await rejection(connect(NOWHERE, { username: "u", password: lone }), "password"), why("password"));
  assertInvalid(await rejection(connect(NOWHERE, { will: { topic: lone, payload: "x" } }), "will topic"), why("will topic"));
  // a trailing low surrogate alone is lone too
  assertInvalid(await rejection(connect(NOWHERE, { clientId: "ab\uDC00" }), "clientId"), why("clientId"));
  const client = await offlineClient(t, { clientId: "pair-\u{1F600}" }); // a whole pair is fine
  assertInvalid(await refusal(() => client.publish(lone, "x"), "publish topic"), why("topic"));
  assertInvalid(await refusal(() => client.subscribe(lone), "subscribe filter"), why("topic filter"));
  assertInvalid(await refusal(() => client.subscribe([{ topic: lone, qos: 1 }]), "subscribe entry"), why("topic filter"));
  assertInvalid(await refusal(() => client.unsubscribe(["ok", lone]), "unsubscribe filter"), why("topic filter"));
});

test("a url that is neither a string nor a URL is named as such", async () => {
  assertInvalid(await rejection(connect(12345 as never), "connect(12345)"), /^url must be a string or URL \(got 12345\)$/);
  assertInvalid(await rejection(createClient(undefined as never), "createClient(undefined)"), /^url must be a string or URL \(got undefined\)$/);
});

test("connect() after end() rejects with CLIENT_STOPPED, also when an earlier connect() had resolved", async (t) => {
  const fake = await fakeBroker(t);
  const client = await createClient(fake.url, FAST);
  assert.equal(await within(4000, "connect()", client.connect()), client);
  await within(3000, "end()", client.end());
  const again = await rejection(client.connect(), "connect() after end()");
  assert.equal(again.code, "CLIENT_STOPPED", `${again.code}: ${again.message}`);

  const ended = await createClient(fake.url, FAST);
  await ended.end();
  const never = await rejection(ended.connect(), "connect() of a client ended before connecting");
  assert.equal(never.code, "CLIENT_STOPPED", `${never.code}: ${never.message}`);
  assert.equal(fake.connectionCount, 1, "the ended clients opened no connection");
});

test("a host name that does not resolve is HOST_NOT_FOUND naming the host (RFC 6761 .invalid)", async () => {
  const error = await rejection(connect("mqtt://no-such-broker.invalid:1883", FAST), "connect() to an unknown host", 8000);
  assert.equal(error.code, "HOST_NOT_FOUND", `${error.code}: ${error.message}`);
  assert.match(error.message, /host name "no-such-broker\.invalid" does not resolve \((ENOTFOUND|EAI_AGAIN)\)/);
  assert.equal((error as { status?: number }).status, Status.CONNECTION_REFUSED);
});

test("unsubscribing a filter the full table does not hold resolves, offline and connected", async (t) => {
  // offline: every slot holds a SUBSCRIBE waiting for the connection
  const offline = await offlineClient(t, { profile: "nodemcu" });
  const capacity = offline.stats().subscriptions.capacity;
  for (let i = 0; i < capacity; i++) offline.subscribe(`full/${i}`).catch(() => {}); // CLIENT_STOPPED at the end
  assert.equal(offline.stats().subscriptions.used, capacity);
  await within(1000, "offline unsubscribe of an unknown filter", offline.unsubscribe("never/subscribed"));
  const full = await refusal(() => offline.subscribe("one/more"), "subscribe beyond the table");
  assert.equal(full.code, "SUBSCRIPTIONS_FULL", "subscribing still needs a slot");

  // connected: the unknown filter sends nothing; a known one in the same call still goes out
  const fake = await fakeBroker(t);
  const client = await createClient(fake.url, { ...FAST, profile: "nodemcu" });
  t.after(() => endQuietly(client));
  const rec = new Recorder(client);
  await within(4000, "connect()", client.connect());
  for (let i = 0; i < capacity; i++) await within(2000, `subscribe ${i}`, client.subscribe(`full/${i}`));
  let from = rec.mark();
  await within(2000, "unsubscribe of an unknown filter", client.unsubscribe("never/subscribed"));
  assert.equal(rec.packets(from).length, 0, `no packet is due:\n${rec.summary(from)}`);
  from = rec.mark();
  await within(2000, "unsubscribe of a known and an unknown filter", client.unsubscribe(["never/subscribed", "full/0"]));
  const sent = rec.packets(from).filter((p) => p.direction === "out" && p.type === "UNSUBSCRIBE");
  assert.equal(sent.length, 1, rec.summary(from));
  assert.equal(sent[0].remainingLength, 2 + 2 + "full/0".length, "only the known filter is in the UNSUBSCRIBE");
  assert.equal(client.stats().subscriptions.used, capacity - 1);
});

test("reconnectPeriod is MQTT.js's fixed delay; reconnectPeriod: 0 means no reconnect", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT);
    conn.send(connack(false, 0));
    conn.destroy(); // every connection is lost at once
  });
  const fixed = await createClient(fake.url, { keepalive: 2, reconnectPeriod: 120 });
  t.after(() => endQuietly(fixed));
  const rec = new Recorder(fixed);
  await within(4000, "connect()", fixed.connect());
  await rec.until("three backoff events", () => rec.all("backoff").length >= 3);
  assert.deepEqual(rec.all("backoff").slice(0, 3).map((e) => e.args[0]), [120, 120, 120]);
  await fixed.end();

  const before = fake.connectionCount;
  const once = await createClient(fake.url, { keepalive: 2, reconnectPeriod: 0 });
  t.after(() => endQuietly(once));
  const onceRec = new Recorder(once);
  await within(4000, "connect()", once.connect());
  await onceRec.waitFor("close");
  assert.equal(onceRec.all("backoff").length, 0, onceRec.summary());
  assert.equal(fake.connectionCount, before + 1, "no reconnect attempt");
});
