/**
 * CONNECT and CONNACK through the host API: client ids, clean session and sessionPresent,
 * credentials and will in the CONNECT bytes, CONNACK refusals, refused and silent
 * connections, and a clean end.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect } from "../../host/index.ts";
import {
  FAST,
  allByteValues,
  hex,
  openClient,
  rejection,
  sleep,
  uniqueId,
  uniqueTopic,
  within,
  type ClientOptions,
  fakeBroker,
} from "./support/client-helpers.ts";
import {
  PacketType,
  connack,
  parseConnectDetails,
} from "./support/fake-broker.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { freePort } from "../../host/net/ports.ts";

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());


test("a given client id is sent as is and the broker knows the client by it", async (t) => {
  const clientId = uniqueId("connect-id");
  const logged = broker.waitForLog(new RegExp(`New client connected from 127\\.0\\.0\\.1:\\d+ as ${clientId} \\(p2, c1, k2\\)`));
  const { client } = await openClient(t, broker.url, { clientId });
  await logged;
  assert.equal(client.connected, true);
  assert.equal(client.sessionPresent, false);
});

test("a zero-length client id with clean session gets an id assigned by the broker", async (t) => {
  const logged = broker.waitForLog(/New client connected from 127\.0\.0\.1:\d+ as auto-[0-9A-F-]+ \(p2, c1, k2\)/);
  const { client, rec } = await openClient(t, broker.url, { clientId: "", clean: true });
  await logged;
  assert.equal(client.connected, true);
  // the session works: a message to itself comes back
  const topic = uniqueTopic("connect/empty-id");
  await client.subscribe(topic, { qos: 1 });
  await client.publish(topic, "hello", { qos: 1 });
  const [message] = await rec.waitForMessages(1, { topic });
  assert.equal(Buffer.from(message.payload).toString(), "hello");
});

test("a zero-length client id with clean=false is refused: CONNACK_IDENTIFIER_REJECTED", async () => {
  const error = await rejection(connect(broker.url, { ...FAST, clientId: "", clean: false } as ClientOptions), "connect()");
  assert.equal(error.code, "CONNACK_IDENTIFIER_REJECTED", `got ${error.code}: ${error.message}`);
});

test("clean=false: sessionPresent is false the first time and true when the session is resumed", async (t) => {
  const clientId = uniqueId("connect-session");
  const first = await within(5000, "first connect", connect(broker.url, { ...FAST, clientId, clean: false } as ClientOptions));
  assert.equal(first.sessionPresent, false);
  await first.subscribe(uniqueTopic("connect/session"), { qos: 1 });
  await within(3000, "first end()", first.end());
  assert.equal(first.connected, false);

  const { client: second } = await openClient(t, broker.url, { clientId, clean: false });
  assert.equal(second.sessionPresent, true);
  await within(3000, "second end()", second.end());

  // a clean session discards it: present neither now nor on the next clean=false connect
  const { client: third } = await openClient(t, broker.url, { clientId, clean: true });
  assert.equal(third.sessionPresent, false);
  await within(3000, "third end()", third.end());
  const { client: fourth } = await openClient(t, broker.url, { clientId, clean: false });
  assert.equal(fourth.sessionPresent, false);
});

test("username and password are checked by a Mosquitto password file", async (t) => {
  const secured = await startMosquitto({ websockets: false, users: [{ username: "alice", password: "s3cret-ü" }] });
  t.after(() => secured.stop());

  const { client, rec } = await openClient(t, secured.url, { clientId: uniqueId("alice"), username: "alice", password: "s3cret-ü" });
  assert.equal(client.connected, true);
  const topic = uniqueTopic("connect/auth");
  await client.subscribe(topic, { qos: 1 });
  await client.publish(topic, "authorised", { qos: 1 });
  await rec.waitForMessages(1, { topic });

  const wrong = await rejection(
    connect(secured.url, { ...FAST, clientId: uniqueId("mallory"), username: "alice", password: "wrong" } as ClientOptions),
    "connect() with a wrong password",
  );
  // Mosquitto answers a failed login with return code 5 in MQTT 3.1.1
  assert.equal(wrong.code, "CONNACK_NOT_AUTHORIZED", `got ${wrong.code}: ${wrong.message}`);
  const anonymous = await rejection(connect(secured.url, { ...FAST, clientId: uniqueId("anon") } as ClientOptions), "anonymous connect()");
  assert.equal(anonymous.code, "CONNACK_NOT_AUTHORIZED", `got ${anonymous.code}: ${anonymous.message}`);
});

for (const [returnCode, code] of [
  [1, "CONNACK_UNACCEPTABLE_PROTOCOL_VERSION"],
  [2, "CONNACK_IDENTIFIER_REJECTED"],
  [3, "CONNACK_SERVER_UNAVAILABLE"],
  [4, "CONNACK_BAD_USERNAME_OR_PASSWORD"],
  [5, "CONNACK_NOT_AUTHORIZED"],
] as const) {
  test(`CONNACK return code ${returnCode} rejects connect() with ${code} and leaves nothing reconnecting`, async (t) => {
    const fake = await fakeBroker(t, async (conn) => {
      await conn.next(PacketType.CONNECT);
      conn.send(connack(false, returnCode));
    });
    const error = await rejection(
      connect(fake.url, { ...FAST, clientId: "refused", username: "u", password: "p" } as ClientOptions),
      "connect()",
    );
    assert.equal(error.code, code, `got ${error.code}: ${error.message}`);
    await sleep(400); // several reconnect delays of FAST
    assert.equal(fake.connectionCount, 1, "a rejected connect() must not keep reconnecting");
  });
}

test("the CONNECT bytes carry client id, clean flag, keepalive, will, username and password", async (t) => {
  const fake = await fakeBroker(t);
  const willPayload = allByteValues();
  const password = Uint8Array.from([0, 0xff, 0x80, 0x7f, 1]);
  const { client } = await openClient(t, fake.url, {
    clientId: "wasmqtt-connect-bytes",
    clean: false,
    keepalive: 7,
    username: "üser",
    password,
    will: { topic: "status/wasmqtt", payload: willPayload, qos: 2, retain: true },
  } as ClientOptions);
  assert.equal(client.connected, true);
  const conn = await fake.waitForConnection(1);
  const details = parseConnectDetails(conn.packets[0]);
  assert.equal(conn.packets[0].type, PacketType.CONNECT);
  assert.equal(conn.packets[0].flags, 0, "CONNECT fixed header flags are reserved (0)");
  assert.equal(details.protocolName, "MQTT");
  assert.equal(details.protocolLevel, 4);
  assert.equal(details.flags, 0x80 | 0x40 | 0x20 | 0x10 | 0x04 | 0x00, `flags 0x${details.flags.toString(16)}`);
  assert.equal(details.cleanSession, false);
  assert.equal(details.keepalive, 7);
  assert.equal(details.clientId, "wasmqtt-connect-bytes");
  assert.equal(details.username, "üser");
  assert.equal(hex(details.password!), hex(password));
  assert.equal(details.will?.topic, "status/wasmqtt");
  assert.equal(hex(details.will!.payload), hex(willPayload));
  assert.equal(details.will?.qos, 2);
  assert.equal(details.will?.retain, true);
});

test("without will or credentials the CONNECT has none of their flags and clean session set", async (t) => {
  const fake = await fakeBroker(t);
  await openClient(t, fake.url, { clientId: "plain", keepalive: 1 });
  const conn = await fake.waitForConnection(1);
  const details = parseConnectDetails(conn.packets[0]);
  assert.equal(details.flags, 0x02);
  assert.equal(details.keepalive, 1);
  assert.equal(details.will, undefined);
  assert.equal(details.username, undefined);
  assert.equal(details.password, undefined);
});

test("connecting to a closed port rejects with CONNECTION_REFUSED", async () => {
  const port = await freePort();
  const started = Date.now();
  const error = await rejection(connect(`mqtt://127.0.0.1:${port}`, { ...FAST, clientId: "nobody-home" } as ClientOptions), "connect()");
  assert.equal(error.code, "CONNECTION_REFUSED", `got ${error.code}: ${error.message}`);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

test("a broker that never sends CONNACK makes connect() reject with CONNECT_TIMEOUT after connectTimeout", async (t) => {
  const fake = await fakeBroker(t, async (conn) => {
    await conn.next(PacketType.CONNECT); // and never answer
  });
  const started = Date.now();
  const error = await rejection(
    connect(fake.url, { ...FAST, clientId: "silent", connectTimeout: 500 } as ClientOptions),
    "connect()",
  );
  const took = Date.now() - started;
  assert.equal(error.code, "CONNECT_TIMEOUT", `got ${error.code}: ${error.message}`);
  assert.ok(took >= 450 && took < 2000, `rejected after ${took} ms`);
  await fake.connections[0].closed; // the client closed the connection it gave up on
});

test("end() sends DISCONNECT, closes the socket, emits close and leaves the client disconnected", async (t) => {
  const fake = await fakeBroker(t);
  const { client, rec } = await openClient(t, fake.url, { clientId: "ender" });
  const conn = await fake.waitForConnection(1);
  await within(3000, "end()", client.end());
  await within(2000, "socket close", conn.closed);
  assert.equal(conn.packets.at(-1)?.type, PacketType.DISCONNECT);
  assert.equal(conn.packets.at(-1)?.bytes.length, 2);
  assert.equal(client.connected, false);
  await rec.waitFor("close");
  await sleep(300);
  assert.equal(fake.connectionCount, 1, "no reconnect after end()");
  assert.equal(rec.all("reconnect").length, 0);
});
