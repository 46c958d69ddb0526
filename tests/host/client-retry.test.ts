/**
 * `retryFirstConnect`: a first connect() to a broker that is not up yet keeps retrying
 * (the module's backoff, "reconnect" and "error" events) and resolves at the first
 * accepted CONNACK; end() rejects it with CLIENT_STOPPED. Without it, the first failure
 * rejects at once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient } from "../../host/index.ts";
import { startMosquitto } from "../../host/mosquitto.ts";
import { freePort } from "../../host/net/ports.ts";
import { FAST, Recorder, endQuietly, rejection, uniqueId, uniqueTopic, within } from "./support/client-helpers.ts";

test("retryFirstConnect: connect() waits through refused attempts and resolves once Mosquitto is up on the port", async (t) => {
  const broker = await startMosquitto({ websockets: false });
  t.after(() => broker.stop());
  await broker.terminate(); // the port is closed now; restart() opens the same one again

  const client = await createClient(broker.url, { ...FAST, clientId: uniqueId("retry-first"), retryFirstConnect: true });
  t.after(() => endQuietly(client));
  const rec = new Recorder(client);
  let settled = false;
  const connecting = client.connect().finally(() => (settled = true));
  await rec.waitForError("CONNECTION_REFUSED");
  await rec.until("two reconnect attempts", () => rec.all("reconnect").length >= 2);
  assert.equal(settled, false, "connect() is still pending while the broker is down");

  await broker.restart();
  assert.equal(await within(5000, "connect() after the broker came up", connecting), client);
  assert.equal(client.connected, true);
  const topic = uniqueTopic("retry/first");
  await client.subscribe(topic, { qos: 1 });
  await client.publish(topic, "up", { qos: 1 });
  await rec.waitForMessages(1, { topic });
});

test("retryFirstConnect: end() while retrying rejects connect() with CLIENT_STOPPED", async (t) => {
  const url = `mqtt://127.0.0.1:${await freePort()}`;
  const client = await createClient(url, { ...FAST, retryFirstConnect: true });
  t.after(() => endQuietly(client));
  const rec = new Recorder(client);
  const connecting = client.connect();
  await rec.until("a reconnect attempt", () => rec.all("reconnect").length >= 1);
  void client.end();
  const error = await rejection(connecting, "connect() ended while retrying");
  assert.equal(error.code, "CLIENT_STOPPED", `${error.code}: ${error.message}`);
});

test("without retryFirstConnect the first refused attempt rejects and nothing retries", async (t) => {
  const url = `mqtt://127.0.0.1:${await freePort()}`;
  const client = await createClient(url, FAST);
  t.after(() => endQuietly(client));
  const rec = new Recorder(client);
  const error = await rejection(client.connect(), "connect() to a closed port");
  assert.equal(error.code, "CONNECTION_REFUSED", `${error.code}: ${error.message}`);
  await rec.until("the client closes", () => rec.all("close").length === 1);
  assert.equal(rec.all("reconnect").length, 0, rec.summary());
});
