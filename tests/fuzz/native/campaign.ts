/**
 * One native fuzzing campaign: the seed corpus written into a fresh temporary directory,
 * libFuzzer run on the ASan + UBSan build for a time or a number of executions, then
 * the coverage build over the corpus it grew. A crash's input is kept in `artifacts`.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTarget, buildWithMemory, type Target } from "./build.ts";
import { writeSeeds } from "./corpus.ts";
import { measureCoverage, type Coverage } from "./coverage.ts";

export interface CampaignOptions {
  profile: string;
  /** libFuzzer -max_total_time; or */
  seconds?: number;
  /** libFuzzer -runs (a bounded, repeatable slice). */
  runs?: number;
  seed: number;
  /** Where a crashing input is written (created when missing). */
  artifacts: string;
  /** Test use: fuzz a build whose linear memory has this many bytes instead of __heap_base. */
  memoryBytes?: number;
}

export interface Crash {
  /** libFuzzer's / the sanitizer's / the harness's first line about it. */
  summary: string;
  path: string;
  hex: string;
}

export interface CampaignResult {
  target: Target;
  exitCode: number;
  executions: number;
  execsPerSecond: number;
  seeds: number;
  corpus: number;
  crash?: Crash;
  coverage: Coverage;
  /** libFuzzer's output, for a failure's message. */
  log: string;
}

/** Builds the target when needed and runs the campaign; the temporary corpus is removed afterwards. */
export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const target = await buildTarget(options.profile);
  const scratch = mkdtempSync(join(tmpdir(), "wasmqtt-native-fuzz-"));
  try {
    const seedDir = join(scratch, "seeds");
    const corpusDir = join(scratch, "corpus");
    mkdirSync(seedDir);
    mkdirSync(corpusDir);
    mkdirSync(options.artifacts, { recursive: true });
    const seeds = writeSeeds(seedDir, target.rxCapacity);
    const limit = options.runs !== undefined ? `-runs=${options.runs}` : `-max_total_time=${options.seconds ?? 60}`;
    const args = [limit, `-seed=${options.seed}`, "-print_final_stats=1", `-artifact_prefix=${options.artifacts}/`, corpusDir, seedDir];
    const program = options.memoryBytes === undefined ? target.fuzz : await buildWithMemory(target, options.memoryBytes);
    const { code, log } = await spawnLogged(program, args);
    const stat = (name: string) => Number(new RegExp(`^stat::${name}:\\s+(\\d+)`, "m").exec(log)?.[1] ?? 0);
    const result: CampaignResult = {
      target,
      exitCode: code,
      executions: stat("number_of_executed_units"),
      execsPerSecond: stat("average_exec_per_sec"),
      seeds,
      corpus: readdirSync(corpusDir).length,
      coverage: measureCoverage(target, [corpusDir, seedDir], scratch),
      log,
    };
    const written = /Test unit written to (\S+)/.exec(log);
    if (written !== null) {
      const summary = /^(native fuzz: .*|==\d+==ERROR: .*|.*runtime error: .*)$/m.exec(log)?.[1] ?? "crash";
      result.crash = { summary, path: written[1], hex: readFileSync(written[1]).toString("hex") };
    }
    return result;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs a command to its end, its stdout and stderr as one log. */
function spawnLogged(command: string, args: string[]): Promise<{ code: number; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (chunk) => (log += chunk));
    child.stderr.on("data", (chunk) => (log += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal === null ? 1 : 128), log }));
  });
}
