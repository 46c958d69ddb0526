/**
 * The `wasmqtt` command line (host/cli.ts, host/cli/*.ts) run as a child process from
 * source (`node --import tsx host/cli.ts …`), against Mosquitto with mosquitto_pub and
 * mosquitto_sub as peers: usage errors and exit statuses, payload sources, QoS, retain,
 * `sub` output and timeouts, the `-d` trace, refused connections, the will, `demo`,
 * `sim`, `--help` and `--version`.
 *
 * Every CLI run costs about a second of tsx start-up, so the cases run a few at a time.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { freePort } from "../../host/net/ports.ts";
import { exited, findExecutable, spawnTracked } from "../../host/processes.ts";
import { PacketType, parsePublish, puback, scriptWith, startFakeBroker } from "./support/fake-broker.ts";
import { mosquittoPub, mosquittoSub, mosquittoSubStart } from "./support/mosquitto-clients.ts";
import { type ProgramResult, type ProgramRun, startProgram } from "./support/program-runs.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "host", "cli.ts");
const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const BOARDS = readdirSync(path.join(ROOT, "boards"))
  .filter((name) => name.endsWith(".json"))
  .map((name) => name.slice(0, -".json".length))
  .sort();

/** How long one CLI run may take before it is killed and its test fails. */
const CLI_LIMIT_MS = 15_000;
/**
 * How long a mosquitto_sub waiting for a message, or a wait for a broker log line caused
 * by a CLI run, may take: longer than a CLI run may, so a slow machine fails on the run's
 * own limit (with its output) rather than on the watcher's. Only a failing case waits it out.
 */
const WATCH_MS = 20_000;
/** Suites at a time, and cases at a time within a suite (each CLI run is mostly tsx start-up, CPU bound). */
const SUITE_CONCURRENCY = 2;
const CONCURRENCY = 3;

/** Starts `node --import tsx host/cli.ts <args>`; `stdin` is written and closed (default: no stdin). */
function startCli(args: string[], options: { stdin?: string | Buffer; limitMs?: number } = {}): ProgramRun {
  return startProgram(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdin: options.stdin,
    limitMs: options.limitMs ?? CLI_LIMIT_MS,
  });
}

/** Runs the CLI to the end. */
function runCli(args: string[], options: { stdin?: string | Buffer; limitMs?: number } = {}): Promise<ProgramResult> {
  return startCli(args, options).done;
}

/** Asserts the exit status, showing the run's output when it differs. */
function assertExit(result: ProgramResult, code: number | string): void {
  assert.equal(result.code, code, `exit status ${result.code}, expected ${code}\nstdout: ${result.stdout.toString()}\nstderr: ${result.stderr}`);
}

/** `-h 127.0.0.1 -p <port>` for the shared broker. */
function at(broker: Broker): string[] {
  return ["-h", "127.0.0.1", "-p", String(broker.port)];
}

/** A topic root no other case uses. */
function uniqueRoot(name: string): string {
  return `cli-${name}-${randomBytes(3).toString("hex")}`;
}

/** A client id no other case uses (within 23 characters). */
function uniqueClientId(name: string): string {
  return `cli-${name.slice(0, 10)}-${randomBytes(3).toString("hex")}`;
}

/** Resolves once the broker logged the SUBACK for `clientId`; bounded. */
function subscribedLog(broker: Broker, clientId: string): Promise<string> {
  return broker.waitForLog(new RegExp(`Sending SUBACK to ${clientId}$`), WATCH_MS);
}

/** A TCP server that counts the connections made to it and sends nothing. */
async function countingServer(t: { after(fn: () => unknown): void }): Promise<{ port: number; connections(): number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

/** Runs mosquitto_pub with `args` and resolves with its exit status and stderr. */
async function mosquittoPubStatus(args: string[]): Promise<{ code: number | string; stderr: string }> {
  const child = spawnTracked(findExecutable("mosquitto_pub", ["/usr/bin"]), args, { stdio: ["ignore", "ignore", "pipe"] });
  const stderr: Buffer[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const code = await exited(child);
  clearTimeout(timer);
  return { code, stderr: Buffer.concat(stderr).toString("utf8") };
}

let broker: Broker;
before(async () => {
  broker = await startMosquitto({ websockets: false });
});
after(() => broker?.stop());

describe("wasmqtt CLI", { concurrency: SUITE_CONCURRENCY }, () => {
  describe("usage errors: exit 1 before any connection", { concurrency: CONCURRENCY }, () => {
    for (const [wildcard, topic] of [["+", "a/+"], ["#", "a/#"]]) {
      test(`pub -t '${topic}' names the wildcard and never connects`, async (t) => {
        const server = await countingServer(t);
        const result = await runCli(["pub", "-h", "127.0.0.1", "-p", String(server.port), "-t", topic, "-m", "x"]);
        assertExit(result, 1);
        assert.ok(result.stderr.includes(`topic "${topic}" contains a wildcard ("${wildcard}")`), result.stderr);
        assert.match(result.stderr, /INVALID_TOPIC/);
        assert.equal(result.stdout.length, 0);
        assert.equal(server.connections(), 0, "the topic must be refused before connecting");
      });
    }

    test("sub -t 'a/#/b' is refused with INVALID_FILTER and never connects", async (t) => {
      const server = await countingServer(t);
      const result = await runCli(["sub", "-h", "127.0.0.1", "-p", String(server.port), "-t", "a/#/b"]);
      assertExit(result, 1);
      assert.ok(result.stderr.includes(`topic filter "a/#/b" uses "#" other than as the whole last level`), result.stderr);
      assert.match(result.stderr, /INVALID_FILTER/);
      assert.equal(server.connections(), 0, "the filter must be refused before connecting");
    });

    test("an unknown flag names the flag and points to --help", async () => {
      const [pub, sub] = await Promise.all([runCli(["pub", "--bogus", "-t", "a", "-m", "x"]), runCli(["sub", "-Z", "-t", "a"])]);
      assertExit(pub, 1);
      assert.match(pub.stderr, /Unknown option '--bogus'/);
      assert.match(pub.stderr, /Use 'wasmqtt pub --help' to see usage\./);
      assertExit(sub, 1);
      assert.match(sub.stderr, /Unknown option '-Z'/);
      assert.match(sub.stderr, /Use 'wasmqtt sub --help' to see usage\./);
    });

    test("pub without a message source, or with two, is refused", async () => {
      const [none, two] = await Promise.all([
        runCli(["pub", "-h", "127.0.0.1", "-p", "1", "-t", "a/b"]),
        runCli(["pub", "-h", "127.0.0.1", "-p", "1", "-t", "a/b", "-m", "x", "-n"]),
      ]);
      assertExit(none, 1);
      assert.match(none.stderr, /Both topic and message must be supplied\./);
      assert.match(none.stderr, /wasmqtt pub --help/);
      assert.doesNotMatch(none.stderr, /CONNECTION_REFUSED/, "a usage error must come before connecting");
      assertExit(two, 1);
      assert.match(two.stderr, /Only one type of message can be sent at once/);
    });

    test("bad flag values are refused with a message naming them", async () => {
      const [qos, clean, devices] = await Promise.all([
        runCli(["pub", "-h", "127.0.0.1", "-p", "1", "-t", "a/b", "-m", "x", "-q", "3"]),
        runCli(["sub", "-h", "127.0.0.1", "-p", "1", "-t", "a/b", "-c"]),
        runCli(["sim", "--devices", "0"]),
      ]);
      for (const result of [qos, clean, devices]) assertExit(result, 1);
      assert.match(qos.stderr, /Invalid --qos '3': it must be a whole number from 0 to 2\./);
      assert.match(clean.stderr, /You must provide a client id \(-i or -I\) if you are using the -c option\./);
      assert.match(devices.stderr, /--devices must be a whole number from 1 to 1000 \(got '0'\)/);
    });

    test("an unknown command is refused; no command prints the usage and exits 1", async () => {
      const [unknown, empty] = await Promise.all([runCli(["publish"]), runCli([])]);
      assertExit(unknown, 1);
      assert.match(unknown.stderr, /Unknown command 'publish'/);
      assertExit(empty, 1);
      assert.match(empty.stdout.toString(), /Usage: wasmqtt pub/);
    });
  });

  describe("pub to mosquitto_sub", { concurrency: CONCURRENCY }, () => {
    for (const qos of [0, 1, 2] as const) {
      test(`-q ${qos}: mosquitto_sub gets the exact payload at QoS ${qos}`, async () => {
        const topic = `${uniqueRoot("qos")}/t`;
        const payload = `hello at QoS ${qos} ✓ with spaces`;
        const sub = mosquittoSubStart(broker, ["-t", topic, "-q", "2", "-F", "%q|%r|%t|%p"], { count: 1, timeoutMs: WATCH_MS });
        await sub.ready;
        const result = await runCli(["pub", ...at(broker), "-t", topic, "-m", payload, "-q", String(qos)]);
        assertExit(result, 0);
        assert.equal(result.stdout.length, 0);
        assert.equal(result.stderr, "");
        const received = await sub.done;
        assert.equal(received.timedOut, false);
        assert.deepEqual(received.lines, [`${qos}|0|${topic}|${payload}`]);
      });
    }

    test("-q 2 against a broker that answers QoS 2 with PUBACK (a downgrade to QoS 1) exits 0", async (t) => {
      const fake = await startFakeBroker(scriptWith({
        [PacketType.PUBLISH]: (p, conn) => {
          const { packetId } = parsePublish(p);
          if (packetId !== undefined) conn.send(puback(packetId));
        },
      }));
      t.after(() => fake.close());
      const result = await runCli(["pub", "-h", "127.0.0.1", "-p", String(fake.port), "-t", "down/cli", "-m", "x", "-q", "2"]);
      assertExit(result, 0);
      assert.equal(result.stderr, "");
      const sent = fake.connections[0].packets;
      assert.deepEqual(sent.filter((p) => p.type === PacketType.PUBLISH).map((p) => parsePublish(p).qos), [2]);
      assert.ok(sent.some((p) => p.type === PacketType.DISCONNECT), "no DISCONNECT: the CLI did not end cleanly");
    });

    test("-f sends a file of all 256 byte values (and more) byte-exact", async () => {
      const topic = `${uniqueRoot("file")}/blob`;
      const payload = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(3000)]);
      const file = path.join(broker.dir, `${topic.replace("/", "-")}.bin`);
      writeFileSync(file, payload);
      const sub = mosquittoSubStart(broker, ["-t", topic, "-q", "1", "-N"], { count: 1, timeoutMs: WATCH_MS });
      await sub.ready;
      const result = await runCli(["pub", ...at(broker), "-t", topic, "-f", file, "-q", "1"]);
      assertExit(result, 0);
      const received = await sub.done;
      assert.equal(received.timedOut, false);
      assert.deepEqual(received.stdout, payload);
    });

    test("-f with a missing file is a usage error", async () => {
      const result = await runCli(["pub", "-h", "127.0.0.1", "-p", "1", "-t", "a/b", "-f", path.join(broker.dir, "no-such-file")]);
      assertExit(result, 1);
      assert.match(result.stderr, /Unable to read file '.*no-such-file'/);
    });

    test("-n sends a zero-length message", async () => {
      const topic = `${uniqueRoot("null")}/t`;
      const sub = mosquittoSubStart(broker, ["-t", topic, "-F", "%t|%l|%p"], { count: 1, timeoutMs: WATCH_MS });
      await sub.ready;
      const result = await runCli(["pub", ...at(broker), "-t", topic, "-n"]);
      assertExit(result, 0);
      const received = await sub.done;
      assert.equal(received.timedOut, false, "the empty message never arrived");
      assert.deepEqual(received.lines, [`${topic}|0|`]);
    });

    test("-s sends all of stdin as one message, newlines and binary bytes included", async () => {
      const topic = `${uniqueRoot("stdin")}/t`;
      const payload = Buffer.concat([Buffer.from("line one\nline two\r\n\n"), Buffer.from([0, 0xff, 0x80, 0x0a]), randomBytes(1000)]);
      const sub = mosquittoSubStart(broker, ["-t", topic, "-q", "2", "-N"], { count: 1, timeoutMs: WATCH_MS });
      await sub.ready;
      const result = await runCli(["pub", ...at(broker), "-t", topic, "-s", "-q", "2"], { stdin: payload });
      assertExit(result, 0);
      const received = await sub.done;
      assert.equal(received.timedOut, false);
      assert.deepEqual(received.stdout, payload);
    });

    test("-l sends each line of stdin as its own message, in order", async () => {
      const topic = `${uniqueRoot("lines")}/log`;
      const sub = mosquittoSubStart(broker, ["-t", topic, "-q", "1", "-F", "%q|%p"], { count: 3, timeoutMs: WATCH_MS });
      await sub.ready;
      const result = await runCli(["pub", ...at(broker), "-t", topic, "-l", "-q", "1"], { stdin: "first\nsecond line\r\nthird ✓\n" });
      assertExit(result, 0);
      const received = await sub.done;
      assert.equal(received.timedOut, false, `only got: ${received.lines.join(" / ")}`);
      assert.deepEqual(received.lines, ["1|first", "1|second line", "1|third ✓"]);
    });

    test("-L takes host, port and topic from an mqtt:// URL", async () => {
      const topic = `${uniqueRoot("url")}/from/url`;
      const sub = mosquittoSubStart(broker, ["-t", topic, "-v"], { count: 1, timeoutMs: WATCH_MS });
      await sub.ready;
      const result = await runCli(["pub", "-L", `${broker.url}/${topic}`, "-m", "via -L"]);
      assertExit(result, 0);
      const received = await sub.done;
      assert.deepEqual(received.lines, [`${topic} via -L`]);
    });

    test("-r is retained for a later subscriber; -n -r clears it", async () => {
      const topic = `${uniqueRoot("retain")}/state`;
      const set = await runCli(["pub", ...at(broker), "-t", topic, "-m", "kept for later", "-r", "-q", "1"]);
      assertExit(set, 0);
      const retained = await mosquittoSub(broker, ["-t", topic, "-F", "%r|%t|%p"], { count: 1, timeoutMs: 5000 });
      assert.equal(retained.timedOut, false, "no retained message");
      assert.deepEqual(retained.lines, [`1|${topic}|kept for later`]);

      const clear = await runCli(["pub", ...at(broker), "-t", topic, "-n", "-r"]);
      assertExit(clear, 0);
      const cleared = await mosquittoSub(broker, ["-t", topic, "-v"], { count: 1, timeoutMs: 1000 });
      assert.equal(cleared.timedOut, true, `the retained message is still there: ${cleared.lines.join(" / ")}`);
      assert.deepEqual(cleared.lines, []);
    });
  });

  describe("sub", { concurrency: CONCURRENCY }, () => {
    test("-t 'x/#' -v -C 2 prints two 'topic payload' lines from mosquitto_pub and exits 0", async () => {
      const root = uniqueRoot("sub");
      const clientId = uniqueClientId("sub-v");
      const subscribed = subscribedLog(broker, clientId);
      const run = startCli(["sub", ...at(broker), "-i", clientId, "-t", `${root}/x/#`, "-v", "-C", "2", "-q", "1"]);
      await subscribed;
      await mosquittoPub(broker, ["-t", `${root}/other`, "-m", "not for the filter"]);
      await mosquittoPub(broker, ["-t", `${root}/x/one`, "-m", "first"]);
      await mosquittoPub(broker, ["-t", `${root}/x/two/deep`, "-m", "second message", "-q", "1"]);
      await mosquittoPub(broker, ["-t", `${root}/x/three`, "-m", "after -C"]);
      const result = await run.done;
      assertExit(result, 0);
      assert.equal(result.stdout.toString(), `${root}/x/one first\n${root}/x/two/deep second message\n`);
    });

    test("-W 1 with no messages exits 27 after about a second", async () => {
      const root = uniqueRoot("timeout");
      const result = await runCli(["sub", ...at(broker), "-t", `${root}/#`, "-W", "1"]);
      assertExit(result, 27);
      assert.match(result.stderr, /Timed out/);
      assert.equal(result.stdout.length, 0);
      assert.ok(result.elapsedMs >= 1000, `exited after only ${result.elapsedMs} ms`);
    });

    test("connection refused on a closed port: exit 1 naming CONNECTION_REFUSED, for pub and sub", async () => {
      const port = String(await freePort());
      const [pub, sub] = await Promise.all([
        runCli(["pub", "-h", "127.0.0.1", "-p", port, "-t", "a/b", "-m", "x"]),
        runCli(["sub", "-h", "127.0.0.1", "-p", port, "-t", "a/b"]),
      ]);
      for (const result of [pub, sub]) {
        assertExit(result, 1);
        assert.match(result.stderr, /CONNECTION_REFUSED/);
        assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
      }
    });
  });

  describe("-d packet trace", { concurrency: CONCURRENCY }, () => {
    test("pub -q 1 -d traces CONNECT, CONNACK, PUBLISH and PUBACK with the message id on stderr; stdout stays clean", async () => {
      const topic = `${uniqueRoot("trace")}/t`;
      const clientId = uniqueClientId("trace-pub");
      const result = await runCli(["pub", ...at(broker), "-i", clientId, "-t", topic, "-m", "hello", "-q", "1", "-d"]);
      assertExit(result, 0);
      assert.equal(result.stdout.length, 0, `stdout: ${result.stdout.toString()}`);
      const lines = result.stderr.split("\n");
      const indexOf = (pattern: RegExp) => {
        const index = lines.findIndex((line) => pattern.test(line));
        assert.ok(index >= 0, `no line matching ${pattern} in:\n${result.stderr}`);
        return index;
      };
      const escapedTopic = topic.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const connect = indexOf(new RegExp(`^Client ${clientId} sending CONNECT$`));
      const connack = indexOf(new RegExp(`^Client ${clientId} received CONNACK$`));
      const publish = indexOf(new RegExp(`^Client ${clientId} sending PUBLISH \\(d0, q1, r0, m(\\d+), '${escapedTopic}', \\.\\.\\. \\(5 bytes\\)\\)$`));
      const packetId = /m(\d+),/.exec(lines[publish])?.[1];
      assert.ok(packetId !== undefined && Number(packetId) > 0, `PUBLISH has no message id: ${lines[publish]}`);
      const puback = indexOf(new RegExp(`^Client ${clientId} received PUBACK \\(Mid: ${packetId}\\)$`));
      assert.ok(connect < connack && connack < publish && publish < puback, `out of order:\n${result.stderr}`);
    });

    test("sub -d traces the received PUBLISH on stderr while stdout holds only the payload", async () => {
      const topic = `${uniqueRoot("trace")}/sub`;
      const clientId = uniqueClientId("trace-sub");
      const subscribed = subscribedLog(broker, clientId);
      const run = startCli(["sub", ...at(broker), "-i", clientId, "-t", topic, "-C", "1", "-d"]);
      await subscribed;
      await mosquittoPub(broker, ["-t", topic, "-m", "payload only"]);
      const result = await run.done;
      assertExit(result, 0);
      assert.equal(result.stdout.toString(), "payload only\n");
      assert.match(result.stderr, new RegExp(`Client ${clientId} sending SUBSCRIBE \\(Mid: \\d+, Topic: ${topic}, QoS: 0\\)`));
      assert.match(result.stderr, new RegExp(`Client ${clientId} received SUBACK`));
      assert.ok(result.stderr.includes(`Client ${clientId} received PUBLISH (d0, q0, r0, m0, '${topic}', ... (12 bytes))`), result.stderr);
    });
  });

  describe("connections and the will", { concurrency: CONCURRENCY }, () => {
    test("a broker refusing the login: exit 5 like mosquitto_pub, 0 with the right password", async (t) => {
      const secured = await startMosquitto({ websockets: false, users: [{ username: "alice", password: "s3cret" }] });
      t.after(() => secured.stop());
      const target = at(secured);
      const [anonymous, wrong, right, sub, reference] = await Promise.all([
        runCli(["pub", ...target, "-t", "a/b", "-m", "x"]),
        runCli(["pub", ...target, "-u", "alice", "-P", "wrong", "-t", "a/b", "-m", "x"]),
        runCli(["pub", ...target, "-u", "alice", "-P", "s3cret", "-t", "a/b", "-m", "x", "-q", "1"]),
        runCli(["sub", ...target, "-t", "a/b", "-W", "5"]),
        mosquittoPubStatus([...target, "-t", "a/b", "-m", "x"]),
      ]);
      assert.equal(reference.code, 5, `mosquitto_pub itself exited ${reference.code}: ${reference.stderr}`);
      for (const result of [anonymous, wrong, sub]) {
        assertExit(result, reference.code);
        assert.match(result.stderr, /CONNACK_NOT_AUTHORIZED/);
      }
      assertExit(right, 0);
    });

    test("--will-topic/--will-payload: a sub killed with SIGKILL has its will delivered to mosquitto_sub", async () => {
      const root = uniqueRoot("will");
      const clientId = uniqueClientId("will");
      const watcher = mosquittoSubStart(broker, ["-t", `${root}/status`, "-q", "1", "-F", "%q|%t|%p"], { count: 1, timeoutMs: WATCH_MS });
      await watcher.ready;
      const subscribed = subscribedLog(broker, clientId);
      const run = startCli([
        "sub", ...at(broker), "-i", clientId, "-t", `${root}/cmd`,
        "--will-topic", `${root}/status`, "--will-payload", "gone offline", "--will-qos", "1",
      ]);
      await subscribed;
      run.child.kill("SIGKILL");
      const result = await run.done;
      assert.equal(result.code, "SIGKILL");
      const received = await watcher.done;
      assert.equal(received.timedOut, false, `no will arrived; broker log:\n${broker.logs()}`);
      assert.deepEqual(received.lines, [`1|${root}/status|gone offline`]);
    });

    test("a sub ended normally (-C) sends DISCONNECT, so its will is not published", async () => {
      const root = uniqueRoot("nowill");
      const clientId = uniqueClientId("nowill");
      // the first message the watcher sees is either the will or, after the sub has gone, a sentinel
      const watcher = mosquittoSubStart(broker, ["-t", `${root}/status`, "-v"], { count: 1, timeoutMs: WATCH_MS });
      await watcher.ready;
      const subscribed = subscribedLog(broker, clientId);
      const run = startCli(["sub", ...at(broker), "-i", clientId, "-t", `${root}/cmd`, "-C", "1", "--will-topic", `${root}/status`, "--will-payload", "gone"]);
      await subscribed;
      const disconnected = broker.waitForLog(`Received DISCONNECT from ${clientId}`, WATCH_MS);
      await mosquittoPub(broker, ["-t", `${root}/cmd`, "-m", "stop"]);
      assertExit(await run.done, 0);
      await disconnected;
      await mosquittoPub(broker, ["-t", `${root}/status`, "-m", "sentinel"]);
      const received = await watcher.done;
      assert.deepEqual(received.lines, [`${root}/status sentinel`]);
    });
  });

  describe("demo", { concurrency: CONCURRENCY }, () => {
    const messageLines = (stdout: Buffer) => stdout.toString().split("\n").filter((line) => line.startsWith("Message from "));
    const expected = [0, 1, 2].map((qos) => `Message from /test/topic: Hello from wasmqtt (QoS ${qos})`);

    test("with the embedded broker: three messages, exit 0", async () => {
      const result = await runCli(["demo"]);
      assertExit(result, 0);
      assert.match(result.stdout.toString(), /^Broker \(aedes\) listening on mqtt:\/\/127\.0\.0\.1:\d+$/m);
      assert.match(result.stdout.toString(), /^Broker \(aedes\) listening on WebSockets at ws:\/\/127\.0\.0\.1:\d+\/mqtt$/m);
      assert.deepEqual(messageLines(result.stdout), expected);
      assert.match(result.stdout.toString(), /^Broker closed$/m);
    });

    test("--broker uses Mosquitto instead", async () => {
      const connected = broker.waitForLog(/New client connected from 127\.0\.0\.1:\d+ as wasmqtt-demo-sub-/, WATCH_MS);
      const result = await runCli(["demo", "--broker", broker.url]);
      assertExit(result, 0);
      await connected;
      assert.match(result.stdout.toString(), new RegExp(`^Using the broker at ${broker.url}$`, "m"));
      assert.doesNotMatch(result.stdout.toString(), /aedes/);
      assert.deepEqual(messageLines(result.stdout), expected);
    });

    test("--broker with another scheme is a usage error", async () => {
      const result = await runCli(["demo", "--broker", "http://127.0.0.1:1"]);
      assertExit(result, 1);
      assert.match(result.stderr, /Unsupported URL scheme 'http:'/);
    });
  });

  describe("sim", { concurrency: CONCURRENCY }, () => {
    const plainLine =
      /^\[day 0 00:01:00\] (nodemcu-v3-\d+) board=nodemcu-v3 state=(\S+) temp=-?\d+\.\d\dC moisture=\d+% relay=(?:on|off) led=(?:on|off) published=(\d+) acked=(\d+) outbox=\d+\/\d+B reconnects=(\d+) ram=(\d+)\/(\d+)B$/;

    test("--speed max --duration 60 --devices 2 prints plain per-device lines and exits 0", async () => {
      const [first, second] = await Promise.all([
        runCli(["sim", "--speed", "max", "--duration", "60", "--devices", "2", "--port", "0", "--seed", "7"]),
        runCli(["sim", "--speed", "max", "--duration", "60", "--devices", "2", "--port", "0", "--seed", "7"]),
      ]);
      assertExit(first, 0);
      const text = first.stdout.toString();
      assert.doesNotMatch(text, /\u001b\[/, "no terminal escapes when stdout is not a TTY");
      const lines = text.trimEnd().split("\n");
      assert.match(lines[0], /^broker: embedded \(aedes\) on mqtt:\/\/127\.0\.0\.1:\d+$/);
      assert.match(lines[1], /^watch: mosquitto_sub -h 127\.0\.0\.1 -p \d+ -t 'devices\/#' -v$/);
      assert.match(lines[2], /^websocket: ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
      assert.match(lines[3], /^dashboard: http:\/\/127\.0\.0\.1:\d+\/$/);
      const devices = lines.slice(4).map((line) => {
        const match = plainLine.exec(line);
        assert.ok(match, `not a device line: ${line}`);
        return match;
      });
      assert.deepEqual(devices.map((match) => match[1]), ["nodemcu-v3-1", "nodemcu-v3-2"]);
      for (const [, , state, published, acked, reconnects, ram, budget] of devices) {
        assert.equal(state, "connected");
        assert.ok(Number(published) > 0, "nothing was published in a virtual minute");
        assert.ok(Number(acked) > 0 && Number(acked) <= Number(published), `acked ${acked} of ${published}`);
        assert.equal(reconnects, "0");
        assert.ok(Number(ram) <= Number(budget), `static RAM ${ram} over the board's ${budget}`);
      }
      // same seed, same run: the device lines (not the port) repeat exactly
      assertExit(second, 0);
      assert.deepEqual(second.stdout.toString().split("\n").slice(4), text.split("\n").slice(4));
    });

    test("--board nope exits 1 listing the known boards", async () => {
      const result = await runCli(["sim", "--board", "nope"]);
      assertExit(result, 1);
      assert.ok(result.stderr.includes(`unknown board 'nope' (known boards: ${BOARDS.join(", ")})`), result.stderr);
      assert.match(result.stderr, /Use 'wasmqtt sim --help' to see usage\./);
    });
  });

  describe("--help and --version", { concurrency: CONCURRENCY }, () => {
    const flags: Record<string, string[]> = {
      pub: ["-t, --topic", "-m, --message", "-f, --file", "-s, --stdin-file", "-l, --stdin-line", "-n, --null-message", "-q, --qos", "-r, --retain", "-d, --debug", "--will-topic"],
      sub: ["-t, --topic", "-v, --verbose", "-C, --count", "-W, --timeout", "-N, --no-eol", "-q, --qos", "-d, --debug", "--will-topic"],
      demo: ["--broker", "-d, --debug", "--profile"],
      sim: ["--board", "--devices", "--speed", "--duration", "--broker", "--port", "--seed"],
    };
    for (const [command, expected] of Object.entries(flags)) {
      test(`${command} --help exits 0 and lists its flags`, async () => {
        const result = await runCli([command, "--help"]);
        assertExit(result, 0);
        const text = result.stdout.toString();
        assert.match(text, new RegExp(`^wasmqtt ${command}: `));
        for (const flag of expected) assert.ok(text.includes(flag), `${command} --help does not mention ${flag}`);
      });
    }

    test("--help names every command; --version prints the package.json version", async () => {
      const [help, version] = await Promise.all([runCli(["--help"]), runCli(["--version"])]);
      assertExit(help, 0);
      for (const command of ["pub", "sub", "demo", "sim"]) assert.match(help.stdout.toString(), new RegExp(`wasmqtt ${command} `));
      assertExit(version, 0);
      assert.equal(version.stdout.toString(), `wasmqtt ${PACKAGE_VERSION}\n`);
    });
  });
});
