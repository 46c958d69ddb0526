/**
 * Runs a program to the end with its output collected: the CLI tests (`node host/cli.ts`)
 * and the native tests (build/native/*) both start their programs through this.
 *
 * @example
 * const { code, stdout } = await startProgram("build/native/wasmqtt-nodemcu", ["--help"], { limitMs: 5000 }).done;
 */
import type { ChildProcess } from "node:child_process";
import { exited, spawnTracked } from "../../../host/processes.ts";

/** What a finished run left behind. */
export interface ProgramResult {
  /** Exit status, or the signal name that ended it ("SIGKILL" when it hit its time limit). */
  code: number | string;
  stdout: Buffer;
  stderr: string;
  elapsedMs: number;
}

/** A run in progress. */
export interface ProgramRun {
  child: ChildProcess;
  /** stdout so far, as text. */
  output(): string;
  done: Promise<ProgramResult>;
}

/** How a program is started. */
export interface ProgramOptions {
  /** Written to stdin, which is then closed (default: no stdin). */
  stdin?: string | Buffer;
  /** Killed (SIGKILL) after this long. */
  limitMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts `command args` (tracked, so a test run never leaves it behind). */
export function startProgram(command: string, args: string[], options: ProgramOptions): ProgramRun {
  const started = Date.now();
  const child = spawnTracked(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.limitMs);
  const done = (async () => {
    const code = await exited(child);
    await closed;
    clearTimeout(timer);
    return { code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8"), elapsedMs: Date.now() - started };
  })();
  return { child, output: () => Buffer.concat(stdout).toString("utf8"), done };
}
