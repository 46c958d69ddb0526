/**
 * `wasmqtt sim`: the board simulator on the command line. N devices of one board run the
 * telemetry firmware on virtual time and publish to an embedded broker (aedes, also on a
 * TCP port so `mosquitto_sub -t 'devices/#' -v` can watch) or to a real one (`--broker`),
 * shown live in the terminal. Ctrl-C shuts every device down cleanly (DISCONNECT).
 *
 * @example
 * wasmqtt sim --board esp32-c3 --devices 3 --speed 600
 * wasmqtt sim --broker mqtt://127.0.0.1:1883 --interval 5 --deadband-temp 0.5
 * wasmqtt sim --speed max --duration 86400 --seed 7 | tail
 */
import { connect as connectSocket } from "node:net";
import { parseArgs } from "node:util";
import { type Board, BoardError, listBoards, loadBoard } from "../boards.ts";
import { type SimBroker, parseBrokerUrl, remoteBroker, startEmbeddedBroker } from "../sim/broker.ts";
import { type Dashboard, startDashboard } from "../sim/dashboard.ts";
import { DEFAULT_INTERVAL_SEC, DEFAULT_KEEPALIVE_SEC } from "../sim/device.ts";
import { Simulator } from "../sim/simulator.ts";
import { SimView, type ViewOutput } from "../sim/view.ts";
import { EXIT_ERROR, EXIT_OK, describeError } from "./exit.ts";

/** `wasmqtt sim --help`. */
export const SIM_HELP = `wasmqtt sim: simulated boards running the telemetry firmware, publishing to
devices/<id>/telemetry and devices/<id>/status, taking commands on devices/<id>/cmd.

Usage: wasmqtt sim [--board NAME] [--devices N] [--speed X|max] [--duration SEC] [options]

     --board NAME            board file to simulate (default nodemcu-v3; see boards/)
     --devices N             number of devices, ids NAME-1 … NAME-N (default 1)
     --speed X|max           virtual seconds per real second (default 60); max = as
                             fast as possible (embedded broker only)
     --duration SEC          stop after SEC seconds of virtual time (default: Ctrl-C)
     --interval SEC          seconds between readings (default ${DEFAULT_INTERVAL_SEC})
     --deadband-temp C       publish only when the temperature moved C °C … (default 0)
     --deadband-moisture P   … or the moisture P percentage points (default 0: every reading)
     --keepalive SEC         MQTT keepalive of each device (default ${DEFAULT_KEEPALIVE_SEC})
     --broker URL            publish to this broker (mqtt://host:port) instead of the
                             embedded one
     --port N                TCP port of the embedded broker (default 1883, or a free
                             one when 1883 is taken; 0 = a free one)
     --seed N                seed of every random stream (default 1): same seed, same run
     --no-web                do not serve the web dashboard (served on 127.0.0.1 with
                             the embedded broker: the boards' readings, relay and LED
                             buttons, in a page running wasmqtt over WebSockets)
     --help                  this text

Watch the devices:  mosquitto_sub -p PORT -t 'devices/#' -v
Switch a relay:     mosquitto_pub -p PORT -t devices/nodemcu-v3-1/cmd -m '{"relay":true}'`;

const SIM_OPTIONS = {
  help: { type: "boolean" },
  board: { type: "string" },
  devices: { type: "string" },
  speed: { type: "string" },
  duration: { type: "string" },
  interval: { type: "string" },
  "deadband-temp": { type: "string" },
  "deadband-moisture": { type: "string" },
  keepalive: { type: "string" },
  broker: { type: "string" },
  port: { type: "string" },
  seed: { type: "string" },
  "no-web": { type: "boolean" },
} as const;

/** Where `runSim` writes; the process's streams by default. */
export interface SimIo {
  stdout: ViewOutput;
  stderr: { write(text: string): unknown };
}

/** The command line, checked. */
interface SimSettings {
  board: Board;
  devices: number;
  speed: number;
  durationMs: number | undefined;
  intervalSec: number;
  deadbandC: number;
  deadbandPercent: number;
  keepaliveSec: number;
  brokerUrl: string | undefined;
  port: number | undefined;
  seed: number;
  /** Serve the dashboard (embedded broker only). */
  web: boolean;
}

/** A mistake on the command line. */
class SimUsageError extends Error {}

const DEFAULT_BOARD = "nodemcu-v3";
const DEFAULT_PORT = 1883;
const DEFAULT_SPEED = 60;
/** How long the reachability check of `--broker` may take. */
const BROKER_CHECK_MS = 3000;

/**
 * Runs `wasmqtt sim`.
 *
 * @param argv the arguments after "sim"
 * @param io where to write (default: process.stdout / process.stderr)
 * @returns 0 after a clean end (duration reached or Ctrl-C), 1 for a usage error (printed
 *   with a pointer to --help) or a failure (broker unreachable, port taken, no build)
 */
export async function runSim(argv: string[], io: SimIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let settings: SimSettings | undefined;
  try {
    settings = parseSimArgs(argv);
  } catch (error) {
    if (!(error instanceof SimUsageError) && !(error instanceof BoardError)) throw error;
    io.stderr.write(`Error: ${error.message}\n\nUse 'wasmqtt sim --help' to see usage.\n`);
    return EXIT_ERROR;
  }
  if (settings === undefined) {
    io.stdout.write(`${SIM_HELP}\n`);
    return EXIT_OK;
  }
  let broker: SimBroker | undefined;
  let sim: Simulator | undefined;
  let dashboard: Dashboard | undefined;
  try {
    broker = await openBroker(settings);
    if (settings.web && broker.wsUrl !== undefined) dashboard = await startDashboard({ wsUrl: broker.wsUrl });
    sim = await Simulator.create({
      board: settings.board,
      broker,
      devices: settings.devices,
      speed: settings.speed,
      durationMs: settings.durationMs,
      seed: settings.seed,
      intervalSec: settings.intervalSec,
      deadbandC: settings.deadbandC,
      deadbandPercent: settings.deadbandPercent,
      keepaliveSec: settings.keepaliveSec,
    });
    await simulate(sim, broker, settings, io, dashboard);
    return EXIT_OK;
  } catch (error) {
    io.stderr.write(`Error: ${describeError(error)}\n`);
    return EXIT_ERROR;
  } finally {
    await sim?.close();
    await dashboard?.close();
    await broker?.close();
  }
}

/** Runs until the duration or a signal, with the view on; the devices are still up on return. */
async function simulate(sim: Simulator, broker: SimBroker, settings: SimSettings, io: SimIo, dashboard: Dashboard | undefined): Promise<void> {
  const port = new URL(broker.url).port;
  const watch = `watch: mosquitto_sub -h ${new URL(broker.url).hostname} -p ${port} -t 'devices/#' -v`;
  const where = broker.kind === "embedded" ? `broker: embedded (aedes) on ${broker.url}` : `broker: ${broker.url}`;
  const extra = [
    ...(broker.wsUrl === undefined ? [] : [`websocket: ${broker.wsUrl}`]),
    ...(dashboard === undefined ? [] : [`dashboard: ${dashboard.url}`]),
  ];
  const view = new SimView(sim, { out: io.stdout, header: [`${where}   ${watch}`, ...extra], footer: ["Ctrl-C to stop"], plainEverySec: plainEvery(settings) });
  if (!view.tty) io.stdout.write([where, watch, ...extra].map((line) => `${line}\n`).join(""));
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals > 1) process.exit(130); // a second Ctrl-C: give up on the clean shutdown
    sim.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  view.start();
  try {
    await sim.run();
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    view.stop();
  }
}

/** Plain lines every interval, at least every 10 virtual s and at most every virtual hour. */
function plainEvery(settings: SimSettings): number {
  return Math.min(3600, Math.max(10, settings.intervalSec * 6));
}

/** The embedded broker (on --port, or 1883 falling back to a free port), or --broker after checking it answers. */
async function openBroker(settings: SimSettings): Promise<SimBroker> {
  if (settings.brokerUrl !== undefined) {
    await checkReachable(settings.brokerUrl);
    return remoteBroker(settings.brokerUrl);
  }
  if (settings.port !== undefined) return startEmbeddedBroker({ port: settings.port });
  try {
    return await startEmbeddedBroker({ port: DEFAULT_PORT });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    return startEmbeddedBroker({ port: 0 });
  }
}

/** Resolves once a TCP connection to the broker opens; rejects with a readable error otherwise. */
function checkReachable(url: string): Promise<void> {
  const { host, port } = parseBrokerUrl(url);
  return new Promise((resolve, reject) => {
    const socket = connectSocket({ host, port });
    const fail = (why: string): void => {
      socket.destroy();
      reject(new Error(`cannot reach the broker at ${url}: ${why}`));
    };
    socket.setTimeout(BROKER_CHECK_MS, () => fail(`no answer within ${BROKER_CHECK_MS} ms`));
    socket.once("error", (error) => fail(error.message));
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
  });
}

/** Parses and checks the flags; undefined for --help. Throws SimUsageError or BoardError. */
function parseSimArgs(argv: string[]): SimSettings | undefined {
  let values: { [K in keyof typeof SIM_OPTIONS]?: (typeof SIM_OPTIONS)[K]["type"] extends "boolean" ? boolean : string };
  try {
    values = parseArgs({ args: argv, options: SIM_OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new SimUsageError((error as Error).message);
  }
  if (values.help === true) return undefined;
  const boardName = values.board ?? DEFAULT_BOARD;
  if (!listBoards().includes(boardName) && !boardName.includes("/") && !boardName.endsWith(".json")) {
    throw new SimUsageError(`unknown board '${boardName}' (known boards: ${listBoards().join(", ")})`);
  }
  const brokerUrl = values.broker;
  if (brokerUrl !== undefined) {
    try {
      parseBrokerUrl(brokerUrl);
    } catch (error) {
      throw new SimUsageError(`--broker: ${(error as Error).message}`);
    }
  }
  const speed = values.speed === undefined ? DEFAULT_SPEED : values.speed === "max" ? Infinity : number(values.speed, "--speed", { min: 0, exclusiveMin: true });
  if (speed === Infinity && brokerUrl !== undefined) {
    throw new SimUsageError("--speed max needs the embedded broker: a real broker keeps real time, so the devices' timeouts would expire at once");
  }
  if (brokerUrl !== undefined && values.port !== undefined) throw new SimUsageError("--port is the embedded broker's; it cannot go with --broker");
  const duration = values.duration === undefined ? undefined : number(values.duration, "--duration", { min: 0, exclusiveMin: true });
  return {
    board: loadBoard(boardName),
    devices: number(values.devices ?? "1", "--devices", { min: 1, max: 1000, integer: true }),
    speed,
    durationMs: duration === undefined ? undefined : duration * 1000,
    intervalSec: number(values.interval ?? String(DEFAULT_INTERVAL_SEC), "--interval", { min: 1, max: 86_400, integer: true }),
    deadbandC: number(values["deadband-temp"] ?? "0", "--deadband-temp", { min: 0, max: 100 }),
    deadbandPercent: number(values["deadband-moisture"] ?? "0", "--deadband-moisture", { min: 0, max: 100, integer: true }),
    keepaliveSec: number(values.keepalive ?? String(DEFAULT_KEEPALIVE_SEC), "--keepalive", { min: 0, max: 65_535, integer: true }),
    brokerUrl,
    port: values.port === undefined ? undefined : number(values.port, "--port", { min: 0, max: 65_535, integer: true }),
    seed: number(values.seed ?? "1", "--seed", { min: 0, max: 2 ** 32 - 1, integer: true }),
    web: values["no-web"] !== true,
  };
}

/** A number flag within bounds; SimUsageError naming the flag otherwise. */
function number(text: string, flag: string, rule: { min: number; max?: number; integer?: boolean; exclusiveMin?: boolean }): number {
  const value = Number(text);
  const max = rule.max ?? Infinity;
  const tooLow = rule.exclusiveMin === true ? value <= rule.min : value < rule.min;
  if (text.trim() === "" || !Number.isFinite(value) || tooLow || value > max || (rule.integer === true && !Number.isInteger(value))) {
    const kind = rule.integer === true ? "a whole number" : "a number";
    const range = max === Infinity ? `${rule.exclusiveMin === true ? ">" : "≥"} ${rule.min}` : `from ${rule.min} to ${max}`;
    throw new SimUsageError(`${flag} must be ${kind} ${range} (got '${text}')`);
  }
  return value;
}
