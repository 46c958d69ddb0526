/**
 * `wasmqtt soak`: weeks of device time in minutes. Simulated boards run the telemetry
 * firmware (each its own module instance) against a real broker (aedes on in-memory
 * streams, its timers on the virtual clock) with scripted, seeded faults, while every
 * invariant is checked; a progress line on stderr, a summary table on stdout, and with
 * `--report DIR` a report.json and a self-contained report.html. Exit status 0 only when
 * every invariant held.
 *
 * The soak replaces the process's timer and time globals while it runs (so aedes keeps
 * virtual time): it is meant to run in a process of its own, this command. `--real` runs
 * the same devices in real time against a real Mosquitto through fault proxies.
 *
 * The devices run in `--workers` child processes (default: one per core), each device
 * with a broker of its own, so the figures do not depend on the split; `--shard i/N`
 * runs one shard of the devices and writes its partial report, and `wasmqtt soak merge`
 * makes one report of the shards.
 *
 * @example
 * wasmqtt soak --days 30 --devices 3 --faults default --report reports/soak
 * wasmqtt soak --days 2 --faults none,extra.json --seed 7
 * wasmqtt soak --real --minutes 5 --report reports/soak-real
 * wasmqtt soak --days 30 --devices 3000 --shard 2/8 --report reports/shard-2
 * wasmqtt soak merge --report reports/soak reports/shard-*
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { type Board, BoardError, listBoards, loadBoard } from "../boards.ts";
import { parseBrokerUrl } from "../sim/broker.ts";
import { FAULT_KINDS, FaultSpecError, POWER_KINDS, PROFILE_NAMES, parseFaultSpec } from "../soak/faults.ts";
import { INVARIANTS } from "../soak/invariants.ts";
import { TREND_MIN_BYTES_PER_DEVICE, TREND_MIN_FRACTION, TREND_MIN_R2 } from "../soak/memory.ts";
import { MergeError, checkShards, finalize, mergePartials } from "../soak/partial.ts";
import { readPartial, writePartial, writeReport } from "../soak/report.ts";
import { REAL_DEFAULTS, REAL_TIMING, SOAK_DEFAULTS, type SoakOptions, VIRTUAL_TIMING, runIdentity, soakPart } from "../soak/soak.ts";
import { type Launch, WORKER_ENV, serveWorker } from "../soak/workers.ts";
import { formatSummary } from "../soak/summary.ts";
import { EXIT_ERROR, EXIT_OK, describeError } from "./exit.ts";

const DEFAULT_BOARD = "nodemcu-v3";
const DEFAULT_FAULTS = "default";
const MAX_DEVICES = 10_000;
const MAX_DAYS = 3650;
/** Exit status after Ctrl-C (128 + SIGINT), as a shell reports it. */
const EXIT_INTERRUPTED = 130;

/** `wasmqtt soak --help`. */
export const SOAK_HELP = `wasmqtt soak: simulated devices running the telemetry firmware against a real
MQTT broker (aedes, in process) in virtual time, with faults, checking invariants;
with --real, in real time against Mosquitto through fault-injecting proxies.

Usage: wasmqtt soak [--days N] [--devices N] [--faults PROFILE|FILE.json] [options]
       wasmqtt soak --real [--minutes N] [options]
       wasmqtt soak merge [--report OUT] DIR...

     --days N            virtual days of faults, decimals allowed (default ${SOAK_DEFAULTS.days});
                         a drain period without new faults follows
     --minutes N         the same in minutes, instead of --days (--real's default: ${REAL_DEFAULTS.minutes})
     --real              real time against a real Mosquitto (see below)
     --broker URL        with --real: the devices and the observer use your broker at
                         mqtt://host:port instead; the soak does not control it, so
                         faults come only from the fault proxies (no restarts)
     --protocol 4|5      the devices' and the observer's MQTT: 4 (3.1.1, the default) or 5
                         (5.0; needs --real: the embedded broker, aedes, speaks 3.1.1 only)
     --devices N         number of devices (default ${SOAK_DEFAULTS.devices}, at most ${MAX_DEVICES})
     --seed N            seed of everything random (default ${SOAK_DEFAULTS.seed}): same seed, same run
     --faults SPEC       ${PROFILE_NAMES.join(" | ")} | FILE.json | PROFILE,FILE.json,
                         plus ${POWER_KINDS.join(", ")} to draw them too (they are in no
                         profile): default,power-loss (default ${DEFAULT_FAULTS}; --real: ${REAL_DEFAULTS.faults})
     --persist           the devices keep their session in two slots of simulated flash,
                         saved at every change, restored after a power loss (without it,
                         a power loss loses what the RAM held: listed, not failed)
     --report DIR        write DIR/report.json and DIR/report.html
     --interval SEC      seconds between readings (default ${SOAK_DEFAULTS.intervalSec}, --real: ${REAL_DEFAULTS.intervalSec})
     --keepalive SEC     MQTT keepalive of each device (default ${SOAK_DEFAULTS.keepaliveSec}, --real: ${REAL_DEFAULTS.keepaliveSec})
     --qos LIST          telemetry QoS per device, round robin (default ${SOAK_DEFAULTS.qos.join(",")}: half
                         QoS 1, half QoS 2)
     --board LIST        board file(s), round robin (default ${DEFAULT_BOARD}; known:
                         ${listBoards().join(", ")})
     --u32-start MS      the firmware's millisecond counter at time 0 (default: 2^32 minus
                         a quarter of the run, at most an hour: it always wraps)
     --unpatched-aedes   run aedes without the soak's patches of its two QoS 2 bugs
                         (host/soak/broker.ts): the soak then catches them
     --workers N         child processes the devices run in (default: the machine's cores,
                         ${availableParallelism()} here; --real: 1); every device has a broker and an
                         observer of its own, so the figures do not depend on N
     --shard I/N         run only shard I of N (devices whose index mod N is I; I from 0)
                         and write DIR/partial.json (needs --report DIR)
     --pcap DIR          write each device's MQTT bytes both ways to DIR/<device id>.pcap,
                         TCP segments for Wireshark (client 10.0.0.2 and up, broker
                         10.0.0.1:1883; timestamps in virtual time)
     --quiet             no progress line
     --help              this text

wasmqtt soak merge [--report OUT] DIR...: one report.json and report.html (in OUT, default
the current directory) from the partial reports of every shard of one run; refuses
shards of different seeds, options or versions, and names a missing shard.

Fault kinds: ${FAULT_KINDS.filter((kind) => kind !== "lose").join(", ")}
(host/soak/faults.ts documents them and the JSON schedule format). QoS 0 readings are
counted, not checked. Readings a power loss took with the RAM — with --persist those
accepted after the last complete save, without it every one not yet delivered — are
excused by name and listed ("lost to power loss"); any other loss fails the run.
Invariants (a violation names the device and the virtual time, and fails the run):
${Object.entries(INVARIANTS).map(([name, text]) => `  ${name.padEnd(13)} ${text}`).join("\n")}
Thresholds: keepalive + 1 s; backoff within [${VIRTUAL_TIMING.reconnect.minDelayMs}, ${VIRTUAL_TIMING.reconnect.maxDelayMs}] ms (--real: [${REAL_TIMING.reconnect.minDelayMs}, ${REAL_TIMING.reconnect.maxDelayMs}] ms),
waited ± 100 ms; stuck after reconnect max + connect timeout + 2 keepalives + 2 intervals
+ ${VIRTUAL_TIMING.slackMs / 1000} s (--real: ${REAL_TIMING.slackMs / 1000} s) healthy without progress; host memory fails on a rise over
the second half above ${TREND_MIN_BYTES_PER_DEVICE / 1024} KiB per device and ${TREND_MIN_FRACTION * 100} % of the heap with R² ≥ ${TREND_MIN_R2}.

--real: Mosquitto (apt-get install mosquitto) is started on a free loopback port with
persistence on, and each device connects through a TCP proxy of its own: drop, outage
and long-outage drop and refuse connections there, blackhole discards bytes both ways
(then drops what lived through it), latency delays them; partial and jump act on the
device's simulated side as in virtual time. Restarts stop Mosquitto with SIGTERM (it
saves the sessions) and start it after the downtime: profiles draw only those. Mosquitto
reports nothing of what it received or forwarded, so nothing can be excused: a
schedule's restart with "keepSessions": false is a crash (SIGKILL, persistence deleted)
whose losses fail the run, and "lose" is not available. The delivery, order and QoS 2
checks rest on the observer, which connects to Mosquitto directly.

--real --broker mqtt://host:port: the same against your broker, which the soak neither
starts nor restarts: its proxies forward to it, the observer connects to it, the
profiles draw no restarts and a schedule's "restart" is refused; the report lists the
faults that were possible. Device and observer ids get a prefix of the run's own
(s<hex>-nodemcu-v3-1), and their sessions stay on the broker after the run.

Ctrl-C stops the run and prints what ran (a second Ctrl-C exits at once).
Exit status: 0 every invariant held, 1 a violation, a usage error or a failure,
130 interrupted.`;

const SOAK_OPTIONS = {
  help: { type: "boolean" },
  days: { type: "string" },
  devices: { type: "string" },
  seed: { type: "string" },
  faults: { type: "string" },
  report: { type: "string" },
  interval: { type: "string" },
  keepalive: { type: "string" },
  qos: { type: "string" },
  board: { type: "string" },
  "u32-start": { type: "string" },
  "unpatched-aedes": { type: "boolean" },
  real: { type: "boolean" },
  minutes: { type: "string" },
  workers: { type: "string" },
  shard: { type: "string" },
  broker: { type: "string" },
  pcap: { type: "string" },
  protocol: { type: "string" },
  quiet: { type: "boolean" },
  persist: { type: "boolean" },
} as const;

/** Where `runSoak` writes; the process's streams by default. */
export interface SoakIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  /** How to start this command line again for workers (default: the process's own, when `argv` is its tail). */
  launch?: Launch;
}

/** A mistake on the command line. */
class SoakUsageError extends Error {}

/**
 * Runs `wasmqtt soak`.
 *
 * @param argv the arguments after "soak"
 * @param io where to write (default: process.stdout / process.stderr)
 * @returns 0 when every invariant held; 1 for a violation, a usage error (printed with a
 *   pointer to --help) or a failure (no build, a report that cannot be written); 130 when
 *   Ctrl-C stopped it (the summary and report cover what ran)
 */
export async function runSoak(argv: string[], io: SoakIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  if (argv[0] === "merge") return runMerge(argv.slice(1), io);
  let parsed: { options: SoakOptions; reportDir: string | undefined; quiet: boolean } | undefined;
  try {
    parsed = parseSoakArgs(argv);
  } catch (error) {
    if (!(error instanceof SoakUsageError) && !(error instanceof BoardError) && !(error instanceof FaultSpecError)) throw error;
    io.stderr.write(`Error: ${error.message}\n\nUse 'wasmqtt soak --help' to see usage.\n`);
    return EXIT_ERROR;
  }
  if (parsed === undefined) {
    io.stdout.write(`${SOAK_HELP}\n`);
    return EXIT_OK;
  }
  const { options, reportDir, quiet } = parsed;
  const worker = process.env[WORKER_ENV];
  if (worker !== undefined) {
    // a worker of a soak started with this command line (host/soak/workers.ts)
    const { worker: index, workers } = JSON.parse(worker) as { worker: number; workers: number };
    return serveWorker(options, runIdentity(options), { shard: options.shard ?? { index: 0, count: 1 }, worker: index, workers });
  }
  const launch = io.launch ?? ownLaunch(argv);
  if (launch === undefined) options.workers = 1;
  // Ctrl-C: stop at the next step and report what ran; a second one exits at once
  const interrupt = new AbortController();
  const onSignal = (): void => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    interrupt.abort();
  };
  process.on("SIGINT", onSignal);
  try {
    const { part, wallSeconds, setupSeconds } = await soakPart(options, {
      progress: quiet ? undefined : io.stderr,
      signal: interrupt.signal,
      launch,
      onViolation: (violation, index, workers) =>
        io.stderr.write(`${io.stderr.isTTY === true ? "\n" : ""}${violation.message}${workers > 1 ? ` [worker ${index + 1} of ${workers}]` : ""}\n`),
    });
    const result = finalize(part, { wallSeconds, setupSeconds });
    const shard = options.shard;
    if (shard !== undefined) io.stdout.write(`shard ${shard.index}/${shard.count} of the run (merge the shards' partial reports with 'wasmqtt soak merge'):\n`);
    io.stdout.write(`${formatSummary(result).join("\n")}\n`);
    if (shard !== undefined && reportDir !== undefined) io.stdout.write(`partial report: ${await writePartial(reportDir, part)}\n`);
    else if (reportDir !== undefined) {
      const { json, html } = await writeReport(reportDir, result);
      io.stdout.write(`report: ${json}, ${html}\n`);
    }
    return result.passed ? EXIT_OK : result.interrupted ? EXIT_INTERRUPTED : EXIT_ERROR;
  } catch (error) {
    io.stderr.write(`Error: ${describeError(error)}\n`);
    return EXIT_ERROR;
  } finally {
    process.off("SIGINT", onSignal);
  }
}

/**
 * `wasmqtt soak merge [--report OUT] DIR...`: the shards' partial reports as one report.
 * Returns 0 when every invariant held, 1 for a violation, a refused merge (different
 * runs, a missing or doubled shard: the message names it) or a usage error.
 */
async function runMerge(argv: string[], io: SoakIo): Promise<number> {
  let values: { report?: string; help?: boolean };
  let dirs: string[];
  try {
    ({ values, positionals: dirs } = parseArgs({ args: argv, options: { report: { type: "string" }, help: { type: "boolean" } }, allowPositionals: true, strict: true }));
  } catch (error) {
    io.stderr.write(`Error: ${(error as Error).message}\n\nUse 'wasmqtt soak --help' to see usage.\n`);
    return EXIT_ERROR;
  }
  if (values.help === true) {
    io.stdout.write(`${SOAK_HELP}\n`);
    return EXIT_OK;
  }
  try {
    const parts = await Promise.all(dirs.map((dir) => readPartial(dir)));
    const result = finalize(mergePartials(checkShards(parts, dirs)));
    io.stdout.write(`${formatSummary(result).join("\n")}\n`);
    const { json, html } = await writeReport(values.report ?? ".", result);
    io.stdout.write(`report: ${json}, ${html}\n`);
    return result.passed ? EXIT_OK : EXIT_ERROR;
  } catch (error) {
    if (!(error instanceof MergeError)) throw error;
    io.stderr.write(`Error: ${error.message}\n`);
    return EXIT_ERROR;
  }
}

/** This process's command line, when `argv` is its tail (the CLI, not a test calling runSoak): workers re-run it. */
function ownLaunch(argv: string[]): Launch | undefined {
  const args = process.argv.slice(2);
  const tail = args.slice(args.length - argv.length);
  if (process.argv[1] === undefined || tail.length !== argv.length || tail.some((arg, i) => arg !== argv[i])) return undefined;
  return { script: process.argv[1], args, execArgv: process.execArgv };
}

/** Parses and checks the flags; undefined for --help. Throws SoakUsageError, BoardError or FaultSpecError. */
function parseSoakArgs(argv: string[]): { options: SoakOptions; reportDir: string | undefined; quiet: boolean } | undefined {
  let values: { [K in keyof typeof SOAK_OPTIONS]?: (typeof SOAK_OPTIONS)[K]["type"] extends "boolean" ? boolean : string };
  try {
    values = parseArgs({ args: argv, options: SOAK_OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new SoakUsageError((error as Error).message);
  }
  if (values.help === true) return undefined;
  const real = values.real === true;
  if (real && values["unpatched-aedes"] === true) throw new SoakUsageError("--unpatched-aedes is about aedes; --real runs Mosquitto");
  const defaults = real ? REAL_DEFAULTS : SOAK_DEFAULTS;
  const boards = list(values.board ?? DEFAULT_BOARD, "--board").map(board);
  const qos = list(values.qos ?? SOAK_DEFAULTS.qos.join(","), "--qos").map((level) => number(level, "--qos", { min: 0, max: 2, integer: true }) as 0 | 1 | 2);
  const intervalSec = number(values.interval ?? String(defaults.intervalSec), "--interval", { min: 1, max: 86_400, integer: true });
  const keepaliveSec = number(values.keepalive ?? String(defaults.keepaliveSec), "--keepalive", { min: 1, max: 65_535, integer: true });
  const options: SoakOptions = {
    days: duration(values.days, values.minutes, real),
    devices: number(values.devices ?? String(SOAK_DEFAULTS.devices), "--devices", { min: 1, max: MAX_DEVICES, integer: true }),
    seed: number(values.seed ?? String(SOAK_DEFAULTS.seed), "--seed", { min: 0, max: 2 ** 32 - 1, integer: true }),
    faults: parseFaultSpec(values.faults ?? (real ? REAL_DEFAULTS.faults : DEFAULT_FAULTS)),
    boards,
    qos,
    intervalSec,
    keepaliveSec,
    u32StartMs: values["u32-start"] === undefined ? undefined : number(values["u32-start"], "--u32-start", { min: 0, max: 2 ** 32 - 1, integer: true }),
    patchAedes: values["unpatched-aedes"] !== true,
    real,
    workers: values.workers === undefined ? (real ? 1 : availableParallelism()) : number(values.workers, "--workers", { min: 1, max: 1024, integer: true }),
    shard: values.shard === undefined ? undefined : shard(values.shard),
    brokerUrl: values.broker === undefined ? undefined : brokerUrl(values.broker),
    persist: values.persist === true,
    pcapDir: values.pcap,
    protocolVersion: protocol(values.protocol),
  };
  if (values.pcap === "") throw new SoakUsageError("--pcap needs a directory (got '')");
  if (!real && options.protocolVersion === 5) {
    throw new SoakUsageError("--protocol 5 needs --real: the embedded broker, aedes 0.51, speaks MQTT 3.1.1 only (it refuses a CONNECT with protocol version 5); --real runs Mosquitto, which speaks 5.0");
  }
  if (!real && options.brokerUrl !== undefined) throw new SoakUsageError("--broker runs the devices against your broker in real time: it needs --real");
  if (real && options.workers !== 1) throw new SoakUsageError("--real runs one Mosquitto in real time in this process: --workers must be 1");
  if (real && options.shard !== undefined) throw new SoakUsageError("--shard splits a virtual-time run; --real runs in this process");
  if (options.shard !== undefined && values.report === undefined) throw new SoakUsageError("--shard writes a partial report: give --report DIR");
  return { options, reportDir: values.report, quiet: values.quiet === true };
}

/** --protocol: 4 or 311 (MQTT 3.1.1, the default), 5 (MQTT 5.0). */
function protocol(value: string | undefined): 4 | 5 {
  if (value === undefined || value === "4" || value === "311") return 4;
  if (value === "5") return 5;
  throw new SoakUsageError(`--protocol ${JSON.stringify(value)}: must be 4 (or 311) for MQTT 3.1.1, or 5 for MQTT 5.0`);
}

/** The duration in days from --days or --minutes (not both), or the mode's default. */
function duration(days: string | undefined, minutes: string | undefined, real: boolean): number {
  if (days !== undefined && minutes !== undefined) throw new SoakUsageError("give --days or --minutes, not both");
  if (minutes !== undefined) return number(minutes, "--minutes", { min: 0, exclusiveMin: true, max: MAX_DAYS * 1440 }) / 1440;
  if (days !== undefined) return number(days, "--days", { min: 0, exclusiveMin: true, max: MAX_DAYS });
  return real ? REAL_DEFAULTS.minutes / 1440 : SOAK_DEFAULTS.days;
}

/** `--broker URL`: an mqtt:// URL (host and port). */
function brokerUrl(text: string): string {
  try {
    parseBrokerUrl(text);
  } catch (error) {
    throw new SoakUsageError(`--broker: ${(error as Error).message}`);
  }
  return text;
}

/** `--shard I/N`: shard I (from 0) of N. */
function shard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || count < 1 || count > MAX_DEVICES || index >= count) throw new SoakUsageError(`--shard must be I/N with 0 ≤ I < N ≤ ${MAX_DEVICES} (got '${text}')`);
  return { index, count };
}

function board(name: string): Board {
  if (!listBoards().includes(name) && !name.includes("/") && !name.endsWith(".json")) {
    throw new SoakUsageError(`unknown board '${name}' (known boards: ${listBoards().join(", ")})`);
  }
  return loadBoard(name);
}

function list(text: string, flag: string): string[] {
  const items = text.split(",").map((item) => item.trim());
  if (items.some((item) => item === "")) throw new SoakUsageError(`${flag} must be a comma-separated list (got '${text}')`);
  return items;
}

/** A number flag within bounds; SoakUsageError naming the flag otherwise. */
function number(text: string, flag: string, rule: { min: number; max?: number; integer?: boolean; exclusiveMin?: boolean }): number {
  const value = Number(text);
  const max = rule.max ?? Infinity;
  const tooLow = rule.exclusiveMin === true ? value <= rule.min : value < rule.min;
  if (text.trim() === "" || !Number.isFinite(value) || tooLow || value > max || (rule.integer === true && !Number.isInteger(value))) {
    const kind = rule.integer === true ? "a whole number" : "a number";
    const range = max === Infinity ? `${rule.exclusiveMin === true ? ">" : "≥"} ${rule.min}` : `${rule.exclusiveMin === true ? `> ${rule.min} and ≤` : `from ${rule.min} to`} ${max}`;
    throw new SoakUsageError(`${flag} must be ${kind} ${range} (got '${text}')`);
  }
  return value;
}
