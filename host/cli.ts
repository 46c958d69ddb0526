/**
 * The `wasmqtt` command: `pub` and `sub` behave like mosquitto_pub and mosquitto_sub
 * (same flags, same exit statuses), `demo` is the one-command first run (`npm start`),
 * `sim` the board simulator, `soak` weeks of device time in minutes with faults (or,
 * with `--real`, minutes of real time against Mosquitto through fault proxies).
 * Each subcommand lives in host/cli/; this file only dispatches and exits.
 *
 * @example
 * wasmqtt sub -t 'a/#' -v -C 2 &
 * wasmqtt pub -t a/b -m hello -q 1
 * wasmqtt demo
 */
import { readFileSync } from "node:fs";
import { runDemo } from "./cli/demo.ts";
import { EXIT_ERROR, EXIT_OK, printError } from "./cli/exit.ts";
import { UsageError } from "./cli/options.ts";
import { runPub } from "./cli/pub.ts";
import { runSim } from "./cli/sim.ts";
import { runSoak } from "./cli/soak.ts";
import { runSub } from "./cli/sub.ts";

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  pub: runPub,
  sub: runSub,
  demo: runDemo,
  sim: (argv) => runSim(argv),
  soak: runSoak,
};

const HELP = `wasmqtt: an MQTT 3.1.1 client whose protocol engine is a static-memory WebAssembly
module (the firmware that runs on ESP32 / NodeMCU boards).

Usage: wasmqtt pub  -t topic {-m message | -f file | -s | -l | -n} [options]
       wasmqtt sub  -t filter [-t filter ...] [-v] [-C count] [-W timeout] [options]
       wasmqtt demo [--broker mqtt://host:port]
       wasmqtt sim  [--board NAME] [--devices N] [--speed X|max] [options]
       wasmqtt soak [--days N] [--devices N] [--seed N] [--faults PROFILE] [--report DIR]
       wasmqtt soak --real [--minutes N] [--devices N] [--report DIR]
       wasmqtt {pub|sub|demo|sim|soak} --help
       wasmqtt --version

pub and sub take the flags of mosquitto_pub and mosquitto_sub.`;

/**
 * Runs the command line `argv` (without node and the script).
 *
 * @returns the exit status: 0 success, 1 usage or runtime error, 1–5 a CONNACK refusal, 27 sub -W timeout
 */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "help") {
    process.stdout.write(`${HELP}\n`);
    return command === undefined ? EXIT_ERROR : EXIT_OK;
  }
  if (command === "--version" || command === "-V") {
    process.stdout.write(`wasmqtt ${version()}\n`);
    return EXIT_OK;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`Error: Unknown command '${command}' (pub, sub, demo, sim or soak).\n\nUse 'wasmqtt --help' to see usage.\n`);
    return EXIT_ERROR;
  }
  try {
    return await run(rest);
  } catch (error) {
    if (!(error instanceof UsageError)) {
      printError(error);
      return EXIT_ERROR;
    }
    process.stderr.write(`Error: ${error.message}\n\nUse 'wasmqtt ${command} --help' to see usage.\n`);
    return EXIT_ERROR;
  }
}

/** The package version, read from package.json next to dist/ (or the repository root). */
function version(): string {
  try {
    const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Exits once stdout and stderr have taken everything written (pipes included). */
async function exit(status: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write("", resolve))));
  process.exit(status);
}

// a reader that went away (`wasmqtt sub … | head -1`) ends the command quietly, as SIGPIPE would
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(EXIT_OK);
});

await exit(await main(process.argv.slice(2)));
