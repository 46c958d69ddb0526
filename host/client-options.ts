/**
 * The options of {@link connect} / {@link createClient}: their types, their defaults, and
 * {@link resolveOptions}, which checks what a user passed (a clear INVALID_ARGUMENT /
 * INVALID_QOS message naming the option) and fills in the rest.
 *
 * @example
 * const settings = resolveOptions("mqtt://user:pw@127.0.0.1:1883", { keepalive: 30 });
 * settings.username; // "user"
 */
import { randomBytes } from "node:crypto";
import { type Clock, systemClock } from "./clock.ts";
import { argumentError, qosError, show } from "./errors.ts";
import type { Profile } from "./module.ts";
import { TcpTransport, type Transport } from "./transport.ts";

/** A quality of service level. */
export type QoS = 0 | 1 | 2;

/** The last will: published by the broker when the connection is lost without a DISCONNECT. */
export interface Will {
  topic: string;
  payload: string | Uint8Array;
  qos?: QoS;
  retain?: boolean;
}

/** Reconnect backoff bounds; the module picks each delay (exponential, jittered) in between. */
export interface ReconnectOptions {
  /** Default 1000. */
  minDelayMs?: number;
  /** Default 60000. */
  maxDelayMs?: number;
}

/** Options of {@link connect} and {@link createClient}. */
export interface ClientOptions {
  /** Default: `wasmqtt-` and 12 random hex digits. */
  clientId?: string;
  /** Clean session (default true). */
  clean?: boolean;
  /** Keepalive in seconds, 0..65535 (default 60; 0 turns it off). */
  keepalive?: number;
  /** Default: the URL's user name, if any. */
  username?: string;
  /** Default: the URL's password, if any. Needs a username (MQTT 3.1.1 §3.1.2.9). */
  password?: string | Uint8Array;
  will?: Will;
  /** Backoff bounds, or false for a client that stays down once its connection is lost. Default: on, 1000..60000 ms. */
  reconnect?: ReconnectOptions | false;
  /** The module build to run (default "desktop"): its capacities are the client's limits. */
  profile?: Profile;
  /** How long TCP connect plus CONNACK may take (default 10000). */
  connectTimeoutMs?: number;
  /** Carry the bytes over this instead of TCP to the URL (e.g. the simulator's NetworkLink). */
  transport?: Transport;
  /** Time source and timers (default: the system clock; e.g. the simulator's VirtualClock). */
  clock?: Clock;
}

const DEFAULT_PORT = 1883;
const DEFAULT_KEEPALIVE_SEC = 60;
/** Reconnect backoff bounds when none are given (the module's own defaults). */
export const DEFAULT_RECONNECT: Required<ReconnectOptions> = { minDelayMs: 1000, maxDelayMs: 60000 };

/** Options checked and filled in. */
export interface Settings {
  transport: Transport;
  clock: Clock;
  profile: Profile;
  clientId: string;
  clean: boolean;
  keepalive: number;
  username: string | undefined;
  password: string | Uint8Array | undefined;
  will: Will | undefined;
  reconnect: Required<ReconnectOptions> | false;
  connectTimeoutMs: number | undefined;
}

/** Checks `options` and fills in the defaults; throws a {@link WasmqttError} (INVALID_ARGUMENT, INVALID_QOS) naming a bad option. */
export function resolveOptions(url: string | URL, options: ClientOptions): Settings {
  if (options === null || typeof options !== "object") throw argumentError(`options must be an object (got ${show(options)})`);
  const target = options.transport === undefined ? parseUrl(url) : undefined;
  const clientId = options.clientId ?? `wasmqtt-${randomBytes(6).toString("hex")}`;
  if (typeof clientId !== "string") throw argumentError(`clientId must be a string (got ${show(clientId)})`);
  const keepalive = options.keepalive ?? DEFAULT_KEEPALIVE_SEC;
  if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 0xffff) {
    throw argumentError(`keepalive ${show(keepalive)} must be a whole number of seconds from 0 to 65535`);
  }
  const username = options.username ?? target?.username;
  if (username !== undefined && typeof username !== "string") throw argumentError(`username must be a string (got ${show(username)})`);
  const password = options.password ?? target?.password;
  if (password !== undefined && typeof password !== "string" && !(password instanceof Uint8Array)) {
    throw argumentError(`password must be a string or a Uint8Array (got ${show(password)})`);
  }
  const will = options.will;
  if (will !== undefined) {
    if (will === null || typeof will !== "object" || typeof will.topic !== "string") {
      throw argumentError(`will must be { topic, payload, qos?, retain? } (got ${show(will)})`);
    }
    if (typeof will.payload !== "string" && !(will.payload instanceof Uint8Array)) {
      throw argumentError(`will payload must be a string or a Uint8Array (got ${show(will.payload)})`);
    }
    if (will.qos !== undefined && (!Number.isInteger(will.qos) || will.qos < 0 || will.qos > 3)) throw qosError(will.qos, "will qos");
  }
  let reconnect: Required<ReconnectOptions> | false = DEFAULT_RECONNECT;
  if (options.reconnect === false) reconnect = false;
  else if (options.reconnect !== undefined) {
    reconnect = {
      minDelayMs: delayOption(options.reconnect.minDelayMs ?? DEFAULT_RECONNECT.minDelayMs, "reconnect.minDelayMs"),
      maxDelayMs: delayOption(options.reconnect.maxDelayMs ?? Math.max(DEFAULT_RECONNECT.maxDelayMs, options.reconnect.minDelayMs ?? 0), "reconnect.maxDelayMs"),
    };
  }
  const connectTimeoutMs = options.connectTimeoutMs === undefined ? undefined : delayOption(options.connectTimeoutMs, "connectTimeoutMs");
  return {
    transport: options.transport ?? new TcpTransport(target!.host, target!.port),
    clock: options.clock ?? systemClock(),
    profile: options.profile ?? "desktop",
    clientId,
    clean: options.clean ?? true,
    keepalive,
    username,
    password,
    will,
    reconnect,
    connectTimeoutMs,
  };
}

/** A millisecond option: a whole number from 1 to 2^32 − 1. */
function delayOption(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 0xffffffff) {
    throw argumentError(`${name} ${show(value)} must be a whole number of milliseconds from 1 to 4294967295`);
  }
  return value;
}

/** `mqtt://` or `tcp://` host and port (1883 by default), and the user info if any. */
function parseUrl(url: string | URL): { host: string; port: number; username?: string; password?: string } {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    throw argumentError(`${show(url)} is not a URL; expected mqtt://host:port`);
  }
  if (parsed.protocol !== "mqtt:" && parsed.protocol !== "tcp:") {
    throw argumentError(`unsupported scheme "${parsed.protocol}" in ${show(parsed.href)}; wasmqtt connects to mqtt:// and tcp:// URLs`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw argumentError(`${show(parsed.href)} names no host`);
  return {
    host,
    port: parsed.port === "" ? DEFAULT_PORT : Number(parsed.port),
    username: parsed.username === "" ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === "" ? undefined : decodeURIComponent(parsed.password),
  };
}
