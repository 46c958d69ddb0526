/**
 * The board simulator end to end: simulated devices running the telemetry firmware
 * publish to a real Mosquitto (through each device's simulated network piped to TCP) and
 * to the embedded aedes broker; commands from mosquitto_pub switch GPIOs; the will marks a
 * vanished device offline; a deadband cuts the message count; readings queued through an
 * outage arrive in order. Plus the sensor chain on every board, the view and the CLI.
 * Mosquitto keeps real time, so those tests run at speed 1–20; the aedes path at max speed.
 * Reads build/ (`npm test` builds first).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import mqtt from "mqtt";
import { type Board, listBoards, loadBoard, rawFromMillivolts } from "../../host/boards.ts";
import { runSim } from "../../host/cli/sim.ts";
import { type Broker, startMosquitto } from "../../host/mosquitto.ts";
import { tmp36Millivolts } from "../../host/sim/adc.ts";
import { type SimBroker, remoteBroker, startEmbeddedBroker } from "../../host/sim/broker.ts";
import { VirtualClock } from "../../host/sim/clock.ts";
import { SimDevice } from "../../host/sim/device.ts";
import { Random } from "../../host/sim/random.ts";
import { Simulator, type SimulatorOptions } from "../../host/sim/simulator.ts";
import { SimView, formatPlainLine, formatTable } from "../../host/sim/view.ts";
import { mosquittoPub, mosquittoSub, mosquittoSubStart } from "./support/mosquitto-clients.ts";
import { type Packet, PacketSplitter, packet, pubcomp, pubrel } from "./support/mqtt-packets.ts";
import { type Reading } from "./support/telemetry.ts";


/** `topic payload` lines of `mosquitto_sub -v`. */
function split(lines: string[]): { topic: string; payload: string }[] {
  return lines.map((line) => {
    const space = line.indexOf(" ");
    return { topic: line.slice(0, space), payload: line.slice(space + 1) };
  });
}

/** The readings among `mosquitto_sub -v` lines for one device. */
function readingsOf(lines: string[], id: string): Reading[] {
  return split(lines)
    .filter((line) => line.topic === `devices/${id}/telemetry`)
    .map((line) => JSON.parse(line.payload) as Reading);
}

/** The seqs in the order they first arrived (a QoS 1 resend may repeat one). */
function firstSeen(readings: Reading[]): number[] {
  return [...new Set(readings.map((reading) => reading.seq))];
}

const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i + 1);

/** Polls `condition` every 20 ms of real time; fails with `what` after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A simulator of one nodemcu-v3 device (unless told otherwise) on `broker`, started at once. */
async function simulator(broker: Pick<SimBroker, "accept">, options: Partial<SimulatorOptions>): Promise<Simulator> {
  return Simulator.create({ board: loadBoard("nodemcu-v3"), broker, staggerMs: 0, ...options });
}

describe("simulated devices on Mosquitto", () => {
  let broker: Broker;
  before(async () => {
    broker = await startMosquitto({ websockets: false });
  });
  after(() => broker.stop());

  it("publish JSON readings to devices/<id>/telemetry and keep a retained online status", async () => {
    const sub = mosquittoSubStart(broker, ["-t", "devices/#", "-v"], { count: 5, timeoutMs: 10_000 });
    await sub.ready;
    const sim = await simulator(remoteBroker(broker.url), { idPrefix: "tele", speed: 10, intervalSec: 1 });
    const running = sim.run();
    try {
      const { lines } = await sub.done;
      assert.deepEqual(split(lines).filter((line) => line.topic.endsWith("/status")), [{ topic: "devices/tele-1/status", payload: "online" }]);
      const readings = readingsOf(lines, "tele-1");
      assert.deepEqual(readings.map((reading) => reading.seq), range(4));
      for (const reading of readings) {
        assert.deepEqual(Object.keys(reading), ["seq", "temperature_c", "moisture_pct", "relay", "led", "uptime_s"]);
        assert.ok(reading.temperature_c > 0 && reading.temperature_c < 40, `temperature ${reading.temperature_c}`);
        assert.ok(reading.moisture_pct >= 60 && reading.moisture_pct <= 75, `moisture ${reading.moisture_pct}`); // the soil starts at 70 %
        assert.deepEqual([reading.relay, reading.led], [false, false]);
      }
      const retained = await mosquittoSub(broker, ["-t", "devices/tele-1/status", "-v", "--retained-only"], { count: 1, timeoutMs: 3000 });
      assert.deepEqual(retained.lines, ["devices/tele-1/status online"]);
    } finally {
      sim.stop();
      await running;
      await sim.close();
    }
  });

  it("`wasmqtt sim --broker` without --broker-ws says the dashboard is off and how to turn it on", async () => {
    const out: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => out.push(text) } };
    assert.equal(await runSim(["--broker", broker.url, "--speed", "60", "--duration", "30", "--interval", "10"], io), 0, out.join(""));
    assert.match(out.join(""), /^dashboard: off \(--broker-ws ws:\/\/host:port names the broker's WebSocket listener\)$/m);
    assert.doesNotMatch(out.join(""), /^(websocket|dashboard): (ws|http):/m);
  });

  it("apply commands from mosquitto_pub: relay and LED pins switch, a reading follows", async () => {
    const subscribed = broker.waitForLog("Sending SUBACK to cmd-1", 10_000);
    const sim = await simulator(remoteBroker(broker.url), { idPrefix: "cmd", speed: 5, intervalSec: 3600 });
    const running = sim.run();
    try {
      await subscribed;
      const device = sim.devices[0];
      assert.deepEqual([device.pin(5), device.pin(2)], [0, 1], "relay off (active high), LED off (active low: pin high)");
      const sub = mosquittoSubStart(broker, ["-t", "devices/cmd-1/telemetry"], { count: 1, timeoutMs: 10_000 });
      await sub.ready;
      await mosquittoPub(broker, ["-t", "devices/cmd-1/cmd", "-q", "1", "-m", '{"relay":true,"led":true}']);
      const { lines } = await sub.done;
      const reading = JSON.parse(lines[0]) as Reading;
      assert.deepEqual([reading.seq, reading.relay, reading.led], [2, true, true]);
      assert.deepEqual([device.pin(5), device.pin(2)], [1, 0], "relay pin high, LED pin low");
      const snapshot = device.snapshot();
      assert.deepEqual([snapshot.relay, snapshot.led], [true, true]);
      assert.equal(device.appStats().commands, 1);
    } finally {
      sim.stop();
      await running;
      await sim.close();
    }
  });

  it("mark a device offline through its will when its network black-holes past 1.5 × keepalive", async () => {
    const sub = mosquittoSubStart(broker, ["-t", "devices/will-1/status"], { count: 3, timeoutMs: 20_000 });
    await sub.ready;
    const sim = await simulator(remoteBroker(broker.url), {
      idPrefix: "will", speed: 1, intervalSec: 3600, keepaliveSec: 2, reconnect: { minDelayMs: 500, maxDelayMs: 1000 },
    });
    const running = sim.run();
    try {
      const device = sim.devices[0];
      await until(() => device.snapshot().messagesAcknowledged >= 2, "the online status and first reading acknowledged");
      // 1.5 × 2 s is 3 s, but Mosquitto 2.0 checks keepalives only every few seconds (5–6 s seen): hold 9 s
      const timedOut = broker.waitForLog("Client will-1 has exceeded timeout", 9000);
      device.network.apply({ do: "outage", durationMs: 9000, mode: "blackhole" });
      await timedOut;
      const { lines } = await sub.done;
      assert.deepEqual(lines, ["online", "offline", "online"], "online, the will, online again after the outage");
      assert.ok(device.snapshot().reconnects >= 1);
      assert.ok(["KEEPALIVE_TIMEOUT", "CONNECTION_REFUSED"].includes(device.snapshot().lastLoss ?? ""), device.snapshot().lastLoss);
    } finally {
      sim.stop();
      await running;
      await sim.close();
    }
  });

  it("publish fewer readings with a deadband than without", async () => {
    const sub = mosquittoSubStart(broker, ["-t", "devices/+/telemetry", "-v"], { timeoutMs: 4000 });
    await sub.ready;
    const common = { speed: 20, intervalSec: 1, durationMs: 40_000 };
    const every = await simulator(remoteBroker(broker.url), { ...common, idPrefix: "every" });
    const banded = await simulator(remoteBroker(broker.url), { ...common, idPrefix: "banded", deadbandC: 0.5, deadbandPercent: 5 });
    await Promise.all([every.run(), banded.run()]);
    await Promise.all([every.close(), banded.close()]);
    const { lines } = await sub.done;
    const [all, few] = [readingsOf(lines, "every-1"), readingsOf(lines, "banded-1")];
    const [allStats, fewStats] = [every.devices[0].appStats(), banded.devices[0].appStats()];
    assert.ok(allStats.readings >= 39, `${allStats.readings} readings in 40 s`);
    assert.equal(all.length, allStats.readings, "without a deadband every reading is published");
    assert.equal(few.length, fewStats.published);
    assert.equal(fewStats.published + fewStats.suppressed, fewStats.readings);
    assert.ok(few.length >= 4 && few.length * 4 <= all.length, `${few.length} readings with the deadband, ${all.length} without`);
  });

  it("queue readings through a network outage and deliver them in order afterwards", async () => {
    const sub = mosquittoSubStart(broker, ["-t", "devices/outage-1/telemetry", "-v"], { timeoutMs: 5000 });
    await sub.ready;
    const sim = await simulator(remoteBroker(broker.url), {
      board: loadBoard("esp32-devkitc"), idPrefix: "outage", speed: 20, intervalSec: 1, durationMs: 45_000,
      reconnect: { minDelayMs: 500, maxDelayMs: 2000 }, networkScript: [{ at: 5000, do: "outage", durationMs: 20_000 }],
    });
    const device = sim.devices[0];
    let queuedMidOutage = 0;
    sim.clock.setTimer(24_000, () => (queuedMidOutage = device.snapshot().outbox.used));
    await sim.run();
    await sim.close();
    const { lines } = await sub.done;
    const stats = device.appStats();
    assert.ok(queuedMidOutage > 1000, `only ${queuedMidOutage} bytes queued 19 s into the outage`);
    assert.equal(stats.rejected, 0);
    assert.ok(stats.published >= 44, `${stats.published} readings published`);
    assert.deepEqual(firstSeen(readingsOf(lines, "outage-1")), range(stats.published), "a reading went missing or arrived out of order");
    assert.ok(device.snapshot().reconnects >= 1);
  });
});

describe("simulated devices on the embedded broker", () => {
  it("serve outside subscribers over TCP at max speed, and the will after a power loss", async () => {
    const broker = await startEmbeddedBroker({ port: 0 });
    const watcher = await mqtt.connectAsync(broker.url, { clientId: "watcher", reconnectPeriod: 0 });
    const messages: { topic: string; payload: string }[] = [];
    watcher.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
    await watcher.subscribeAsync("devices/#", { qos: 1 });
    const sim = await Simulator.create({ board: loadBoard("esp32-c3"), broker, devices: 2, speed: Infinity, intervalSec: 10, durationMs: 600_000 });
    try {
      await sim.run();
      // devices power on within the first second, then read every 10 s: 60 readings in 10 minutes
      const published = sim.devices.map((device) => device.appStats().published);
      assert.deepEqual(published, [60, 60]);
      const telemetry = (id: string) => messages.filter((m) => m.topic === `devices/${id}/telemetry`).map((m) => JSON.parse(m.payload) as Reading);
      await until(() => telemetry("esp32-c3-1").length >= 60 && telemetry("esp32-c3-2").length >= 60, "every reading at the watcher");
      for (const id of ["esp32-c3-1", "esp32-c3-2"]) assert.deepEqual(firstSeen(telemetry(id)), range(60), id);
      assert.ok(telemetry("esp32-c3-1").at(-1)!.uptime_s >= 589);
      const status = (id: string) => messages.filter((m) => m.topic === `devices/${id}/status`).map((m) => m.payload);
      assert.deepEqual([status("esp32-c3-1"), status("esp32-c3-2")], [["online"], ["online"]]);

      sim.devices[1].powerOff();
      await sim.run(sim.clock.now() + 1000);
      await until(() => status("esp32-c3-2").length === 2, "the will of the device that lost power");
      assert.deepEqual(status("esp32-c3-2"), ["online", "offline"]);
      assert.deepEqual(sim.snapshot().devices.map((device) => device.state), ["connected", "off"]);
    } finally {
      await sim.close();
      await watcher.endAsync();
      await broker.close();
    }
  });

  it("answers a PUBREL resent after a lost PUBCOMP with PUBCOMP, and keeps the connection (aedes#634, patched)", async () => {
    const broker = await startEmbeddedBroker({ port: 0 });
    const socket = net.connect(broker.port, "127.0.0.1");
    try {
      const splitter = new PacketSplitter();
      const received: Packet[] = [];
      socket.on("data", (chunk) => received.push(...splitter.push(chunk)));
      await once(socket, "connect");
      const clientId = [...Buffer.from("pubrel-resender")];
      // CONNECT (§3.1): MQTT 3.1.1, clean session, keepalive 60 s
      socket.write(packet(0x10, [0, 4, ...Buffer.from("MQTT"), 4, 0x02, 0, 60, 0, clientId.length, ...clientId]));
      // the broker never saw packet id 7: as after a PUBCOMP lost with the previous connection
      socket.write(pubrel(7));
      // and the connection still works: PINGREQ, PINGRESP
      socket.write(packet(0xc0));
      await until(() => received.length >= 3 || socket.destroyed, "CONNACK, PUBCOMP and PINGRESP");
      assert.deepEqual(received.map((p) => Buffer.from(p.bytes).toString("hex")), [
        "20020000",
        Buffer.from(pubcomp(7)).toString("hex"),
        "d000",
      ]);
    } finally {
      socket.destroy();
      await broker.close();
    }
  });

  it("replays a run exactly for the same seed", async () => {
    const run = async (seed: number) => {
      const broker = await startEmbeddedBroker({ port: 0 });
      const sim = await Simulator.create({ board: loadBoard("nodemcu-v3"), broker, devices: 2, speed: Infinity, seed, durationMs: 2 * 3_600_000 });
      const samples: string[] = [];
      for (let minute = 1; minute <= 120; minute += 7) {
        sim.clock.setTimer(minute * 60_000, () => samples.push(JSON.stringify(sim.snapshot().devices.map((d) => [d.temperatureC, d.moisturePercent, d.sequence]))));
      }
      await sim.run();
      await sim.close();
      await broker.close();
      return samples;
    };
    const first = await run(5);
    assert.deepEqual(await run(5), first);
    assert.notDeepEqual(await run(6), first);
  });
});

describe("the sensor chain on every board", () => {
  /** The board without ADC noise: the conversion alone is under test. */
  const quiet = (name: string): Board => {
    const board = loadBoard(name);
    return { ...board, adc: { ...board.adc, noiseLsb: 0 } };
  };

  for (const name of listBoards()) {
    it(`${name}: TMP36 at 750 mV (25 °C) reads 25.0 within one ADC step, through the firmware`, async () => {
      const board = quiet(name);
      const clock = new VirtualClock();
      const device = await SimDevice.create({
        id: "chain", board, clock, random: new Random(1), accept: () => {},
        air: { meanC: 25, amplitudeC: 0, noiseC: 0, weatherC: 0 },
        soil: { initialPercent: 40, halfLifeDays: 1e6, thresholdPercent: null },
      });
      assert.equal(tmp36Millivolts(25), 750);
      assert.equal(device.adc.read(0, device.inputs()), rawFromMillivolts(board, 0, 750), "AdcModel at 750 mV");
      device.start();
      clock.advanceTo(100);
      const snapshot = device.snapshot();
      const stepC = (board.adc.referenceMv * board.adc.dividerRatio) / (2 ** board.adc.bits - 1) / 10;
      assert.ok(Math.abs(snapshot.temperatureC! - 25) <= stepC, `${snapshot.temperatureC} °C, one step is ${stepC.toFixed(3)} °C`);
      assert.ok(Math.abs(snapshot.moisturePercent! - 40) <= 1, `${snapshot.moisturePercent} %`);
      assert.ok(snapshot.staticBytes <= board.ramBudgetBytes, `${snapshot.staticBytes} B over the ${board.ramBudgetBytes} B budget`);
      device.powerOff();
    });
  }
});

describe("the simulated world", () => {
  it("waters the soil at the scripted times, and the firmware reads it", async () => {
    const sim = await simulator({ accept: () => {} }, {
      speed: Infinity, intervalSec: 10, wateringsMs: [60_000],
      soil: { initialPercent: 30, thresholdPercent: null, wateredToPercent: 80, wateredSpreadPercent: 0 },
    });
    const device = sim.devices[0];
    await sim.run(55_000);
    assert.ok(Math.abs(device.snapshot().moisturePercent! - 30) <= 1, `${device.snapshot().moisturePercent} % before watering`);
    await sim.run(65_000);
    assert.ok(Math.abs(device.snapshot().moisturePercent! - 80) <= 1, `${device.snapshot().moisturePercent} % after watering`);
    assert.deepEqual(device.soil.events(65_000).map((event) => [event.atMs, event.cause]), [[60_000, "schedule"]]);
    await sim.close();
  });
});

describe("the view and the command line", () => {
  it("draws a table in place on a terminal and plain lines elsewhere", async () => {
    const sim = await simulator({ accept: () => {} }, { devices: 2, speed: Infinity }); // a broker that never answers
    await sim.run(30_000);
    const snapshot = sim.snapshot();
    const table = formatTable(snapshot);
    assert.match(table[0], /^device\s+board\s+state\s+temp °C\s+moist %\s+relay\s+led\s+pub\/ack\s+outbox B\s+reconn\s+RAM B$/);
    assert.match(table[1], /^nodemcu-v3-1\s+nodemcu-v3\s+(connecting|awaitingConnack)\s+\d+\.\d\d\s+\d+\s+off\s+off\s+\d+\/0\s+\d+\/3072\s+\d+\s+\d+\/12288$/);
    assert.match(formatPlainLine(snapshot.virtualMs, snapshot.devices[0]), /^\[day 0 00:00:30\] nodemcu-v3-1 board=nodemcu-v3 state=\w+ temp=\d+\.\d\dC moisture=\d+% relay=off led=off/);

    const written: string[] = [];
    const view = new SimView(sim, { out: { write: (text: string) => written.push(text), isTTY: true, columns: 80 }, footer: ["Ctrl-C to stop"] });
    view.start();
    view.stop();
    const frames = written.join("");
    assert.ok(frames.startsWith("\u001b[?25l") && frames.endsWith("\u001b[?25h"), "cursor hidden while drawing, shown after");
    assert.ok(frames.includes(`\u001b[${table.length + 2}F`), "the second frame moves up over the first");
    assert.ok(frames.split("\n").every((line) => line.replace(/\u001b\[[0-9;?]*[a-zA-Z]/g, "").length <= 79), "lines cut to the terminal width");
    await sim.close();
  });

  it("runs `wasmqtt sim` to its duration and refuses bad flags", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) } };
    assert.equal(await runSim(["--speed", "max", "--duration", "120", "--devices", "2", "--port", "0", "--interval", "5"], io), 0);
    const lines = out.join("").trimEnd().split("\n");
    assert.match(lines[0], /^broker: embedded \(aedes\) on mqtt:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(lines.some((line) => /^dashboard: http:\/\/127\.0\.0\.1:\d+\/$/.test(line)), lines.slice(0, 4).join("\n"));
    const last = lines.filter((line) => line.startsWith("[day 0 00:02:00]"));
    assert.equal(last.length, 2, lines.join("\n"));
    for (const line of last) assert.match(line, /state=connected .* published=25 acked=25 /); // online + 24 readings
    assert.deepEqual(err, []);

    const quiet: string[] = [];
    const noWeb = { stdout: { write: (text: string) => quiet.push(text) }, stderr: io.stderr };
    assert.equal(await runSim(["--speed", "max", "--duration", "10", "--port", "0", "--no-web"], noWeb), 0);
    assert.doesNotMatch(quiet.join(""), /dashboard:/, "--no-web serves no dashboard");
    assert.match(quiet.join(""), /^websocket: ws:\/\/127\.0\.0\.1:\d+\/mqtt$/m);

    assert.equal(await runSim(["--board", "esp8266"], io), 1);
    assert.match(err.join(""), /unknown board 'esp8266' \(known boards: esp32-c3, esp32-devkitc, nodemcu-v3\)/);
    assert.equal(await runSim(["--speed", "max", "--broker", "mqtt://127.0.0.1:1"], io), 1);
    assert.match(err.join(""), /--speed max needs the embedded broker/);
    assert.equal(await runSim(["--broker-ws", "ws://127.0.0.1:9001"], io), 1);
    assert.match(err.join(""), /--broker-ws names the WebSocket listener of --broker's broker; it needs --broker \(got 'ws:\/\/127\.0\.0\.1:9001' alone\)/);
    assert.equal(await runSim(["--broker", "mqtt://127.0.0.1:1", "--broker-ws", "http://127.0.0.1:9001"], io), 1);
    assert.match(err.join(""), /--broker-ws must be a ws:\/\/ or wss:\/\/ URL \(got 'http:\/\/127\.0\.0\.1:9001'\)/);
    assert.equal(await runSim(["--devices", "0"], io), 1);
    assert.match(err.join(""), /--devices must be a whole number from 1 to 1000 \(got '0'\)/);
    assert.equal(await runSim(["--help"], io), 0);
    assert.match(out.join(""), /Usage: wasmqtt sim/);
  });
});
