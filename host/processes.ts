/**
 * Child processes and temporary directories that never outlive the host: finding
 * executables, spawning processes that are SIGKILLed and directories that are deleted
 * when this process exits (a normal exit, `process.exit` included; not a fatal signal).
 * The Mosquitto launcher (host/mosquitto.ts) and the tests use them.
 *
 * @example
 * const child = spawnTracked(findExecutable("mosquitto", ["/usr/sbin"]), ["-c", config], { stdio: "ignore" });
 * child.kill("SIGTERM");
 * await exited(child);
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { accessSync, constants, rmSync } from "node:fs";
import path from "node:path";

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let cleanupRegistered = false;

/** Registers (once) the "exit" handler; it must be synchronous: SIGKILL what still runs, delete temp dirs. */
function cleanUpOnExit(): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  process.on("exit", () => {
    for (const child of liveChildren) child.kill("SIGKILL");
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * Spawns a child process that is SIGKILLed when this process exits, should nobody have
 * stopped it. Only a normal exit of this process is covered, not a signal.
 */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  cleanUpOnExit();
  const child = spawn(command, args, options);
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  child.once("error", () => liveChildren.delete(child));
  return child;
}

/** Registers a temporary directory for removal when this process exits. */
export function trackTempDir(dir: string): void {
  cleanUpOnExit();
  tempDirs.add(dir);
}

/** Removes a temporary directory now and forgets it. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/**
 * Resolves with the process's exit code (or the signal name that ended it) once it has
 * exited; at once if it already has.
 */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
}

/**
 * The path of executable `name` from `preferred` or else `$PATH`. Throws an Error naming
 * where it looked, followed by `hint` (default: which package to install).
 */
export function findExecutable(name: string, preferred: string[] = [], hint = `install the package that provides ${name}`): string {
  const pathDirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  for (const dir of [...preferred, ...pathDirs]) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error(`${name} not found in ${[...preferred, "$PATH"].join(", ")}: ${hint}`);
}
