/**
 * The telemetry firmware as a bare-metal Cortex-M4 image (boards/native/mps2-an386/,
 * `node scripts/build-native.mjs --image`) booted in QEMU's `-M mps2-an386`: its UART0
 * joined to Mosquitto by bridge.mjs, its console on UART1. It boots, connects,
 * publishes a reading, switches its relay on command, reconnects on its own after the
 * bridge drops the broker connection, and its painted C stack shows how deep it went.
 * A system reset (QEMU's monitor `system_reset`) keeps the readings it queued while the
 * bridge had no network: restored from the RAM that survives the reset and delivered.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { loadBoard } from "../../host/boards.ts";
import { startMosquitto, type Broker } from "../../host/mosquitto.ts";
import { findExecutable, removeTempDir, spawnTracked, trackTempDir } from "../../host/processes.ts";
import { collectMqttJs, openMqttJs } from "./support/client-helpers.ts";
import { mosquittoPub, mosquittoSubStart } from "./support/mosquitto-clients.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** main.c's default device id. */
const DEVICE_ID = "mps2-an386";
/** How long booting, connecting and a command's effect may take. */
const WATCH_MS = 15_000;
/** The C stack mps2-an386.ld guarantees (it fails the link with less). */
const STACK_BYTES = 4096;
/** The smallest part the whole image is meant to fit: 64 KB of flash, 16 KB of RAM. */
const FLASH_BYTES = 65536;
const RAM_BYTES = 16384;
/** Where mps2-an386.ld puts the retained RAM: just past the 64 KiB of working RAM at 0x20000000. */
const RETAINED_ORIGIN = 0x20010000;

let broker: Broker;
let scratch: string;
const children: ChildProcess[] = [];

/** A child with its stdout gathered as text. */
function startChild(command: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawnTracked(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  return { child, output: () => text };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WATCH_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  broker = await startMosquitto({ websockets: false });
  scratch = mkdtempSync(path.join(tmpdir(), "wasmqtt-qemu-"));
  trackTempDir(scratch);
});

after(async () => {
  for (const child of children) child.kill("SIGTERM");
  await broker?.stop();
  if (scratch !== undefined) removeTempDir(scratch);
});

/** Ends the children a test started, so the next test's device is the only one with the id. */
function stopChildren(): void {
  for (const child of children.splice(0)) child.kill("SIGTERM");
}

/** Builds the nodemcu image into `out` (extra: build-native.mjs flags); returns its path. */
function buildImage(out: string, extra: string[] = []): string {
  const build = spawnSync(process.execPath, [
    path.join(ROOT, "scripts", "build-native.mjs"), "--image", "--profile", "nodemcu", "--out", out, "--quiet", ...extra,
  ], { encoding: "utf8" });
  assert.equal(build.status, 0, build.stderr);
  return path.join(out, "telemetry-nodemcu-mps2-an386.elf");
}

/** Section sizes of an ELF, from `arm-none-eabi-size -A`. */
function sections(elf: string): Map<string, { size: number; addr: number }> {
  const size = spawnSync("arm-none-eabi-size", ["-A", elf], { encoding: "utf8" });
  assert.equal(size.status, 0, size.stderr);
  const found = new Map<string, { size: number; addr: number }>();
  for (const match of size.stdout.matchAll(/^(\.\S+)\s+(\d+)\s+(\d+)$/gm)) found.set(match[1], { size: Number(match[2]), addr: Number(match[3]) });
  return found;
}

/** Lines of the console that are exactly `line`. */
function count(output: string, line: string): number {
  return output.split("\n").filter((entry) => entry === line).length;
}

test("the mps2-an386 image boots in QEMU, publishes over the bridged UART, obeys {\"relay\":true}, reconnects after a drop", async (t) => {
  t.after(stopChildren);
  const qemu = findExecutable("qemu-system-arm", ["/usr/bin"], "apt-get install qemu-system-arm");
  buildImage(scratch);

  const bridge = startChild(process.execPath, [
    path.join(ROOT, "boards", "native", "mps2-an386", "bridge.mjs"), "--broker", `127.0.0.1:${broker.port}`,
  ]);
  await until("the bridge to listen", () => /listening \d+\n/.test(bridge.output()));
  const port = /listening (\d+)/.exec(bridge.output())?.[1];

  const readings = mosquittoSubStart(broker, ["-t", `devices/${DEVICE_ID}/telemetry`], { count: 1, timeoutMs: WATCH_MS });
  await readings.ready;
  const subscribed = broker.waitForLog(`Sending SUBACK to ${DEVICE_ID}`, WATCH_MS);
  const device = startChild(qemu, [
    "-M", "mps2-an386", "-display", "none", "-monitor", "none",
    "-chardev", `socket,id=mqtt,host=127.0.0.1,port=${port},nodelay=on`, "-serial", "chardev:mqtt", "-serial", "stdio",
    "-kernel", path.join(scratch, "telemetry-nodemcu-mps2-an386.elf"),
  ]);
  await until("the console to say connected", () => device.output().includes("connected\n"));
  assert.match(device.output(), /^wasmqtt telemetry on mps2-an386\n/);
  await subscribed; // to devices/<id>/cmd: a command sent before would reach no one

  await mosquittoPub(broker, ["-t", `devices/${DEVICE_ID}/cmd`, "-m", '{"relay":true}', "-q", "1"]);
  // nodemcu-v3's relay is GPIO5, active high
  await until('"gpio 5 1" on the console', () => device.output().split("\n").includes("gpio 5 1"));
  const first = JSON.parse((await readings.done).lines[0]) as Record<string, unknown>;
  assert.equal(first.seq, 1);
  // board-mps2.c's constant readings: 240 is 25 °C on the nodemcu-v3, 559 halfway between dry and wet
  assert.ok(Math.abs((first.temperature_c as number) - 25) < 0.5, `temperature_c ${first.temperature_c}`);
  assert.equal(first.moisture_pct, 50);
  assert.equal(first.relay, false);
  // the reading after the command (at the next tick, or the next interval's) reports the relay on
  const later = await mosquittoSubStart(broker, ["-t", `devices/${DEVICE_ID}/telemetry`], { count: 1, timeoutMs: WATCH_MS }).done;
  const relayOn = JSON.parse(later.lines[0]) as Record<string, unknown>;
  assert.equal(relayOn.relay, true);

  // the bridge loses the broker, as a modem losing its network: the firmware reconnects by itself
  const afterDrop = mosquittoSubStart(broker, ["-t", `devices/${DEVICE_ID}/telemetry`], { count: 1, timeoutMs: 3 * WATCH_MS });
  await afterDrop.ready;
  bridge.child.kill("SIGUSR1");
  await until("the console to say the connection was lost", () => count(device.output(), "connection lost") === 1);
  await until("the console to say connected again", () => count(device.output(), "connected") === 2);
  const resumed = JSON.parse((await afterDrop.done).lines[0]) as Record<string, unknown>;
  assert.ok((resumed.seq as number) > (relayOn.seq as number), `seq ${resumed.seq} after the drop, ${relayOn.seq} before`);

  const marks = [...device.output().matchAll(/^stack (\d+)$/gm)].map((match) => Number(match[1]));
  assert.ok(marks.length > 0, "the firmware printed no stack mark");
  const deepest = Math.max(...marks);
  assert.ok(deepest > 0 && deepest < STACK_BYTES, `C stack high-water ${deepest} B, the link guarantees ${STACK_BYTES} B`);
  t.diagnostic(`C stack high-water: ${deepest} B`);

  // the whole image on a board: code and initial data in flash; its static RAM (data + bss)
  // within the board file's budget, and with the stack it used within a 16 KB part; the two
  // persistent-state slots apart, in the retained RAM past the 64 KiB (mps2-an386.ld)
  const elf = sections(path.join(scratch, "telemetry-nodemcu-mps2-an386.elf"));
  const [text, data, bss, retained] = [".text", ".data", ".bss", ".retained"].map((name) => elf.get(name)?.size ?? 0);
  const flash = text + (elf.get(".ARM.exidx")?.size ?? 0) + data;
  const budget = loadBoard("nodemcu-v3").ramBudgetBytes;
  assert.ok(flash <= FLASH_BYTES, `flash ${flash} B, more than ${FLASH_BYTES} B`);
  assert.ok(data + bss <= budget, `static RAM ${data + bss} B (data ${data}, bss ${bss}), nodemcu-v3's budget ${budget} B`);
  assert.ok(data + bss + deepest <= RAM_BYTES, `RAM ${data + bss + deepest} B with the stack, more than ${RAM_BYTES} B`);
  const persistLength = (JSON.parse(readFileSync(path.join(ROOT, "build", "sizes.json"), "utf8")) as Record<string, { persistLength: number }>)["telemetry-nodemcu"].persistLength;
  assert.equal(retained, 2 * persistLength, "two slots of persistLength() bytes");
  assert.equal(elf.get(".retained")?.addr, RETAINED_ORIGIN, "past the 64 KiB of working RAM");
  t.diagnostic(`image: flash ${flash} B, static RAM ${data + bss} B of nodemcu-v3's ${budget} B, ${data + bss + deepest} B with the stack; retained ${retained} B`);
});

test("a system reset keeps the readings queued while the bridge had no network: restored from the retained RAM, then delivered", async (t) => {
  t.after(stopChildren);
  const started = Date.now();
  const qemu = findExecutable("qemu-system-arm", ["/usr/bin"], "apt-get install qemu-system-arm");
  const out = path.join(scratch, "reset");
  const image = buildImage(out, ["--interval", "1"]);
  const subscriber = await openMqttJs(t, broker.url);
  const received = collectMqttJs(subscriber);
  await subscriber.subscribeAsync(`devices/${DEVICE_ID}/telemetry`, { qos: 1 });

  const bridge = startChild(process.execPath, [
    path.join(ROOT, "boards", "native", "mps2-an386", "bridge.mjs"), "--broker", `127.0.0.1:${broker.port}`, "--down",
  ]);
  await until("the bridge to listen", () => /listening \d+\n/.test(bridge.output()));
  const port = /listening (\d+)/.exec(bridge.output())?.[1];
  const monitorPath = path.join(out, "monitor.sock");
  const device = startChild(qemu, [
    "-M", "mps2-an386", "-display", "none", "-monitor", `unix:${monitorPath},server=on,wait=off`,
    "-chardev", `socket,id=mqtt,host=127.0.0.1,port=${port},nodelay=on`, "-serial", "chardev:mqtt", "-serial", "stdio",
    "-kernel", image,
  ]);
  await until("the cold boot to find nothing saved", () => device.output().includes("nothing saved\n"));
  // a reading at boot and one a second: wait for three readings' saves besides configure's
  await until("four saves", () => [...device.output().matchAll(/^saved \d+$/gm)].length >= 4);
  const firstBoot = device.output();
  assert.ok(!firstBoot.includes("connected\n"), "the bridge had no network: never connected");

  const monitor = net.connect(monitorPath);
  await new Promise<void>((resolve, reject) => monitor.once("connect", resolve).once("error", reject));
  monitor.write("system_reset\n");
  await until("the second boot to restore", () => /^restored \d+ outbox [1-9]\d*$/m.test(device.output().slice(firstBoot.length)));
  monitor.destroy();
  const secondBoot = device.output().slice(firstBoot.length);
  assert.match(secondBoot, /wasmqtt telemetry on mps2-an386\n/, "the image booted again");
  const restoredSequence = Number(/^restored (\d+)/m.exec(secondBoot)?.[1]);
  const savedBefore = [...firstBoot.matchAll(/^saved (\d+)$/gm)].map((match) => Number(match[1]));
  assert.equal(restoredSequence, Math.max(...savedBefore), "the last save before the reset came back");

  bridge.child.kill("SIGUSR2"); // the network is back
  await until("the console to say connected", () => device.output().includes("connected\n"));
  const sequence = () => received.map((m) => (JSON.parse(m.payload.toString()) as { seq: number }).seq);
  // the readings of the first boot (seq 1, 2, …) go first, then the second boot's own: the
  // firmware's state came back with the session (the block's application area), so seq goes on
  const firstBootReadings = savedBefore.length - 1; // configure's save, then one per reading
  await until("the restored readings and new ones", () => sequence().length >= firstBootReadings + 2);
  assert.ok(firstBootReadings >= 3, `at least three readings queued before the reset: ${savedBefore.join(",")}`);
  assert.deepEqual(sequence(), Array.from({ length: sequence().length }, (_, i) => i + 1), "the first boot's readings, then the second's, none lost or repeated");
  t.diagnostic(`${firstBootReadings} readings queued before the reset delivered after it; ${Date.now() - started} ms in all`);
});
