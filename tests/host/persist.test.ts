/**
 * The `persist` option against a real Mosquitto (README.md, "Power loss and deep sleep"):
 * a process with messages queued while the broker was unreachable is killed (SIGKILL,
 * no clean end) and a new process delivers every one of them from the state file, QoS 2
 * exactly once; a damaged state file is refused with PERSIST_CORRUPT and the client
 * starts empty and works; a torn newest slot falls back to the other one; `wasmqtt pub
 * --state` keeps a message the broker could not take for the next run.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient } from "../../host/index.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { freePort } from "../../host/net/ports.ts";
import { trackTempDir } from "../../host/processes.ts";
import { FAST, collectMqttJs, endQuietly, openMqttJs, uniqueId, uniqueTopic, until, within, type ClientOptions } from "./support/client-helpers.ts";
import { startProgram } from "./support/program-runs.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHILD = path.join(ROOT, "tests/host/support/persist-child.ts");
/** Messages of each QoS the killed process queued. */
const COUNT = 50;

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());

/** A state file path in a fresh temporary directory. */
function stateFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wasmqtt-persist-"));
  trackTempDir(dir);
  return path.join(dir, "state.bin");
}

/** The slot length of a state file (two slots back to back), checked against slot B's header. */
function slotLength(bytes: Buffer): number {
  const length = bytes.length / 2;
  assert.equal(bytes.readUInt32LE(length + 8), length, "slot B's header holds the slot length");
  return length;
}

/** Runs the child process of support/persist-child.ts. */
function child(args: string[], limitMs: number) {
  return startProgram(process.execPath, ["--import", "tsx", CHILD, ...args], { limitMs, cwd: ROOT });
}

/**
 * A subscriber at QoS 2 on a fresh topic, then a child that queues COUNT QoS 1 and COUNT
 * QoS 2 messages for a port nothing listens on (saved at each publish) and is killed with
 * SIGKILL once it has. Returns the state file, the client id, what the subscriber
 * receives from then on, and how the killed child ended.
 */
async function queuedThenKilled(t: { after(fn: () => unknown): void }, name: string) {
  const state = stateFile();
  const clientId = uniqueId(name);
  const topic = uniqueTopic(`persist/${name}`);
  const subscriber = await openMqttJs(t, broker.url, { clientId: uniqueId("persist-sub") });
  const received = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 2 });
  const unreachable = `mqtt://127.0.0.1:${await freePort()}`;
  const queued = child(["queue", unreachable, state, clientId, topic, String(COUNT)], 20_000);
  await until("the first process queued its messages", () => queued.output().includes("queued"), 15_000, () => queued.output());
  queued.child.kill("SIGKILL");
  return { state, clientId, received, killed: await queued.done };
}

/** Waits until the subscriber has every queued message, then checks none is missing or foreign and each QoS 2 one came once. */
async function assertEveryMessageOnce(received: { payload: Buffer }[]): Promise<void> {
  const expected = [1, 2].flatMap((qos) => Array.from({ length: COUNT }, (_, i) => `q${qos}-${i}`));
  await until(`all ${expected.length} messages at the subscriber`, () => new Set(received.map((m) => m.payload.toString())).size === expected.length, 5000, () => `${received.length} received`);
  const counts = new Map<string, number>();
  for (const m of received) counts.set(m.payload.toString(), (counts.get(m.payload.toString()) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), [...expected].sort(), "every message arrived, and no other");
  assert.deepEqual([...counts].filter(([payload, n]) => payload.startsWith("q2-") && n !== 1), [], "each QoS 2 message arrived exactly once");
}

test(`a process killed with ${COUNT} QoS 1 and ${COUNT} QoS 2 messages queued offline: the next one delivers each, QoS 2 exactly once`, async (t) => {
  const { state, clientId, received, killed } = await queuedThenKilled(t, "persist-killed");
  assert.equal(killed.code, "SIGKILL", `the first process ended by SIGKILL, not cleanly: ${killed.stderr}`);
  assert.equal(received.length, 0, "nothing reached the broker before the kill");

  const delivering = child(["deliver", broker.url, state, clientId], 20_000);
  const result = await delivering.done;
  assert.equal(result.code, 0, `the second process: ${result.stderr}`);
  const [restoredLine] = result.stdout.toString().split("\n");
  assert.match(restoredLine, /^restored OK [1-9]\d*$/, "it restored a non-empty outbox");
  assert.match(result.stdout.toString(), /delivered\n$/);

  await assertEveryMessageOnce(received);
  for (let i = 1; i < COUNT; i++) {
    const order = received.map((m) => m.payload.toString());
    assert.ok(order.indexOf(`q1-${i - 1}`) < order.indexOf(`q1-${i}`), `q1-${i - 1} before q1-${i}`);
  }
});

test("killed again while delivering, saves batched every 200 ms: a third process ends the flows, QoS 2 still exactly once", async (t) => {
  const { state, clientId, received } = await queuedThenKilled(t, "persist-again");

  // the PUBRELs wait for each batched save (persistHoldPubrel): a kill between a PUBREL
  // and its save cannot make the PUBLISH go again after the broker released it
  const interrupted = child(["deliver", broker.url, state, clientId, "200"], 20_000);
  await until("some messages delivered by the second process", () => received.length >= 10, 15_000, () => `${received.length} received`);
  interrupted.child.kill("SIGKILL");
  assert.equal((await interrupted.done).code, "SIGKILL", "killed before it delivered everything");
  const before = received.length;
  assert.ok(before < 2 * COUNT, `${before} of ${2 * COUNT} arrived before the kill`);

  const finishing = child(["deliver", broker.url, state, clientId], 20_000);
  const result = await finishing.done;
  assert.equal(result.code, 0, `the third process: ${result.stderr}`);
  await assertEveryMessageOnce(received);
});

test("a damaged state file: PERSIST_CORRUPT, the client starts empty, works, and saves a good session again", async (t) => {
  const state = stateFile();
  const clientId = uniqueId("persist-corrupt");
  const topic = uniqueTopic("persist/corrupt");
  const offline = await createClient(`mqtt://127.0.0.1:${await freePort()}`, { ...FAST, clientId, persist: state } as ClientOptions);
  void offline.publish(topic, "lost with the damaged file", { qos: 1 }).catch(() => {});
  await offline.end();
  const damaged = readFileSync(state);
  const length = slotLength(damaged);
  for (const at of [100, length + 100]) damaged[at] ^= 0x40; // both slots
  writeFileSync(state, damaged);

  const subscriber = await openMqttJs(t, broker.url, { clientId: uniqueId("persist-sub") });
  const received = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 1 });
  const client = await createClient(broker.url, { ...FAST, clientId, persist: state } as ClientOptions);
  t.after(() => endQuietly(client));
  assert.equal(client.restoreStatus, "PERSIST_CORRUPT");
  assert.equal(client.stats().outbox.used, 0, "it started empty");
  await within(5000, "connect", client.connect());
  await within(5000, "a QoS 1 publish", client.publish(topic, "after the damage", { qos: 1 }));
  await until("the message at the subscriber", () => received.length === 1);
  assert.deepEqual(received.map((m) => m.payload.toString()), ["after the damage"], "only the new message: the damaged session was not applied");
  await client.end();

  const again = await createClient(broker.url, { ...FAST, clientId, persist: state } as ClientOptions);
  t.after(() => endQuietly(again));
  assert.equal(again.restoreStatus, "OK", "the file holds a good session again");
});

test("a torn newest slot: the other slot, the save before, is restored", async () => {
  const state = stateFile();
  const clientId = uniqueId("persist-torn");
  const topic = uniqueTopic("persist/torn");
  const offline = await createClient(`mqtt://127.0.0.1:${await freePort()}`, { ...FAST, clientId, persist: state } as ClientOptions);
  void offline.publish(topic, "first", { qos: 1 }).catch(() => {});
  const oneQueued = offline.stats().outbox.used;
  void offline.publish(topic, "second", { qos: 1 }).catch(() => {});
  assert.ok(offline.stats().outbox.used > oneQueued);
  await offline.end();
  // the last save is the one after "second": cut it short, as a power loss during the write would
  const bytes = readFileSync(state);
  const length = slotLength(bytes);
  const sequence = (slot: number) => bytes.readUInt32LE(slot * length + 12);
  const newest = sequence(1) > sequence(0) ? 1 : 0;
  bytes.fill(0, newest * length + length / 2, (newest + 1) * length);
  writeFileSync(state, bytes);

  const restored = await createClient(`mqtt://127.0.0.1:${await freePort()}`, { ...FAST, clientId, persist: state } as ClientOptions);
  assert.equal(restored.restoreStatus, "OK");
  assert.equal(restored.stats().outbox.used, oneQueued, "the save with only the first message");
  await restored.end();
});

test("without a state file yet, restoreStatus is undefined and the first save creates it", async () => {
  const state = stateFile();
  const client = await createClient(`mqtt://127.0.0.1:${await freePort()}`, { ...FAST, clientId: uniqueId("persist-new"), persist: state } as ClientOptions);
  assert.equal(client.restoreStatus, undefined);
  assert.equal(existsSync(state), false, "nothing saved before the session changed");
  void client.publish("persist/new", "x", { qos: 1 }).catch(() => {});
  assert.equal(existsSync(state), true, "saved at the publish");
  await client.end();
  const again = await createClient(`mqtt://127.0.0.1:${await freePort()}`, { ...FAST, clientId: uniqueId("persist-new"), persist: state } as ClientOptions);
  assert.equal(again.restoreStatus, "OK");
  assert.ok(again.stats().outbox.used > 0, "the queued message came back");
  await again.end();
});

test("wasmqtt pub --state: a message the broker could not take goes with the next run", async (t) => {
  const state = stateFile();
  const topic = uniqueTopic("persist/cli");
  const subscriber = await openMqttJs(t, broker.url, { clientId: uniqueId("persist-sub") });
  const received = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 1 });
  const cli = (port: number, message: string) =>
    startProgram(process.execPath, ["--import", "tsx", "host/cli.ts", "pub", "-h", "127.0.0.1", "-p", String(port), "-i", "persist-cli", "-t", topic, "-m", message, "-q", "1", "--state", state], { limitMs: 20_000, cwd: ROOT }).done;
  const refused = await cli(await freePort(), "kept");
  assert.equal(refused.code, 1, `no broker: exit 1 (${refused.stderr})`);
  const sent = await cli(broker.port, "new");
  assert.equal(sent.code, 0, sent.stderr);
  await until("both messages at the subscriber", () => received.length >= 2, 5000, () => `${received.length} received`);
  assert.deepEqual(received.map((m) => m.payload.toString()), ["kept", "new"], "the kept one first, as queued");
});

test("wasmqtt sub --state: a SUBSCRIBE the killed run left awaiting its SUBACK is joined by the next run, which gets its message", async (t) => {
  const state = stateFile();
  const clientId = uniqueId("persist-sub-cli");
  const topic = uniqueTopic("persist/sub-cli");
  const sub = (port: number, limitMs: number) =>
    startProgram(process.execPath, ["--import", "tsx", "host/cli.ts", "sub", "-h", "127.0.0.1", "-p", String(port), "-i", clientId, "-t", topic, "-q", "1", "-C", "1", "--state", state], { limitMs, cwd: ROOT });
  // nothing listens on this port: the SUBSCRIBE waits in the table, saved when it was recorded
  const offline = sub(await freePort(), 20_000);
  await until("the SUBSCRIBE saved", () => existsSync(state) && readFileSync(state).includes(topic), 10_000);
  offline.child.kill("SIGKILL");
  assert.equal((await offline.done).code, "SIGKILL", "killed, never connected");

  const online = sub(broker.port, 20_000);
  await until("the broker sent the SUBACK", () => broker.logs().includes(`Sending SUBACK to ${clientId}`), 10_000, () => online.output());
  const publisher = await openMqttJs(t, broker.url, { clientId: uniqueId("persist-pub") });
  await publisher.publishAsync(topic, "after the SUBACK", { qos: 1 });
  const result = await online.done;
  assert.equal(result.code, 0, `exit 0 after one message (${result.stderr})`);
  assert.equal(result.stdout.toString(), "after the SUBACK\n");
});

test("bad persist options are refused, naming the value", async () => {
  const url = `mqtt://127.0.0.1:${await freePort()}`;
  const refused = async (options: Record<string, unknown>) => {
    try {
      await createClient(url, options as ClientOptions);
    } catch (error) {
      return error as { code?: string; message: string };
    }
    assert.fail(`accepted ${JSON.stringify(options)}`);
  };
  const store = { load: () => undefined, save: () => {} };
  for (const [options, text] of [
    [{ persist: "" }, 'persist must be a file path or { load(), save(image, slot) } (got "")'],
    [{ persist: { load: () => undefined } }, "persist must be a file path or { load(), save(image, slot) }"],
    [{ persistEvery: 100 }, "persistEvery needs persist"],
    [{ persist: store, persistEvery: 0 }, 'persistEvery must be "change" or a whole number of milliseconds from 1 to 4294967295 (got 0)'],
    [{ persist: store, persistEvery: "often" }, 'persistEvery must be "change" or a whole number'],
  ] as const) {
    const error = await refused(options);
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.ok(error.message.includes(text), error.message);
  }
});

test("a store of the caller's: load() sees nothing first, save() gets whole images in alternating slots", async () => {
  const saved: { slot: string; image: Uint8Array }[] = [];
  const store = { load: () => undefined, save: (image: Uint8Array, slot: "a" | "b") => void saved.push({ slot, image }) };
  const client = await createClient(`mqtt://127.0.0.1:${await freePort()}`, { ...FAST, persist: store } as ClientOptions);
  void client.publish("persist/store", "one", { qos: 1 }).catch(() => {});
  void client.publish("persist/store", "two", { qos: 1 }).catch(() => {});
  await client.end();
  assert.deepEqual(saved.map((s) => s.slot), ["b", "a"], "sequence 1 in B, 2 in A");
  assert.equal(saved[0].image.length, saved[1].image.length);
  const again = await createClient(`mqtt://127.0.0.1:${await freePort()}`, { ...FAST, persist: { load: () => ({ a: saved[1].image, b: saved[0].image }), save: () => {} } } as ClientOptions);
  assert.equal(again.restoreStatus, "OK");
  assert.equal(again.stats().messagesPublished, 2, "the newer image, with both messages");
  await again.end();
});

test("a session saved under MQTT 5 and restored with protocolVersion 4 connects with a 3.1.1 CONNECT", async (t) => {
  const state = stateFile();
  const clientId = uniqueId("persist-v5");
  const saved = await createClient(`mqtt://127.0.0.1:${await freePort()}`, { ...FAST, clientId, protocolVersion: 5, persist: state } as ClientOptions);
  await saved.end();
  const client = await createClient(broker.url, { ...FAST, clientId, persist: state } as ClientOptions);
  t.after(() => endQuietly(client));
  assert.equal(client.restoreStatus, "OK");
  await within(5000, "connect", client.connect());
  await until("the broker logged the connection", () => broker.logs().includes(`as ${clientId} (`));
  assert.match(broker.logs(), new RegExp(`as ${clientId} \\(p2,`), "protocol level 4 (mosquitto's p2), not 5");
});
