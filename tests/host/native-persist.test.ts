/**
 * `--state FILE` of the native build (boards/native/persist.c, persist-posix.c) against
 * Mosquitto: processes of `wasmqtt-esp32 pub -l` queue 50 QoS 1 and then 50 QoS 2
 * messages while the broker does not answer, each killed with SIGKILL (no clean end); a
 * new process restores the state file and delivers every message, QoS 2 exactly once.
 * A damaged state file is refused with PERSIST_CORRUPT on stderr and the client works;
 * a torn newest slot falls back to the other one; PUBRELs wait for the save after their
 * PUBREC (persistHoldPubrel); `sub --state` subscribes with the request a run without a broker left in the file;
 * the Node CLI resumes a session the native build saved (one file layout for both);
 * `telemetry-esp32 --state` sends the readings it queued offline after a kill.
 *
 * Assumes `npm run build:native` ran (scripts/test.sh runs it after the wasm build).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { freePort } from "../../host/net/ports.ts";
import { trackTempDir } from "../../host/processes.ts";
import { collectMqttJs, openMqttJs, uniqueId, uniqueTopic, until } from "./support/client-helpers.ts";
import { type ProgramRun, startProgram } from "./support/program-runs.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NATIVE = path.join(ROOT, "build", "native");
/** Messages of each QoS the killed processes queued. */
const COUNT = 50;
/** How long one run may take before it is killed and its test fails. */
const RUN_LIMIT_MS = 20_000;
/** boards/nodemcu-v3.json's boardConfigure arguments (boards/native/README.md). */
const NODEMCU_BOARD = "10,1000,3200,0,1,767,352,2,5,1";

let broker: Broker;
/** A TCP port that accepts connections and never answers: a broker that is down behind its address. */
let silent: net.Server;
let silentPort: number;
const held = new Set<net.Socket>();

before(async () => {
  broker = await startMosquitto({ websockets: false });
  silent = net.createServer((socket) => {
    held.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => held.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentPort = (silent.address() as net.AddressInfo).port;
});

after(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  await broker?.stop();
});

function stateFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wasmqtt-native-persist-"));
  trackTempDir(dir);
  return path.join(dir, "state.bin");
}

/** A native run with its stderr gathered as it comes, so a test can wait for a line. */
function run(program: string, args: string[], stdin?: string): ProgramRun & { errors: () => string } {
  const started = startProgram(path.join(NATIVE, program), args, { stdin, limitMs: RUN_LIMIT_MS });
  let errors = "";
  started.child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString("utf8")));
  return { ...started, errors: () => errors };
}

/** Lines `<prefix>-0` … `<prefix>-<count - 1>`, one per line. */
function lines(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}\n`).join("");
}

/** How many times each payload arrived. */
function counts(received: { payload: Buffer }[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const message of received) seen.set(message.payload.toString(), (seen.get(message.payload.toString()) ?? 0) + 1);
  return seen;
}

/**
 * `pub -l` against the silent port: queues the lines of `stdin`, and once it reports
 * stdin ended (after the save of the last line) is killed with SIGKILL. Returns its stderr.
 */
async function queueAndKill(state: string, clientId: string, topic: string, qos: number, stdin: string): Promise<string> {
  const queued = run("wasmqtt-esp32", ["pub", "-h", "127.0.0.1", "-p", String(silentPort), "-i", clientId, "-t", topic, "-l", "-q", String(qos), "--state", state, "-d"], stdin);
  await until(`the QoS ${qos} process to read its lines`, () => /read \d+ lines; stdin ended/.test(queued.errors()), RUN_LIMIT_MS, queued.errors);
  queued.child.kill("SIGKILL");
  const killed = await queued.done;
  assert.equal(killed.code, "SIGKILL", `ended by SIGKILL, not on its own: ${killed.stderr}`);
  return killed.stderr;
}

test(`pub -l --state: killed with ${COUNT} QoS 1 and ${COUNT} QoS 2 messages queued offline, the next process delivers each, QoS 2 exactly once`, async (t) => {
  const state = stateFile();
  const clientId = uniqueId("np");
  const topic = uniqueTopic("native/persist");
  const subscriber = await openMqttJs(t, broker.url, { clientId: uniqueId("np-sub") });
  const received = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 2 });

  const first = await queueAndKill(state, clientId, topic, 1, lines("q1", COUNT));
  assert.match(first, new RegExp(`read ${COUNT} lines; stdin ended`));
  // the second process restores the first one's 50 QoS 1 messages and queues 50 QoS 2 after them
  const second = await queueAndKill(state, clientId, topic, 2, lines("q2", COUNT));
  assert.match(second, /Restored the session from .* \(sequence \d+, outbox [1-9]\d* bytes\)/, "the second process restored the first one's outbox");
  assert.equal(received.length, 0, "nothing reached the broker before the kills");

  // a third process with nothing of its own to send: it restores, connects, delivers the 100 and exits
  const delivering = run("wasmqtt-esp32", ["pub", "-h", "127.0.0.1", "-p", String(broker.port), "-i", clientId, "-t", topic, "-l", "-q", "1", "--state", state, "-d"], "");
  const result = await delivering.done;
  assert.equal(result.code, 0, `the delivering process: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /Warning/, "no warning: the state file was restored");
  // persistHoldPubrel(1): no PUBREL leaves before a save that follows its PUBREC
  const trace = result.stderr.split("\n");
  const pubrels = trace.flatMap((line, at) => (/sending PUBREL \(m(\d+)/.exec(line) ? [{ id: /m(\d+)/.exec(line)![1], at }] : []));
  assert.equal(pubrels.length, COUNT, "one PUBREL per QoS 2 message");
  for (const { id, at } of pubrels) {
    const pubrec = trace.slice(0, at).map((line) => line.includes(`received PUBREC (m${id},`)).lastIndexOf(true);
    assert.ok(pubrec >= 0, `PUBREC m${id} before its PUBREL`);
    assert.ok(trace.slice(pubrec, at).some((line) => line.includes("saved the session")), `a save between PUBREC m${id} and its PUBREL`);
  }

  const expected = [1, 2].flatMap((qos) => Array.from({ length: COUNT }, (_, i) => `q${qos}-${i}`));
  await until(`all ${expected.length} messages at the subscriber`, () => counts(received).size === expected.length, 5000, () => `${received.length} received`);
  const seen = counts(received);
  assert.deepEqual([...seen.keys()].sort(), [...expected].sort(), "every message arrived, and no other");
  assert.deepEqual([...seen].filter(([payload, n]) => payload.startsWith("q2-") && n !== 1), [], "each QoS 2 message arrived exactly once");
  const order = received.map((m) => m.payload.toString());
  for (let i = 1; i < COUNT; i++) assert.ok(order.indexOf(`q1-${i - 1}`) < order.indexOf(`q1-${i}`), `q1-${i - 1} before q1-${i}`);
  assert.ok(order.indexOf(`q1-${COUNT - 1}`) < order.indexOf("q2-0"), "the first process's messages before the second's, as queued");
  const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
  t.diagnostic(`${received.length} messages received, ${duplicates} QoS 1 duplicates, in ${result.elapsedMs} ms`);
});

test("a damaged state file: PERSIST_CORRUPT on stderr, the client starts empty, publishes, and saves a good session again", async (t) => {
  const state = stateFile();
  const clientId = uniqueId("np-bad");
  const topic = uniqueTopic("native/persist/corrupt");
  const pub = (port: number, message: string, extra: string[] = []) =>
    run("wasmqtt-nodemcu", ["pub", "-h", "127.0.0.1", "-p", String(port), "-i", clientId, "-t", topic, "-m", message, "-q", "1", "--state", state, ...extra]).done;
  const refused = await pub(await freePort(), "lost with the damaged file");
  assert.equal(refused.code, 1, `no broker: exit 1 (${refused.stderr})`);
  const damaged = readFileSync(state);
  const length = damaged.length / 2;
  assert.equal(damaged.readUInt32LE(length + 8), length, "two slots of persistLength() bytes, slot B's header holds it");
  for (const at of [100, length + 100]) damaged[at] ^= 0x40; // both slots
  writeFileSync(state, damaged);

  const subscriber = await openMqttJs(t, broker.url, { clientId: uniqueId("np-sub") });
  const received = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 1 });
  const after = await pub(broker.port, "after the damage");
  assert.equal(after.code, 0, after.stderr);
  assert.match(after.stderr, /^Warning: .*state\.bin: the saved session is damaged or not a saved session; the client started empty \(PERSIST_CORRUPT\)\.\n$/);
  await until("the message at the subscriber", () => received.length === 1);
  assert.deepEqual(received.map((m) => m.payload.toString()), ["after the damage"], "only the new message: the damaged session was not applied");

  const again = await pub(broker.port, "again", ["-d"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /^Restored the session from /, "the file holds a good session again");
});

test("a torn newest slot: the other slot, the save before it, is restored", async () => {
  const state = stateFile();
  const clientId = uniqueId("np-torn");
  const topic = uniqueTopic("native/persist/torn");
  const pub = async (message: string) => {
    const refused = await run("wasmqtt-nodemcu", ["pub", "-h", "127.0.0.1", "-p", String(await freePort()), "-i", clientId, "-t", topic, "-m", message, "-q", "1", "--state", state, "-d"]).done;
    assert.equal(refused.code, 1, `no broker: exit 1 (${refused.stderr})`);
    return refused.stderr;
  };
  await pub("first");
  await pub("second");
  const bytes = readFileSync(state);
  const length = bytes.length / 2;
  const sequence = (slot: number) => bytes.readUInt32LE(slot * length + 12);
  const newest = sequence(1) > sequence(0) ? 1 : 0;
  const older = sequence(1 - newest);
  // cut the newest save short, as a power loss during its write would
  bytes.fill(0, newest * length + length / 2, (newest + 1) * length);
  writeFileSync(state, bytes);
  const third = await pub("third");
  assert.match(third, new RegExp(`^Restored the session from .* \\(sequence ${older}, `), `the older slot, sequence ${older} (newest was ${sequence(newest)})`);
});

test("sub --state: the SUBSCRIBE a run could not send is restored by the next run, which subscribes with it", async () => {
  const state = stateFile();
  const clientId = uniqueId("np-sub");
  const sub = (port: number) => run("wasmqtt-nodemcu", ["sub", "-h", "127.0.0.1", "-p", String(port), "-i", clientId, "-t", "native/persist/sub/#", "-q", "1", "-E", "--state", state, "-d"]).done;
  const refused = await sub(await freePort());
  assert.equal(refused.code, 1, `no broker: exit 1 (${refused.stderr})`);
  // the restored table holds the filter's request awaiting its SUBACK: subscribing it again is that request
  const subscribed = await sub(broker.port);
  assert.equal(subscribed.code, 0, subscribed.stderr);
  assert.match(subscribed.stderr, /^Restored the session from /);
  assert.match(subscribed.stderr, /Subscribed: native\/persist\/sub\/# \(granted QoS 1\)/);
});

test("the Node CLI resumes a session the native build saved: one state file layout", async (t) => {
  const state = stateFile();
  const clientId = uniqueId("np-node");
  const topic = uniqueTopic("native/persist/node");
  const kept = await run("wasmqtt-esp32", ["pub", "-h", "127.0.0.1", "-p", String(await freePort()), "-i", clientId, "-t", topic, "-m", "from native", "-q", "2", "--state", state]).done;
  assert.equal(kept.code, 1, `no broker: exit 1 (${kept.stderr})`);

  const subscriber = await openMqttJs(t, broker.url, { clientId: uniqueId("np-sub") });
  const received = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 2 });
  const node = await startProgram(process.execPath, [
    "--import", "tsx", "host/cli.ts", "pub", "--profile", "esp32", "-h", "127.0.0.1", "-p", String(broker.port), "-i", clientId, "-t", topic,
    "-m", "from node", "-q", "2", "--state", state,
  ], { limitMs: RUN_LIMIT_MS, cwd: ROOT }).done;
  assert.equal(node.code, 0, node.stderr);
  await until("both messages at the subscriber", () => received.length >= 2);
  assert.deepEqual(received.map((m) => m.payload.toString()), ["from native", "from node"], "the native build's message first, as queued");
});

test("telemetry --state: the readings queued while the broker did not answer arrive after a kill and a restart", async (t) => {
  const state = stateFile();
  const deviceId = uniqueId("np-dev");
  const subscriber = await openMqttJs(t, broker.url, { clientId: uniqueId("np-sub") });
  const received = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(`devices/${deviceId}/telemetry`, { qos: 1 });
  const device = (port: number) => run("telemetry-esp32", ["-h", "127.0.0.1", "-p", String(port), "--id", deviceId, "--board", NODEMCU_BOARD, "--interval", "1", "--state", state, "-d"]);

  const offline = device(silentPort);
  await until("three readings saved", () => [...offline.errors().matchAll(/^saved sequence \d+, outbox \d+ bytes$/gm)].length >= 3, RUN_LIMIT_MS, offline.errors);
  offline.child.kill("SIGKILL");
  assert.equal((await offline.done).code, "SIGKILL");

  const online = device(broker.port);
  t.after(() => online.child.kill("SIGTERM"));
  // the restored readings go first (seq 1, 2, …), then the new process's own: the firmware's
  // state came back with the session (the block's application area), so seq goes on
  const sequence = () => received.map((m) => (JSON.parse(m.payload.toString()) as { seq: number }).seq);
  const saved = [...offline.errors().matchAll(/^saved sequence \d+, outbox \d+ bytes$/gm)].length;
  await until("the restored readings and new ones", () => sequence().length >= saved + 2, RUN_LIMIT_MS, () => `${sequence().join(",")}\n${online.errors()}`);
  assert.match(online.errors(), /^restored sequence \d+$/m, "the new process restored the saved session");
  const firstSave = /^saved sequence \d+, outbox (\d+) bytes$/m.exec(online.errors());
  assert.ok(Number(firstSave?.[1]) > 0, `the restored outbox held the queued readings: ${firstSave?.[0]}`);
  assert.deepEqual(sequence(), Array.from({ length: sequence().length }, (_, i) => i + 1), "the killed process's readings from its first, then the new ones, none lost or repeated");
  online.child.kill("SIGTERM");
  assert.equal((await online.done).code, 0);
});
