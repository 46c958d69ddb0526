/**
 * The mosquitto_sub / mosquitto_pub command line clients as interop peers.
 *
 * Knowing that mosquitto_sub is subscribed: the subscriber gets a generated client id
 * and `ready` resolves when the broker logs `Sending SUBACK to <that id>`. The broker
 * logs this after adding the subscription, so a publish made after `ready` is delivered.
 * This is preferred over probing with a sentinel message, which would take part in
 * `-C` counting and show up in the subscriber's output.
 */
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import type { Broker } from "../../../host/mosquitto.ts";
import { exited, findExecutable, spawnTracked } from "../../../host/processes.ts";

/** What mosquitto_sub printed. */
export interface SubResult {
  /** stdout split on "\n" (the newline after the last message is not a line). */
  lines: string[];
  /** stdout exactly as received, for binary payloads (use `-N` to drop the newlines). */
  stdout: Buffer;
  /** True when `-W` expired before `count` messages arrived. */
  timedOut: boolean;
}

/** How long mosquitto_sub runs. */
export interface SubOptions {
  /** Exit after this many messages (`-C`). */
  count?: number;
  /** Exit this long after connecting (`-W`, rounded up to whole seconds). */
  timeoutMs: number;
  /** Client id (`-i`); generated when absent. Do not pass `-i` in `args`. */
  clientId?: string;
}

/** A running mosquitto_sub. Both promises are safe to leave unawaited. */
export interface SubHandle {
  clientId: string;
  /** Resolves once the subscription is in place; rejects if it exits or times out first. */
  ready: Promise<void>;
  /** Resolves when mosquitto_sub exits normally or by `-W`; rejects on any other exit. */
  done: Promise<SubResult>;
}

/** mosquitto_sub's exit status when `-W` expires. */
const EXIT_TIMED_OUT = 27;
/** Extra time mosquitto_sub gets to connect and exit before it is killed. */
const EXIT_GRACE_MS = 3000;

/** Runs `mosquitto_sub -h 127.0.0.1 -p <port> <args>` and resolves when it exits. */
export function mosquittoSub(broker: Broker, args: string[], opts: SubOptions): Promise<SubResult> {
  return mosquittoSubStart(broker, args, opts).done;
}

/**
 * Starts mosquitto_sub and returns at once; await `ready` before publishing.
 *
 * @example
 * const sub = mosquittoSubStart(broker, ["-t", "a/b", "-N"], { count: 1, timeoutMs: 3000 });
 * await sub.ready;
 * await mosquittoPub(broker, ["-t", "a/b", "-m", "hi"]);
 * const { stdout } = await sub.done;
 */
export function mosquittoSubStart(broker: Broker, args: string[], opts: SubOptions): SubHandle {
  if (args.includes("-i") || args.includes("--id")) throw new Error("mosquittoSubStart: pass the client id as opts.clientId");
  const clientId = opts.clientId ?? `sub-${process.pid}-${randomBytes(4).toString("hex")}`;
  const timeoutSec = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
  const fullArgs = [...brokerArgs(broker), "-i", clientId, "-W", String(timeoutSec), ...args];
  if (opts.count !== undefined) fullArgs.push("-C", String(opts.count));

  const subscribed = broker.waitForLog(new RegExp(`Sending SUBACK to ${escapeRegExp(clientId)}$`), opts.timeoutMs);
  const child = spawnTracked(findExecutable("mosquitto_sub", ["/usr/bin"]), fullArgs, { stdio: ["ignore", "pipe", "pipe"] });
  const done = collect(child, timeoutSec * 1000 + EXIT_GRACE_MS).then((result) => {
    if (result.code !== 0 && result.code !== EXIT_TIMED_OUT) {
      throw new Error(`mosquitto_sub exited with ${result.code}: ${result.stderr}`);
    }
    const text = result.stdout.toString("utf8");
    const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
    return { lines, stdout: result.stdout, timedOut: result.code === EXIT_TIMED_OUT };
  });
  const exitedFirst = done.then(
    () => Promise.reject(new Error("mosquitto_sub exited before subscribing")),
    (error: unknown) => Promise.reject(error),
  );
  const ready = Promise.race([subscribed.then(() => undefined), exitedFirst]);
  ready.catch(() => {});
  done.catch(() => {});
  return { clientId, ready, done };
}

/**
 * Runs `mosquitto_pub -h 127.0.0.1 -p <port> <args>`, with `stdin` written to it and closed
 * when given (for `-l` / `-s`); rejects with its stderr on failure.
 */
export async function mosquittoPub(broker: Broker, args: string[], stdin?: string): Promise<void> {
  const child = spawnTracked(findExecutable("mosquitto_pub", ["/usr/bin"]), [...brokerArgs(broker), ...args], {
    stdio: [stdin === undefined ? "ignore" : "pipe", "ignore", "pipe"],
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  const result = await collect(child, 10_000);
  if (result.code !== 0) throw new Error(`mosquitto_pub exited with ${result.code}: ${result.stderr}`);
}

function brokerArgs(broker: Broker): string[] {
  return ["-h", "127.0.0.1", "-p", String(broker.port)];
}

/** Gathers a child's output until it exits; SIGKILLs it after `limitMs`. */
async function collect(child: ChildProcess, limitMs: number): Promise<{ code: number | string; stdout: Buffer; stderr: string }> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const code = await exited(child);
  await closed; // stdio fully drained
  clearTimeout(timer);
  return { code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8").trim() };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
