/**
 * Running `wasmqtt soak` from a test: each soak is a child process
 * (`node --import tsx host/cli/soak-main.ts …`, as the soak replaces the process's timer
 * globals in virtual time), killed when it takes too long; its report.json is read back.
 *
 * @example
 * const dir = tempDir();
 * const run = await soak(["--days", "0.2", "--faults", `none,${schedule(dir, [{ at: 3600, do: "drop" }])}`], dir);
 * assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { exited, spawnTracked, trackTempDir } from "../../../host/processes.ts";
import type { SoakPartial } from "../../../host/soak/partial.ts";
import type { SoakResult } from "../../../host/soak/soak.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const SOAK_MAIN = path.join(ROOT, "host", "cli", "soak-main.ts");
/** How long one soak may take by default before it is killed and its test fails. */
const SOAK_LIMIT_MS = 60_000;

/** What a finished soak left behind. */
export interface SoakRun {
  code: number | string;
  stdout: string;
  stderr: string;
  report: SoakResult;
  dir: string;
}

/** How {@link soak} runs. */
export interface SoakRunOptions {
  /**
   * Load aedes before the soak starts, as `wasmqtt` does (its simulator imports it): the
   * soak must still put aedes's keepalive timer on virtual time.
   */
  preloadAedes?: boolean;
  /** Kill the soak after this long (default 60 s). */
  limitMs?: number;
}

/** A fresh temporary directory, removed when the tests end. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "wasmqtt-soak-"));
  trackTempDir(dir);
  return dir;
}

/** Writes a fault schedule into `dir` and returns its path. */
export function schedule(dir: string, steps: object[]): string {
  const file = path.join(dir, "faults.json");
  writeFileSync(file, JSON.stringify({ steps }));
  return file;
}

/** What a finished shard left behind. */
export interface ShardRun {
  code: number | string;
  stdout: string;
  stderr: string;
  part: SoakPartial;
  dir: string;
}

/**
 * Runs a soak to its end with `--report <dir> --quiet` added, and reads the report back.
 * One worker unless `args` asks for more: the suites already run soaks side by side, and
 * a worker per core for each would only slow every one of them down.
 */
export async function soak(args: string[], dir = tempDir(), options: SoakRunOptions = {}): Promise<SoakRun> {
  const workers = args.includes("--workers") ? [] : ["--workers", "1"];
  const run = await spawnSoak([...args, ...workers, "--report", dir, "--quiet"], options);
  return { ...run, report: readJson<SoakResult>(path.join(dir, "report.json"), run), dir };
}

/** Runs one shard (`args` has `--shard I/N`) with `--report <dir> --quiet` added, and reads its partial report back. */
export async function shard(args: string[], dir = tempDir(), options: SoakRunOptions = {}): Promise<ShardRun> {
  const run = await spawnSoak([...args, "--report", dir, "--quiet"], options);
  return { ...run, part: readJson<SoakPartial>(path.join(dir, "partial.json"), run), dir };
}

/** Runs `wasmqtt soak merge --report <out> DIR…`; reads report.json back when it exits 0. */
export async function merge(dirs: string[], out = tempDir()): Promise<{ code: number | string; stdout: string; stderr: string; report: SoakResult }> {
  const run = await spawnSoak(["merge", "--report", out, ...dirs], {});
  return { ...run, report: run.code === 0 ? readJson<SoakResult>(path.join(out, "report.json"), run) : ({} as SoakResult) };
}

/** Parses a JSON file a run wrote, failing the test with the run's output when there is none. */
function readJson<T>(file: string, run: { code: number | string; stdout: string; stderr: string }): T {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (error) {
    assert.fail(`no ${path.basename(file)} (exit ${run.code}): ${(error as Error).message}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

/** Spawns soak-main.ts with `args` and collects its output (for runs that write no report). */
export async function spawnSoak(args: string[], options: SoakRunOptions): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const node = ["--import", "tsx", ...(options.preloadAedes === true ? ["--import", "aedes"] : []), SOAK_MAIN];
  const child = spawnTracked(process.execPath, [...node, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const limit = setTimeout(() => child.kill("SIGKILL"), options.limitMs ?? SOAK_LIMIT_MS);
  const code = await exited(child);
  clearTimeout(limit);
  return { code, stdout, stderr };
}

/** The report without what depends on the split, the wall clock or the garbage collector (the workers' wall times are in `execution`). */
export function replayable(report: SoakResult): unknown {
  const copy = JSON.parse(JSON.stringify(report)) as Record<string, unknown> & { series: Record<string, unknown>[] };
  for (const key of ["wallSeconds", "setupSeconds", "deviceDaysPerSecond", "hostMemory", "execution"]) delete copy[key];
  for (const point of copy.series) {
    delete point.heapPerDevice;
    delete point.externalPerDevice;
  }
  return copy;
}
