/**
 * The soak on every core: `--workers N` runs the devices of a shard in N child processes
 * (each its own virtual clock, environment and brokers; host/soak/run.ts), each started
 * with the same command line as the soak itself and told which worker it is through
 * {@link WORKER_ENV}. A worker sends its progress and violations as they happen and its
 * part at the end (host/soak/partial.ts); the parent aggregates progress, prints
 * violations naming the worker, stops every worker once one has failed (or on Ctrl-C),
 * and merges the parts.
 *
 * Child processes rather than worker threads: the soak replaces process-wide globals
 * (`process.hrtime` among them) and a worker thread shares its process's.
 *
 * @example
 * const parts = await runWorkers(options, identity, 2, { script: process.argv[1], args: process.argv.slice(2), execArgv: process.execArgv }, {});
 */
import { type ChildProcess, fork } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { Violation } from "./invariants.ts";
import type { RunIdentity, SoakPartial } from "./partial.ts";
import { type PartIo, type PartSelection, partDevices, runPart } from "./run.ts";
import type { SoakOptions } from "./soak.ts";

/** The environment variable that makes a soak process a worker: `{"worker": i, "workers": n}`. */
export const WORKER_ENV = "WASMQTT_SOAK_WORKER";

/** How to start the soak's command line again (the CLI's own). */
export interface Launch {
  script: string;
  args: readonly string[];
  execArgv: readonly string[];
}

/** What the parent hears of the workers. */
export interface WorkersIo {
  /** Virtual time reached, device-weighted over the workers, and the end. */
  onProgress?(doneMs: number, endMs: number): void;
  onViolation?(violation: Violation, worker: number, workers: number): void;
  signal?: AbortSignal;
}

/** A message from a worker to the parent. */
type FromWorker =
  | { type: "progress"; doneMs: number; endMs: number }
  | { type: "violation"; violation: Violation }
  | { type: "done"; part: SoakPartial }
  | { type: "error"; message: string };

/** A message from the parent to a worker. */
type ToWorker = { type: "stop" };

/**
 * Runs the shard's devices in `workers` child processes and resolves with their parts
 * (in worker order). Rejects when a worker fails (its error, or its exit without a part),
 * naming the worker.
 */
export function runWorkers(options: SoakOptions, workers: number, launch: Launch, io: WorkersIo = {}): Promise<SoakPartial[]> {
  const shard = options.shard ?? { index: 0, count: 1 };
  const counts = Array.from({ length: workers }, (_, worker) => partDevices(options.devices, { shard, worker, workers }).length);
  const total = counts.reduce((sum, count) => sum + count, 0);
  const done = new Array<number>(workers).fill(0);
  const children: ChildProcess[] = [];
  const stopAll = (): void => {
    for (const child of children) if (child.connected) child.send({ type: "stop" } satisfies ToWorker);
  };
  io.signal?.addEventListener("abort", stopAll, { once: true });
  const runs = Array.from({ length: workers }, (_, worker) => new Promise<SoakPartial>((resolve, reject) => {
    const child = fork(launch.script, [...launch.args], {
      execArgv: [...launch.execArgv],
      env: { ...process.env, [WORKER_ENV]: JSON.stringify({ worker, workers }) },
      serialization: "advanced",
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    children.push(child);
    let part: SoakPartial | undefined;
    let failure: string | undefined;
    child.on("message", (message: FromWorker) => {
      if (message.type === "progress") {
        done[worker] = message.doneMs;
        io.onProgress?.(done.reduce((sum, ms, i) => sum + ms * counts[i], 0) / Math.max(1, total), message.endMs);
      } else if (message.type === "violation") {
        io.onViolation?.(message.violation, worker, workers);
        stopAll();
      } else if (message.type === "done") part = message.part;
      else failure = message.message;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (part !== undefined) resolve(part);
      else reject(new Error(`soak worker ${worker + 1} of ${workers} ${failure ?? `exited (${signal ?? `status ${code}`}) without its report`}`));
    });
  }));
  return Promise.all(runs).finally(() => io.signal?.removeEventListener("abort", stopAll));
}

/**
 * The worker's side (a process started by {@link runWorkers}): runs its part, sending
 * progress, violations and the part to the parent; a "stop" from the parent, SIGINT or
 * the parent going away stops it at its next step. Resolves with the exit status (0, or 1 after a failure it
 * reported).
 */
export async function serveWorker(options: SoakOptions, identity: RunIdentity, selection: PartSelection): Promise<number> {
  // a parent that went away (a second Ctrl-C) hears nothing more: nothing to send it
  const send = (message: FromWorker): Promise<void> => new Promise((resolve) => {
    if (process.send === undefined || !process.connected) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
  const stop = new AbortController();
  const onMessage = (message: ToWorker): void => {
    if (message.type === "stop") stop.abort();
  };
  const onSignal = (): void => stop.abort();
  process.on("message", onMessage);
  process.on("SIGINT", onSignal);
  // a parent that went away (killed) stops the worker too
  process.on("disconnect", onSignal);
  let lastProgress = 0;
  const io: PartIo = {
    signal: stop.signal,
    onViolation: (violation) => void send({ type: "violation", violation }),
    onProgress: (doneMs, endMs) => {
      const now = performance.now();
      if (now - lastProgress < 200 && doneMs < endMs) return;
      lastProgress = now;
      void send({ type: "progress", doneMs, endMs });
    },
  };
  try {
    const part = await runPart(options, selection, identity, io);
    await send({ type: "done", part });
    return 0;
  } catch (error) {
    await send({ type: "error", message: (error as Error).stack ?? String(error) });
    return 1;
  } finally {
    process.off("message", onMessage);
    process.off("SIGINT", onSignal);
    process.off("disconnect", onSignal);
    if (process.connected) process.disconnect();
  }
}
