/**
 * Runs a real Mosquitto: free loopback port(s), a generated config in a fresh temp dir,
 * its log captured (for failure messages and for counting what it logs), and signals to
 * stop, restart, pause and kill it. The tests start one per suite; `wasmqtt soak --real`
 * starts one with persistence and restarts it during the run.
 *
 * @example
 * const broker = await startMosquitto({ persistence: true });
 * t.after(() => broker.stop());
 * const client = mqtt.connect(broker.url);
 */
import { execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { canConnect, freePort } from "./net/ports.ts";
import { exited, findExecutable, removeTempDir, spawnTracked, trackTempDir } from "./processes.ts";

/** How to configure the broker. */
export interface MosquittoOptions {
  /** Add a WebSocket listener. Default: true when the installed broker supports it. */
  websockets?: boolean;
  /** Keep sessions and queued messages in the temp dir; saved when the broker exits on SIGTERM. */
  persistence?: boolean;
  /** Require one of these logins (anonymous access is then refused). */
  users?: { username: string; password: string }[];
  /** `max_queued_messages`: per-client queue limit for offline/in-flight messages. */
  maxQueuedMessages?: number;
  /** Add a TLS listener with this server certificate (PEM files). */
  tls?: TlsListener;
  /** Further config lines, appended verbatim. */
  extraConfig?: string[];
  /** What the broker logs (`log_type`); default `["all"]`, every packet (the benchmark logs only errors). */
  logTypes?: string[];
}

/** The files of a TLS listener (mosquitto.conf(5): certfile, keyfile, cafile, require_certificate). */
export interface TlsListener {
  certfile: string;
  keyfile: string;
  /** The CA that client certificates must chain to; needed with `requireCertificate`. */
  cafile?: string;
  /** Refuse clients without a certificate from `cafile`. */
  requireCertificate?: boolean;
}

/** A running Mosquitto. */
export interface Broker {
  port: number;
  /** Port of the WebSocket listener, when there is one. */
  wsPort?: number;
  /** Port of the TLS listener, when there is one. */
  tlsPort?: number;
  /** `mqtts://127.0.0.1:<tlsPort>`, when there is a TLS listener. */
  tlsUrl?: string;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<wsPort>`, when there is a WebSocket listener. */
  wsUrl?: string;
  /** The temp dir holding config, password file and persistence database. */
  dir: string;
  /** SIGTERM (after SIGCONT if paused), wait for exit, delete the temp dir. */
  stop(): Promise<void>;
  /** SIGTERM and start again on the same ports with the same dir (works after `kill()` and `terminate()` too). */
  restart(): Promise<void>;
  /** SIGTERM (after SIGCONT if paused) and wait for exit; with persistence the broker saves its state. `restart()` brings it back. */
  terminate(): Promise<void>;
  /** SIGSTOP: the broker stays connected but silent, as for keepalive tests. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** SIGKILL and wait for exit: nothing is saved. `restart()` brings it back. */
  kill(): Promise<void>;
  /** The last {@link LOG_LINES} lines the broker logged, across restarts. */
  logs(): string;
  /** Calls `listener` with every line logged from now on, across restarts; returns what stops it. */
  onLog(listener: (line: string) => void): () => void;
  /**
   * Resolves with the first log line logged after this call that contains `pattern`
   * (a string) or matches it (a RegExp); rejects after `timeoutMs`.
   */
  waitForLog(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
}

/** How many log lines a broker keeps for {@link Broker.logs}. */
export const LOG_LINES = 300;

/** What the error for a missing executable says to do. */
const INSTALL_HINT = "install the Mosquitto broker (Debian/Ubuntu: apt-get install mosquitto)";
const START_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;
const PORT_ATTEMPTS = 5;

const execFileAsync = promisify(execFile);
let websocketSupport: boolean | undefined;

/** The mosquitto executable: `/usr/sbin/mosquitto` or the first on `$PATH`; throws an Error saying how to install it. */
export function mosquittoBinary(): string {
  return findExecutable("mosquitto", ["/usr/sbin"], INSTALL_HINT);
}

/**
 * Whether the installed broker was built with WebSocket support. Detected by looking for
 * the message it logs when opening a WebSocket listener, which only such builds contain
 * (a build without it rejects `protocol websockets` and exits).
 */
export function mosquittoSupportsWebsockets(): boolean {
  websocketSupport ??= readFileSync(mosquittoBinary()).includes("Opening websockets listen socket");
  return websocketSupport;
}

/** Starts a broker; rejects with its log if it is not accepting connections within 5 s. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Broker> {
  const binary = mosquittoBinary();
  const websockets = options.websockets ?? mosquittoSupportsWebsockets();
  if (websockets && !mosquittoSupportsWebsockets()) throw new Error("this mosquitto has no WebSocket support");
  const dir = mkdtempSync(path.join(os.tmpdir(), "wasmqtt-mosquitto-"));
  trackTempDir(dir);
  try {
    if (options.users?.length) await writePasswordFile(path.join(dir, "passwd"), options.users);
    for (let attempt = 1; ; attempt++) {
      const ports = { port: await freePort(), wsPort: websockets ? await freePort() : undefined, tlsPort: options.tls ? await freePort() : undefined };
      const broker = new MosquittoBroker(binary, dir, ports.port, ports.wsPort, ports.tlsPort);
      writeFileSync(broker.configPath, renderConfig(dir, ports, options));
      try {
        await broker.start();
        return broker;
      } catch (error) {
        if (attempt >= PORT_ATTEMPTS || !broker.logs().includes("Address already in use")) throw error;
      }
    }
  } catch (error) {
    removeTempDir(dir);
    throw error;
  }
}

/** Generates mosquitto.conf (see mosquitto.conf(5)). */
function renderConfig(dir: string, ports: { port: number; wsPort?: number; tlsPort?: number }, options: MosquittoOptions): string {
  const { port, wsPort, tlsPort } = ports;
  const lines = [
    // As root, mosquitto 2 drops to user "mosquitto", which cannot use our temp dir;
    // naming the current user keeps it as it is (and is ignored when not root).
    `user ${os.userInfo().username}`,
    `listener ${port} 127.0.0.1`,
  ];
  if (wsPort !== undefined) lines.push(`listener ${wsPort} 127.0.0.1`, "protocol websockets");
  if (tlsPort !== undefined && options.tls !== undefined) {
    const { certfile, keyfile, cafile, requireCertificate } = options.tls;
    lines.push(`listener ${tlsPort} 127.0.0.1`, `certfile ${certfile}`, `keyfile ${keyfile}`);
    if (cafile !== undefined) lines.push(`cafile ${cafile}`);
    if (requireCertificate) lines.push("require_certificate true");
  }
  if (options.users?.length) lines.push("allow_anonymous false", `password_file ${path.join(dir, "passwd")}`);
  else lines.push("allow_anonymous true");
  if (options.persistence) lines.push("persistence true", `persistence_location ${dir}/`);
  if (options.maxQueuedMessages !== undefined) lines.push(`max_queued_messages ${options.maxQueuedMessages}`);
  lines.push("log_dest stderr", ...(options.logTypes ?? ["all"]).map((type) => `log_type ${type}`), ...(options.extraConfig ?? []));
  return lines.join("\n") + "\n";
}

/** Creates a password file with `mosquitto_passwd -b` (`-c` for the first user). */
async function writePasswordFile(file: string, users: { username: string; password: string }[]): Promise<void> {
  const passwd = findExecutable("mosquitto_passwd", ["/usr/bin"], INSTALL_HINT);
  for (const [i, user] of users.entries()) {
    await execFileAsync(passwd, [...(i === 0 ? ["-c"] : []), "-b", file, user.username, user.password]);
  }
}

/** The {@link Broker} implementation: one config, one process at a time. */
class MosquittoBroker implements Broker {
  readonly url: string;
  readonly wsUrl?: string;
  readonly tlsUrl?: string;
  readonly configPath: string;
  private child: ChildProcess | undefined;
  private paused = false;
  private readonly logRing: string[] = [];
  private partialLine = "";
  private readonly logListeners = new Set<(line: string) => void>();

  constructor(
    private readonly binary: string,
    readonly dir: string,
    readonly port: number,
    readonly wsPort: number | undefined,
    readonly tlsPort: number | undefined,
  ) {
    this.configPath = path.join(dir, "mosquitto.conf");
    this.url = `mqtt://127.0.0.1:${port}`;
    if (wsPort !== undefined) this.wsUrl = `ws://127.0.0.1:${wsPort}`;
    if (tlsPort !== undefined) this.tlsUrl = `mqtts://127.0.0.1:${tlsPort}`;
  }

  /** Spawns the broker and waits until every listener accepts TCP connections. */
  async start(): Promise<void> {
    const child = spawnTracked(this.binary, ["-c", this.configPath], { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    this.paused = false;
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => this.appendLog(text));
    const ports = [this.port, this.wsPort, this.tlsPort].filter((port) => port !== undefined);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`mosquitto exited during startup (${child.exitCode ?? child.signalCode}):\n${this.logs()}`);
      }
      if ((await Promise.all(ports.map(canConnect))).every(Boolean)) return;
      if (Date.now() >= deadline) {
        child.kill("SIGKILL");
        await exited(child);
        throw new Error(`mosquitto not accepting connections on ${ports.join(", ")} after ${START_TIMEOUT_MS} ms:\n${this.logs()}`);
      }
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    await this.terminate();
    removeTempDir(this.dir);
  }

  async restart(): Promise<void> {
    await this.terminate();
    this.appendLog("--- restart ---\n");
    await this.start();
  }

  pause(): void {
    this.signal("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    this.signal("SIGCONT");
    this.paused = false;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill("SIGKILL");
    await exited(child);
  }

  logs(): string {
    return [...this.logRing, this.partialLine].join("\n");
  }

  onLog(listener: (line: string) => void): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  waitForLog(pattern: string | RegExp, timeoutMs = 5000): Promise<string> {
    const matches = (line: string) => (typeof pattern === "string" ? line.includes(pattern) : pattern.test(line));
    return new Promise((resolve, reject) => {
      const stop = this.onLog((line) => {
        if (!matches(line)) return;
        clearTimeout(timer);
        stop();
        resolve(line);
      });
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`mosquitto did not log ${String(pattern)} within ${timeoutMs} ms:\n${this.logs()}`));
      }, timeoutMs);
    });
  }

  /** SIGTERM (the broker saves persistence on it) and wait; SIGKILL if it hangs. */
  async terminate(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (this.paused) this.resume();
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited(child);
    clearTimeout(timer);
  }

  private signal(name: NodeJS.Signals): void {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`mosquitto is not running; cannot send ${name}`);
    }
    this.child.kill(name);
  }

  /** Splits log text into lines, keeps the last {@link LOG_LINES}, tells the listeners. */
  private appendLog(text: string): void {
    const lines = (this.partialLine + text).split("\n");
    this.partialLine = lines.pop() ?? "";
    for (const line of lines) {
      this.logRing.push(line);
      if (this.logRing.length > LOG_LINES) this.logRing.shift();
      for (const listener of [...this.logListeners]) listener(line);
    }
  }
}
