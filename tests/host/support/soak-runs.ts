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

/** Runs a soak to its end with `--report <dir> --quiet` added, and reads the report back. */
export async function soak(args: string[], dir = tempDir(), options: SoakRunOptions = {}): Promise<SoakRun> {
  const node = ["--import", "tsx", ...(options.preloadAedes === true ? ["--import", "aedes"] : []), SOAK_MAIN];
  const child = spawnTracked(process.execPath, [...node, ...args, "--report", dir, "--quiet"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const limit = setTimeout(() => child.kill("SIGKILL"), options.limitMs ?? SOAK_LIMIT_MS);
  const code = await exited(child);
  clearTimeout(limit);
  let report: SoakResult;
  try {
    report = JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as SoakResult;
  } catch (error) {
    assert.fail(`no report.json (exit ${code}): ${(error as Error).message}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  }
  return { code, stdout, stderr, report, dir };
}
