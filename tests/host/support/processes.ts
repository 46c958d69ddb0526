/** Child processes for tests: finding executables and never leaving one behind. */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { accessSync, constants, rmSync } from "node:fs";
import path from "node:path";

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();

// "exit" handlers must be synchronous: SIGKILL what is still running, delete temp dirs.
process.on("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Spawns a child process that is SIGKILLed when this process exits, should the test not
 * have stopped it. Only a normal exit of the test process is covered, not a signal.
 */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  child.once("error", () => liveChildren.delete(child));
  return child;
}

/** Registers a temporary directory for removal when this process exits. */
export function trackTempDir(dir: string): void {
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

/** The path of executable `name` from `preferred` or else `$PATH`; throws if not found. */
export function findExecutable(name: string, preferred: string[] = []): string {
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
  throw new Error(`${name} not found in ${preferred.join(", ")} or $PATH; install the mosquitto package`);
}
