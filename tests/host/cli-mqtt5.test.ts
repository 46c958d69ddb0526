/**
 * The CLI's MQTT 5 flags, as mosquitto_pub / mosquitto_sub take them: `-V mqttv5` and
 * `-D command property value`, run from source against Mosquitto and checked with
 * mosquitto_sub -V mqttv5 -F, or in the packets a scripted broker receives (-D will,
 * -D subscribe, -D disconnect).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { exited, spawnTracked } from "../../host/processes.ts";
import { decodeProperties } from "../../host/properties.ts";
import { type Packet, PacketType, startFakeBroker } from "./support/fake-broker.ts";
import { mosquittoPub, mosquittoSubStart } from "./support/mosquitto-clients.ts";
import { connack5, parseConnect5, propertiesAt, suback5 } from "./support/mqtt5-packets.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "host", "cli.ts");

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());

/** Runs `node --import tsx host/cli.ts <args>` to the end, killed after 15 s. */
async function runCli(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawnTracked(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const code = await exited(child);
  await closed;
  clearTimeout(timer);
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

const at = (): string[] => ["-h", "127.0.0.1", "-p", String(broker.port)];
const unique = (name: string): string => `${name}-${randomBytes(3).toString("hex")}`;

test("pub -V mqttv5 -D publish user-property (a name twice) and content-type reach mosquitto_sub -V mqttv5", async () => {
  const topic = unique("cli5/props");
  const sub = mosquittoSubStart(broker, ["-V", "mqttv5", "-t", topic, "-q", "1", "-F", "%C|%P|%p"], { count: 1, timeoutMs: 10_000 });
  await sub.ready;
  const run = await runCli([
    "pub", ...at(), "-V", "mqttv5", "-t", topic, "-m", "hi", "-q", "1",
    "-D", "publish", "user-property", "k", "1", "-D", "publish", "user-property", "k", "2", "-D", "PUBLISH", "content-type", "text/plain",
  ]);
  assert.equal(run.code, 0, run.stderr);
  const result = await sub.done;
  assert.deepEqual(result.lines, ["text/plain|k:1 k:2|hi"]);
});

test("sub -V 5 -c -D connect session-expiry-interval: the session outlives the connection and its queued message arrives", async () => {
  const topic = unique("cli5/expiry");
  const id = unique("cli5-exp");
  const session = ["-V", "5", "-c", "-i", id, "-D", "connect", "session-expiry-interval", "60", "-t", topic, "-q", "1"];
  const first = await runCli(["sub", ...at(), ...session, "-E"]);
  assert.equal(first.code, 0, first.stderr);
  await mosquittoPub(broker, ["-V", "mqttv5", "-t", topic, "-q", "1", "-m", "queued"]);
  const second = await runCli(["sub", ...at(), ...session, "-C", "1", "-W", "5"]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, "queued\n");
});

test("usage errors name the value: -D without -V mqttv5, an unknown -V, an unknown property, a -D with its value missing", async () => {
  for (const [args, message] of [
    [["-D", "publish", "content-type", "x"], /-D properties need MQTT 5 \(-V mqttv5\)/],
    [["-V", "mqttv31"], /Invalid protocol version 'mqttv31'/],
    [["-V", "5", "-D", "publish", "topic-alias", "1"], /-D publish topic-alias: not a property wasmqtt sends in PUBLISH/],
    [["-V", "5", "-D", "publish", "user-property", "k"], /-D needs a command, a property and a name and a value/],
    [["-V", "5", "-D", "connect", "session-expiry-interval", "soon"], /session-expiry-interval 'soon': it must be a whole number/],
  ] as [string[], RegExp][]) {
    const run = await runCli(["pub", ...at(), "-t", "t", "-m", "x", ...args]);
    assert.equal(run.code, 1, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
});

test("a CONNACK refusal under -V mqttv5 exits with its Reason Code (0x87: 135), as 3.1.1 exits with the return code", async () => {
  const fake = await startFakeBroker(async (conn) => {
    await conn.next(PacketType.CONNECT);
    conn.send(connack5({ reasonCode: 0x87 }));
  });
  try {
    const run = await runCli(["pub", "-h", "127.0.0.1", "-p", String(fake.port), "-V", "mqttv5", "-t", "t", "-m", "x"]);
    assert.equal(run.code, 0x87, run.stderr);
    assert.match(run.stderr, /not authorized \(CONNACK Reason Code 0x87\)/);
  } finally {
    await fake.close();
  }
});

test("-D will, -D subscribe and -D disconnect: the Will Properties in the CONNECT, User Properties in the SUBSCRIBE and the DISCONNECT", async () => {
  const seen: { connect?: Packet; subscribe?: Packet; disconnect?: Packet }[] = [];
  const fake = await startFakeBroker(async (conn) => {
    const record: (typeof seen)[number] = {};
    seen.push(record);
    record.connect = await conn.next(PacketType.CONNECT);
    conn.send(connack5());
    const next = await conn.next();
    if (next.type === PacketType.SUBSCRIBE) {
      record.subscribe = next;
      conn.send(suback5((next.body[0] << 8) | next.body[1], [0]));
    }
    record.disconnect = await conn.next(PacketType.DISCONNECT);
  });
  try {
    const common = ["-h", "127.0.0.1", "-p", String(fake.port), "-V", "mqttv5", "-D", "connect", "session-expiry-interval", "30", "-D", "disconnect", "session-expiry-interval", "0", "-D", "disconnect", "user-property", "bye", "now"];
    const pub = await runCli(["pub", ...common, "-i", "w5", "-t", "t", "-m", "x", "--will-topic", "gone", "--will-payload", "x", "-D", "will", "will-delay-interval", "7", "-D", "will", "user-property", "k", "v"]);
    assert.equal(pub.code, 0, pub.stderr);
    const sub = await runCli(["sub", ...common, "-t", "t", "-E", "-D", "subscribe", "user-property", "app", "cli"]);
    assert.equal(sub.code, 0, sub.stderr);
    const [published, subscribed] = seen;
    const connect = published.connect!;
    const fields = parseConnect5(connect);
    const willAt = 10 + 1 + fields.properties.length + 2 + 2; // after the CONNECT properties and the client id "w5"
    assert.deepEqual(decodeProperties(propertiesAt(connect, willAt)), { willDelayInterval: 7, userProperties: { k: "v" } });
    assert.deepEqual(decodeProperties(propertiesAt(subscribed.subscribe!, 2)), { userProperties: { app: "cli" } });
    for (const { disconnect } of seen) assert.deepEqual(decodeProperties(propertiesAt(disconnect!, 1)), { sessionExpiryInterval: 0, userProperties: { bye: "now" } });
    const refused = await runCli(["pub", ...common, "-t", "t", "-m", "x", "-D", "will", "content-type", "a"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /-D will … needs a will: give --will-topic/);
  } finally {
    await fake.close();
  }
});
