/**
 * The native fuzzer's command line (`npm run fuzz:native -- …`, README.md "Robustness"):
 * libFuzzer on the wasm2c build of the client module (tests/fuzz/native/harness.c).
 *
 *   npm run fuzz:native -- [--seconds N | --runs N] [--seed S] [--profile P] [--out DIR]
 *
 * Prints executions, executions/s, the corpus grown, the coverage of the module's
 * functions and any crash (the input in hex, the file libFuzzer wrote under --out,
 * default reports/fuzz-native/). Exits 1 after a crash, 2 on a usage error.
 */
import { parseArgs } from "node:util";
import { runCampaign } from "./campaign.ts";
import { formatCoverage } from "./coverage.ts";

const PROFILES = ["desktop", "esp32", "nodemcu"];

function fail(message: string): never {
  console.error(`fuzz:native: ${message}`);
  process.exit(2);
}

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) fail(`--${name} must be an integer ≥ 1, got "${text}"`);
  return value;
}

const { values } = (() => {
  try {
    return parseArgs({ options: { seconds: { type: "string" }, runs: { type: "string" }, seed: { type: "string" }, profile: { type: "string" }, out: { type: "string" } } });
  } catch (error) {
    fail((error as Error).message);
  }
})();
const profile = values.profile ?? "nodemcu";
if (!PROFILES.includes(profile)) fail(`--profile must be one of ${PROFILES.join(", ")}, got "${profile}"`);
const runs = integer("runs", values.runs);
const seconds = integer("seconds", values.seconds) ?? (runs === undefined ? 60 : undefined);
if (runs !== undefined && values.seconds !== undefined) fail("give --seconds or --runs, not both");
const seed = integer("seed", values.seed) ?? 1;

try {
  const result = await runCampaign({ profile, seconds, runs, seed, artifacts: values.out ?? "reports/fuzz-native" });
  console.log(
    `${result.executions} executions: ${result.execsPerSecond} executions/s (client, ${profile}, seed ${seed}, ` +
      `memory ${result.target.memoryBytes} bytes); corpus ${result.seeds} seeds + ${result.corpus} found`,
  );
  console.log(formatCoverage(result.coverage));
  if (result.crash !== undefined) {
    console.log(`\nCRASH: ${result.crash.summary}\n  input (hex): ${result.crash.hex || "(empty)"}\n  file: ${result.crash.path}`);
    process.exitCode = 1;
  } else if (result.exitCode !== 0) {
    console.log(`\nlibFuzzer exited ${result.exitCode}:\n${result.log.slice(-3000)}`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`fuzz:native: ${(error as Error).message}`);
  process.exit(1);
}
