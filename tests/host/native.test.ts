/**
 * The modules compiled to native code by wasm2c (boards/native/, `npm run build:native`):
 * build/native/wasmqtt-<profile> pub / sub against Mosquitto with mosquitto_pub and
 * mosquitto_sub as peers (QoS 0/1/2 both ways, binary payloads, a broker restart under a
 * persistent session, exit statuses), and build/native/telemetry-<profile> publishing
 * readings and switching its relay on command. Also: the linear memory is exactly the
 * module's static data end, a smaller one traps, the glue builds with clang under
 * -Wall -Wextra -Werror as it does with gcc, and the firmware cross-compiles for
 * Cortex-M4, Cortex-M0+ and rv32imc.
 *
 * Assumes `npm run build:native` ran (scripts/test.sh runs it after the wasm build).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { type Board, loadBoard } from "../../host/boards.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { removeTempDir, trackTempDir } from "../../host/processes.ts";
import { type ProgramRun, startProgram } from "./support/program-runs.ts";
import { mosquittoPub, mosquittoSub, mosquittoSubStart } from "./support/mosquitto-clients.ts";
import { allByteValues, uniqueId, uniqueTopic } from "./support/client-helpers.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NATIVE = path.join(ROOT, "build", "native");
const PROFILES = ["desktop", "esp32", "nodemcu"] as const;
/** How long one native run may take before it is killed and its test fails. */
const RUN_LIMIT_MS = 10_000;
/** How long a watcher (mosquitto_sub, a broker log line) may wait. */
const WATCH_MS = 8_000;

/** Starts a native program; `stdin` is written and closed (default: no stdin). */
function start(program: string, args: string[], options: { stdin?: Buffer; limitMs?: number } = {}): ProgramRun {
  return startProgram(program, args, { stdin: options.stdin, limitMs: options.limitMs ?? RUN_LIMIT_MS });
}

function client(profile: string): string {
  return path.join(NATIVE, `wasmqtt-${profile}`);
}

function telemetry(profile: string): string {
  return path.join(NATIVE, `telemetry-${profile}`);
}

function brokerArgs(broker: Broker): string[] {
  return ["-h", "127.0.0.1", "-p", String(broker.port)];
}

/** Resolves once `condition` holds, checking every 20 ms; rejects after `ms` with `what`. */
async function until(what: string, condition: () => boolean, ms = WATCH_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** boardConfigure's arguments from a board file, in the order host/sim/device.ts passes them. */
function boardArgument(board: Board): string {
  const channel = (kind: string) => board.sensors.find((sensor) => sensor.kind === kind)?.channel ?? 0;
  const flags = (board.gpio.led.activeLow ? 1 : 0) | (board.gpio.relay.activeLow ? 2 : 0);
  return [
    board.adc.bits, board.adc.referenceMv, Math.round(board.adc.dividerRatio * 1000), channel("tmp36"), channel("soil-moisture"),
    board.calibration.moisture.dryRaw, board.calibration.moisture.wetRaw, board.gpio.led.gpio, board.gpio.relay.gpio, flags,
  ].join(",");
}

/** The `staticDataEnd` of each module the wasm build measured (build/sizes.json). */
function staticDataEnd(kind: "client" | "telemetry", profile: string): number {
  const sizes = JSON.parse(readFileSync(path.join(ROOT, "build", "sizes.json"), "utf8")) as Record<string, { staticDataEnd: number }>;
  return sizes[`${kind}-${profile}`].staticDataEnd;
}

let broker: Broker;
let scratch: string;

before(async () => {
  for (const profile of PROFILES) {
    for (const program of [client(profile), telemetry(profile)]) {
      assert.ok(existsSync(program), `${program} is missing: run npm run build:native`);
    }
  }
  broker = await startMosquitto({ websockets: false, persistence: true });
  scratch = mkdtempSync(path.join(tmpdir(), "wasmqtt-native-"));
  trackTempDir(scratch);
});

after(async () => {
  await broker?.stop();
  if (scratch !== undefined) removeTempDir(scratch);
});

describe("native linear memory", () => {
  for (const profile of PROFILES) {
    test(`${profile}: both programs give the module exactly its staticDataEnd() bytes`, async () => {
      for (const [kind, program] of [["client", client(profile)], ["telemetry", telemetry(profile)]] as const) {
        const result = await start(program, ["--memory"]).done;
        assert.equal(result.code, 0, result.stderr);
        const expected = staticDataEnd(kind, profile);
        assert.equal(
          result.stdout.toString("utf8").trim(),
          `linear memory ${expected} bytes, __heap_base ${expected}, staticDataEnd() ${expected}`,
        );
      }
    });
  }

  test("the telemetry module runs in exactly __heap_base bytes and traps with one byte less", async () => {
    const profile = "nodemcu";
    const bytes = staticDataEnd("telemetry", profile);
    const smaller = path.join(scratch, "smaller");
    const build = spawnSync(process.execPath, [
      path.join(ROOT, "scripts", "build-native.mjs"), "--profile", profile, "--kind", "telemetry", "--out", smaller,
      "--memory-bytes", String(bytes - 1), "--quiet",
    ], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    const board = boardArgument(loadBoard("nodemcu-v3"));
    const id = uniqueId("mem");
    const args = [...brokerArgs(broker), "--id", id, "--board", board, "--interval", "1"];
    // the shadow stack's top word is the module's last: the first call that uses it traps
    const trapped = await start(path.join(smaller, `telemetry-${profile}`), args).done;
    assert.equal(trapped.code, 70, trapped.stderr);
    assert.match(trapped.stderr, new RegExp(`the module trapped: out of bounds memory access \\(linear memory ${bytes - 1} bytes\\)`));

    const readings = mosquittoSubStart(broker, ["-t", `devices/${id}/telemetry`], { count: 1, timeoutMs: WATCH_MS });
    await readings.ready;
    const exact = start(telemetry(profile), args);
    const { lines } = await readings.done;
    exact.child.kill("SIGTERM");
    const result = await exact.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(lines[0]).seq, 1);
  });
});

describe("native pub and sub against Mosquitto", () => {
  for (const qos of [0, 1, 2]) {
    test(`pub -q ${qos}: mosquitto_sub receives the message at QoS ${qos}`, async () => {
      const topic = uniqueTopic("native/pub");
      const sub = mosquittoSubStart(broker, ["-t", topic, "-q", "2", "-F", "%q %t %p"], { count: 1, timeoutMs: WATCH_MS });
      await sub.ready;
      const result = await start(client("desktop"), ["pub", ...brokerArgs(broker), "-t", topic, "-m", `hello ${qos}`, "-q", String(qos)]).done;
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual((await sub.done).lines, [`${qos} ${topic} hello ${qos}`]);
    });

    test(`sub -q ${qos}: receives mosquitto_pub's message at QoS ${qos}`, async () => {
      const topic = uniqueTopic("native/sub");
      const id = uniqueId("nsub");
      const subscribed = broker.waitForLog(`Sending SUBACK to ${id}`, WATCH_MS);
      const sub = start(client("desktop"), ["sub", ...brokerArgs(broker), "-i", id, "-t", topic, "-q", String(qos), "-C", "1", "-v", "-d"]);
      await subscribed;
      await mosquittoPub(broker, ["-t", topic, "-m", `world ${qos}`, "-q", String(qos)]);
      const result = await sub.done;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.toString("utf8"), `${topic} world ${qos}\n`);
      // the PUBLISH's fixed-header flags carry the QoS in bits 1-2 (MQTT 3.1.1 §3.3.1)
      assert.match(result.stderr, new RegExp(`received PUBLISH \\(m\\d+, flags ${qos << 1}, `));
    });
  }

  test("a binary payload of every byte value, byte for byte, both ways", async () => {
    const payload = Buffer.from(allByteValues());
    const file = path.join(scratch, "all-bytes.bin");
    writeFileSync(file, payload);

    const topic = uniqueTopic("native/binary");
    const sub = mosquittoSubStart(broker, ["-t", topic, "-N"], { count: 1, timeoutMs: WATCH_MS });
    await sub.ready;
    const pub = await start(client("esp32"), ["pub", ...brokerArgs(broker), "-t", topic, "-f", file, "-q", "1"]).done;
    assert.equal(pub.code, 0, pub.stderr);
    assert.deepEqual((await sub.done).stdout, payload);

    const stdinTopic = uniqueTopic("native/binary-stdin");
    const stdinSub = mosquittoSubStart(broker, ["-t", stdinTopic, "-N"], { count: 1, timeoutMs: WATCH_MS });
    await stdinSub.ready;
    const fromStdin = await start(client("nodemcu"), ["pub", ...brokerArgs(broker), "-t", stdinTopic, "-s", "-q", "2"], { stdin: payload }).done;
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.deepEqual((await stdinSub.done).stdout, payload);

    const back = uniqueTopic("native/binary-back");
    const id = uniqueId("nbin");
    const subscribed = broker.waitForLog(`Sending SUBACK to ${id}`, WATCH_MS);
    const nativeSub = start(client("desktop"), ["sub", ...brokerArgs(broker), "-i", id, "-t", back, "-q", "1", "-C", "1", "-N"]);
    await subscribed;
    await mosquittoPub(broker, ["-t", back, "-f", file, "-q", "1"]);
    const received = await nativeSub.done;
    assert.equal(received.code, 0, received.stderr);
    assert.deepEqual(received.stdout, payload);
  });

  test("sub -c survives a broker restart: nothing published at QoS 1 is lost", async () => {
    const topic = uniqueTopic("native/restart");
    const id = uniqueId("nres");
    const subscribed = broker.waitForLog(`Sending SUBACK to ${id}`, WATCH_MS);
    const sub = start(client("desktop"), ["sub", ...brokerArgs(broker), "-c", "-i", id, "-t", topic, "-q", "1", "-d"], { limitMs: 20_000 });
    await subscribed;
    for (const n of [1, 2, 3]) await mosquittoPub(broker, ["-t", topic, "-m", `m${n}`, "-q", "1"]);
    await until("the first three messages", () => sub.output().includes("m3\n"));
    await broker.restart();
    // published while the client waits out its backoff: the broker queues them for the restored session
    for (const n of [4, 5, 6]) await mosquittoPub(broker, ["-t", topic, "-m", `m${n}`, "-q", "1"]);
    await until("the last message", () => sub.output().includes("m6\n"), 10_000);
    sub.child.kill("SIGTERM");
    const result = await sub.done;
    assert.equal(result.code, 0, result.stderr);
    // QoS 1 is at least once (MQTT 3.1.1 §4.3.2): a message the broker saw no PUBACK for may come twice
    const received = result.stdout.toString("utf8").trimEnd().split("\n");
    assert.deepEqual([...new Set(received)], ["m1", "m2", "m3", "m4", "m5", "m6"], result.stderr);
    assert.match(result.stderr, /Warning: connection to .* lost/);
    assert.match(result.stderr, /Reconnected \(session present: 1\)\./);
  });

  test("exit statuses as the Node CLI: usage 1, refused connection 1, CONNACK refusal 5, -W timeout 27", async (t) => {
    const usage = await start(client("desktop"), ["pub", "-t", "a", "-m", "b", "-q", "3"]).done;
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /^Error: Invalid --qos '3': it must be a whole number from 0 to 2\.\n\nUse 'wasmqtt-desktop pub --help'/);

    const wildcard = await start(client("desktop"), ["pub", ...brokerArgs(broker), "-t", "a/+", "-m", "b"]).done;
    assert.equal(wildcard.code, 1);
    assert.match(wildcard.stderr, /INVALID_TOPIC/);

    const closedPort = await start(client("desktop"), ["pub", "-h", "127.0.0.1", "-p", "1", "-t", "a", "-m", "b"]).done;
    assert.equal(closedPort.code, 1);
    assert.match(closedPort.stderr, /^Error: cannot connect to 127\.0\.0\.1:1: .*\(CONNECTION_REFUSED\)/);

    const secured = await startMosquitto({ websockets: false, users: [{ username: "alice", password: "s3cret" }] });
    t.after(() => secured.stop());
    const refused = await start(client("desktop"), ["pub", ...brokerArgs(secured), "-u", "alice", "-P", "wrong", "-t", "a", "-m", "b"]).done;
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /CONNACK_NOT_AUTHORIZED/);

    const timedOut = await start(client("desktop"), ["sub", ...brokerArgs(broker), "-t", uniqueTopic("native/quiet"), "-W", "1"]).done;
    assert.equal(timedOut.code, 27, timedOut.stderr);
    assert.match(timedOut.stderr, /Timed out/);
  });
});

describe("native telemetry firmware", () => {
  test("publishes readings from the ADC file, obeys {\"relay\":true}, and goes offline on SIGTERM", async () => {
    const board = loadBoard("esp32-devkitc");
    const id = uniqueId("ntel");
    const adc = path.join(scratch, "adc.txt");
    // boards/README.md: 991 is 25 °C on the DevKitC; the moisture reading halfway between dry and wet
    const { dryRaw, wetRaw } = board.calibration.moisture;
    writeFileSync(adc, `991 ${Math.floor((dryRaw + wetRaw) / 2)}\n`);
    const readings = mosquittoSubStart(broker, ["-t", `devices/${id}/telemetry`], { count: 1, timeoutMs: WATCH_MS });
    await readings.ready;
    const subscribed = broker.waitForLog(`Sending SUBACK to ${id}`, WATCH_MS);
    const device = start(telemetry("esp32"), [
      ...brokerArgs(broker), "--id", id, "--board", boardArgument(board), "--adc", adc, "--interval", "1",
    ], { limitMs: 20_000 });
    const reading = JSON.parse((await readings.done).lines[0]) as Record<string, unknown>;
    assert.equal(reading.seq, 1);
    assert.ok(Math.abs((reading.temperature_c as number) - 25) < 0.2, `temperature_c ${reading.temperature_c}`);
    assert.equal(reading.moisture_pct, 50);
    assert.equal(reading.relay, false);

    const relayOn = `gpio ${board.gpio.relay.gpio} 1`;
    assert.ok(!device.output().split("\n").includes(relayOn), device.output());
    await subscribed; // to devices/<id>/cmd: a command sent before would reach no one
    await mosquittoPub(broker, ["-t", `devices/${id}/cmd`, "-m", '{"relay":true}', "-q", "1"]);
    await until(`"${relayOn}" on stdout`, () => device.output().split("\n").includes(relayOn));
    const after = mosquittoSubStart(broker, ["-t", `devices/${id}/telemetry`], { count: 1, timeoutMs: WATCH_MS });
    await after.ready;
    assert.equal(JSON.parse((await after.done).lines[0]).relay, true);

    device.child.kill("SIGTERM");
    const result = await device.done;
    assert.equal(result.code, 0, result.stderr);
    const status = await mosquittoSub(broker, ["-t", `devices/${id}/status`], { count: 1, timeoutMs: WATCH_MS });
    assert.deepEqual(status.lines, ["offline"]);
  });
});

describe("native build", () => {
  test("the telemetry firmware's C cross-compiles for Cortex-M4, Cortex-M0+ and rv32imc (npm run size)", () => {
    const report = spawnSync(process.execPath, [
      path.join(ROOT, "scripts", "build-native.mjs"), "--size", "--profile", "nodemcu", "--kind", "telemetry", "--out", path.join(scratch, "size"),
    ], { encoding: "utf8" });
    assert.equal(report.status, 0, report.stderr);
    const rows = report.stdout.trim().split("\n").slice(1).map((line) => line.trim().split(/\s+/));
    assert.deepEqual(rows.map((row) => row[2]), ["x86-64", "cortex-m4", "cortex-m0+", "rv32imc"], report.stdout);
    const memory = String(staticDataEnd("telemetry", "nodemcu"));
    for (const row of rows) {
      assert.ok(Number(row[3]) > 10_000, `module text of ${row[2]}: ${row[3]}`);
      assert.equal(row[9], memory, `linear memory of ${row[2]}`);
    }
  });

  test("the glue and the wasm2c output compile with clang under -Wall -Wextra -Werror", async () => {
    const out = path.join(scratch, "clang");
    const build = spawnSync(process.execPath, [
      path.join(ROOT, "scripts", "build-native.mjs"), "--profile", "nodemcu", "--cc", "clang", "--out", out, "--quiet",
    ], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    const result = await start(path.join(out, "wasmqtt-nodemcu"), ["--memory"]).done;
    assert.equal(result.code, 0, result.stderr);
  });
});
