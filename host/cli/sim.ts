/**
 * `wasmqtt sim`: the board simulator on the command line. N devices of one board run the
 * telemetry firmware on virtual time and publish to an embedded broker (aedes, also on a
 * TCP port so `mosquitto_sub -t 'devices/#' -v` can watch) or to a real one (`--broker`),
 * shown live in the terminal. Ctrl-C shuts every device down cleanly (DISCONNECT).
 * `--faults PROFILE|FILE.json` injects the soak's faults while it runs, and on a terminal
 * the keys d (drop every device's network) and b (restart the embedded broker) do it on
 * demand; without them the run is fault-free. `--sleep` has the devices deep-sleep between
 * readings and shows their wakes and energy.
 *
 * @example
 * wasmqtt sim --faults light --devices 3 --speed 600
 * wasmqtt sim --board esp32-c3 --devices 3 --speed 600
 * wasmqtt sim --broker mqtt://127.0.0.1:1883 --interval 5 --deadband-temp 0.5
 * wasmqtt sim --broker mqtt://127.0.0.1:1883 --broker-ws ws://127.0.0.1:9001   # the dashboard on that broker
 * wasmqtt sim --speed max --duration 86400 --seed 7 | tail
 * wasmqtt sim --sleep --interval 300 --speed max --duration 86400 | tail -1
 */
import { connect as connectSocket } from "node:net";
import type { Duplex } from "node:stream";
import { parseArgs } from "node:util";
import { type Board, BoardError, listBoards, loadBoard } from "../boards.ts";
import { type SimBroker, parseBrokerUrl, remoteBroker, startEmbeddedBroker } from "../sim/broker.ts";
import { type Dashboard, startDashboard } from "../sim/dashboard.ts";
import { describeEnergyModel } from "../sim/energy.ts";
import { DEFAULT_INTERVAL_SEC, DEFAULT_KEEPALIVE_SEC, DEFAULT_SLEEP_INTERVAL_SEC, MIN_SLEEP_INTERVAL_SEC } from "../sim/device.ts";
import type { VirtualClock } from "../sim/clock.ts";
import { Random } from "../sim/random.ts";
import { Simulator, type SimulatorOptions } from "../sim/simulator.ts";
import { type FaultSpec, FaultSpecError, POWER_KINDS, parseFaultSpec, planFaults } from "../soak/faults.ts";
import type { RestartableBroker } from "../soak/injector.ts";
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
     --interval SEC          seconds between readings (default ${DEFAULT_INTERVAL_SEC}; ${DEFAULT_SLEEP_INTERVAL_SEC} with --sleep)
     --sleep                 deep sleep between readings: each wake connects, publishes,
                             waits for the acks, DISCONNECTs and sleeps (interval at
                             least ${MIN_SLEEP_INTERVAL_SEC} s); shows wakes and the energy a day
     --deadband-temp C       publish only when the temperature moved C °C … (default 0)
     --deadband-moisture P   … or the moisture P percentage points (default 0: every reading)
     --keepalive SEC         MQTT keepalive of each device (default ${DEFAULT_KEEPALIVE_SEC})
     --broker URL            publish to this broker (mqtt://host:port) instead of the
                             embedded one
     --broker-ws URL         that broker's WebSocket listener (ws://host:port[/path],
                             path /mqtt by default): the dashboard connects there
     --port N                TCP port of the embedded broker (default 1883, or a free
                             one when 1883 is taken; 0 = a free one)
     --seed N                seed of every random stream (default 1): same seed, same run
     --faults SPEC           inject the soak's faults while it runs: light | default |
                             harsh | FILE.json | PROFILE,FILE.json (see wasmqtt soak
                             --help; default: none). With --broker, no broker restarts
     --no-web                do not serve the web dashboard (served on 127.0.0.1 with
                             the embedded broker, or --broker with --broker-ws: charts
                             of the boards' readings, relay and LED buttons, in a page
                             running wasmqtt over WebSockets)
     --help                  this text

Keys (on a terminal): d drops every device's network, b restarts the embedded broker
(down 2 s; it keeps nothing: sessions and retained messages start afresh). Watch the
devices reconnect, their outboxes fill and drain, and (with mosquitto_sub) the retained
devices/<id>/status go offline (the will) and online again.

Watch the devices:  mosquitto_sub -p PORT -t 'devices/#' -v
Switch a relay:     mosquitto_pub -p PORT -t devices/nodemcu-v3-1/cmd -m '{"relay":true}'`;

const SIM_OPTIONS = {
  help: { type: "boolean" },
  board: { type: "string" },
  devices: { type: "string" },
  speed: { type: "string" },
  duration: { type: "string" },
  interval: { type: "string" },
  sleep: { type: "boolean" },
  "deadband-temp": { type: "string" },
  "deadband-moisture": { type: "string" },
  keepalive: { type: "string" },
  broker: { type: "string" },
  "broker-ws": { type: "string" },
  port: { type: "string" },
  seed: { type: "string" },
  faults: { type: "string" },
  "no-web": { type: "boolean" },
} as const;

/** Where `runSim` writes; the process's streams by default. */
export interface SimIo {
  stdout: ViewOutput;
  stderr: { write(text: string): unknown };
  /** Where the keys come from (default: process.stdin when both it and stdout are terminals). */
  stdin?: KeyInput;
}

/** A terminal's input, read key by key. */
export interface KeyInput {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  on(event: "data", listener: (data: Buffer | string) => void): unknown;
  off(event: "data", listener: (data: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** The command line, checked. */
interface SimSettings {
  board: Board;
  devices: number;
  speed: number;
  durationMs: number | undefined;
  intervalSec: number;
  sleep: boolean;
  deadbandC: number;
  deadbandPercent: number;
  keepaliveSec: number;
  brokerUrl: string | undefined;
  /** `--broker-ws`: the WebSocket listener of `brokerUrl`'s broker, for the dashboard. */
  brokerWsUrl: string | undefined;
  port: number | undefined;
  seed: number;
  faults: FaultSpec | undefined;
  /** Serve the dashboard (the embedded broker, or `--broker` with `--broker-ws`). */
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
    if (!(error instanceof SimUsageError) && !(error instanceof BoardError) && !(error instanceof FaultSpecError)) throw error;
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
    const opened = await openBroker(settings);
    broker = opened.port !== undefined ? new RestartableEmbeddedBroker({ ...opened, port: opened.port }) : opened;
    const wsUrl = settings.brokerWsUrl ?? broker.wsUrl;
    if (settings.web && wsUrl !== undefined) dashboard = await startDashboard({ wsUrl, devices: () => sim?.snapshot().devices ?? [] });
    sim = await Simulator.create({
      board: settings.board,
      broker,
      devices: settings.devices,
      speed: settings.speed,
      durationMs: settings.durationMs,
      seed: settings.seed,
      intervalSec: settings.intervalSec,
      sleep: settings.sleep,
      deadbandC: settings.deadbandC,
      deadbandPercent: settings.deadbandPercent,
      keepaliveSec: settings.keepaliveSec,
      faults: faultsOf(settings, broker),
    });
    if (broker instanceof RestartableEmbeddedBroker) broker.downtimeOn(sim.clock);
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
  const stdin = io.stdin ?? (process.stdin.isTTY === true && io.stdout.isTTY === true ? process.stdin : undefined);
  const keys = stdin?.isTTY === true && stdin.setRawMode !== undefined;
  const restartable = broker instanceof RestartableEmbeddedBroker;
  const footer = keys ? `d: drop the network${restartable ? "   b: restart the broker" : ""}   Ctrl-C: stop` : "Ctrl-C to stop";
  const wsUrl = settings.brokerWsUrl ?? broker.wsUrl;
  const extra = [
    ...(wsUrl === undefined ? [] : [`websocket: ${wsUrl}`]),
    ...(dashboard === undefined ? [] : [`dashboard: ${dashboard.url}`]),
    ...(settings.web && wsUrl === undefined ? ["dashboard: off (--broker-ws ws://host:port names the broker's WebSocket listener)"] : []),
    ...(settings.sleep ? [`deep sleep between readings; ${describeEnergyModel()}`] : []),
  ];
  const view = new SimView(sim, { out: io.stdout, header: [`${where}   ${watch}`, ...extra], footer: [footer], plainEverySec: plainEvery(settings) });
  if (!view.tty) io.stdout.write([where, watch, ...extra].map((line) => `${line}\n`).join(""));
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals > 1) process.exit(130); // a second Ctrl-C: give up on the clean shutdown
    sim.stop();
  };
  // raw mode turns Ctrl-C into a key: it stops the run as the signal would
  const onKey = (data: Buffer | string): void => {
    for (const key of String(data)) {
      if (key === "d") sim.dropNetwork();
      else if (key === "b") sim.restartBroker();
      else if (key === "\u0003") onSignal();
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  if (keys) {
    stdin.setRawMode?.(true);
    stdin.on("data", onKey);
    stdin.resume();
  }
  view.start();
  try {
    await sim.run();
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (keys) {
      stdin.off("data", onKey);
      stdin.setRawMode?.(false);
      stdin.pause();
    }
    view.stop();
  }
}

/** Virtual time a plan is drawn for when the run has no --duration. */
const OPEN_PLAN_MS = 30 * 86_400_000;

/** A --faults spec without the soak's power faults, which act on a soak device's storage (host/soak/power.ts). Throws FaultSpecError naming them. */
function simulatorFaults(spec: FaultSpec): FaultSpec {
  const power = [...spec.added, ...spec.steps.map((step) => step.kind).filter((kind) => (POWER_KINDS as readonly string[]).includes(kind))];
  if (power.length > 0) throw new FaultSpecError(`--faults: ${[...new Set(power)].join(", ")} is the soak's (wasmqtt soak --faults …,${power[0]}); the simulator has no power faults`);
  return spec;
}

/** The simulator's faults: the plan of --faults over the run (30 days when open-ended); restarts only of the embedded broker. */
function faultsOf(settings: SimSettings, broker: SimBroker): SimulatorOptions["faults"] {
  const restartable = broker instanceof RestartableEmbeddedBroker ? broker : undefined;
  if (settings.faults === undefined) return restartable === undefined ? undefined : { plan: [], broker: restartable };
  const deviceIds = Array.from({ length: settings.devices }, (_, i) => `${settings.board.name}-${i + 1}`);
  const plan = planFaults({
    spec: settings.faults, deviceIds, durationMs: settings.durationMs ?? OPEN_PLAN_MS, random: new Random(settings.seed).fork("faults"),
    warmupMs: SIM_FAULT_WARMUP_MS, broker: restartable === undefined ? "external" : "aedes",
  });
  // the embedded broker keeps nothing over a restart: every restart loses the sessions
  return { profile: settings.faults.profile, plan: plan.map((step) => (step.kind === "restart" ? { ...step, keepSessions: false } : step)), broker: restartable };
}

/** No drawn fault starts in the first virtual minute: the devices connect first. */
const SIM_FAULT_WARMUP_MS = 60_000;

/**
 * The embedded broker, restartable (`--faults`, key b): a restart closes aedes (every
 * connection dropped) and starts a fresh one on the same port after the downtime, in
 * virtual time once {@link RestartableEmbeddedBroker.downtimeOn} named the clock;
 * connections made meanwhile are reset.
 */
class RestartableEmbeddedBroker implements SimBroker, RestartableBroker {
  readonly kind = "embedded";
  readonly url: string;
  readonly wsUrl: string | undefined;
  private current: (SimBroker & { port: number }) | undefined;
  private restarting: Promise<void> = Promise.resolve();
  private clock: VirtualClock | undefined;

  private readonly port: number;
  private readonly wsPort: number | undefined;

  constructor(broker: SimBroker & { port: number; wsPort?: number }) {
    this.current = broker;
    this.url = broker.url;
    this.wsUrl = broker.wsUrl;
    this.port = broker.port;
    this.wsPort = broker.wsPort;
  }

  accept(connection: Duplex): void {
    if (this.current === undefined) connection.destroy();
    else this.current.accept(connection);
  }

  /** Downtimes are virtual ms of this clock from now on. */
  downtimeOn(clock: VirtualClock): void {
    this.clock = clock;
  }

  /** Closes aedes now and starts a fresh one on the same ports after `downtimeMs` (sessions are never kept). */
  restart(options: { keepSessions: boolean; downtimeMs?: number }): void {
    const stopping = this.current;
    this.current = undefined;
    const downtime = new Promise<void>((resolve) => {
      if (this.clock === undefined) setTimeout(resolve, options.downtimeMs ?? 0);
      else this.clock.after(options.downtimeMs ?? 0, resolve);
    });
    this.restarting = this.restarting.then(async () => {
      await stopping?.close();
      await downtime;
      this.current ??= await startEmbeddedBroker({ port: this.port, wsPort: this.wsPort });
    });
  }

  async close(): Promise<void> {
    await this.restarting;
    await this.current?.close();
    this.current = undefined;
  }
}

/** Plain lines every interval, at least every 10 virtual s and at most every virtual hour. */
function plainEvery(settings: SimSettings): number {
  return Math.min(3600, Math.max(10, settings.intervalSec * 6));
}

/** The embedded broker (on --port, or 1883 falling back to a free port), or --broker after checking it answers. */
async function openBroker(settings: SimSettings): Promise<SimBroker & { port?: number; wsPort?: number }> {
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
  const brokerWsUrl = values["broker-ws"] === undefined ? undefined : webSocketUrl(values["broker-ws"], brokerUrl);
  const duration = values.duration === undefined ? undefined : number(values.duration, "--duration", { min: 0, exclusiveMin: true });
  const sleep = values.sleep === true;
  const intervalText = values.interval ?? String(sleep ? DEFAULT_SLEEP_INTERVAL_SEC : DEFAULT_INTERVAL_SEC);
  const intervalSec = number(intervalText, "--interval", { min: 1, max: 86_400, integer: true });
  if (sleep && intervalSec < MIN_SLEEP_INTERVAL_SEC) {
    throw new SimUsageError(`--sleep needs an --interval of at least ${MIN_SLEEP_INTERVAL_SEC} s (got '${intervalText}'): a wake may stay up 10 s, and the sleep must outlast it`);
  }
  return {
    board: loadBoard(boardName),
    devices: number(values.devices ?? "1", "--devices", { min: 1, max: 1000, integer: true }),
    speed,
    durationMs: duration === undefined ? undefined : duration * 1000,
    intervalSec,
    sleep,
    deadbandC: number(values["deadband-temp"] ?? "0", "--deadband-temp", { min: 0, max: 100 }),
    deadbandPercent: number(values["deadband-moisture"] ?? "0", "--deadband-moisture", { min: 0, max: 100, integer: true }),
    keepaliveSec: number(values.keepalive ?? String(DEFAULT_KEEPALIVE_SEC), "--keepalive", { min: 0, max: 65_535, integer: true }),
    brokerUrl,
    brokerWsUrl,
    port: values.port === undefined ? undefined : number(values.port, "--port", { min: 0, max: 65_535, integer: true }),
    seed: number(values.seed ?? "1", "--seed", { min: 0, max: 2 ** 32 - 1, integer: true }),
    faults: values.faults === undefined ? undefined : simulatorFaults(parseFaultSpec(values.faults)),
    web: values["no-web"] !== true,
  };
}

/** `--broker-ws`, checked: a ws:// or wss:// URL, only with --broker (the embedded broker has its own listener). */
function webSocketUrl(text: string, brokerUrl: string | undefined): string {
  if (brokerUrl === undefined) throw new SimUsageError(`--broker-ws names the WebSocket listener of --broker's broker; it needs --broker (got '${text}' alone)`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SimUsageError(`--broker-ws must be a ws://host:port URL (got '${text}')`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new SimUsageError(`--broker-ws must be a ws:// or wss:// URL (got '${text}')`);
  return text;
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
