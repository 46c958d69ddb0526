/**
 * Broker URLs and the options of the transports they name: `mqtt://` / `tcp://` (TCP,
 * port 1883), `mqtts://` / `ssl://` (TLS, port 8883), `ws://` / `wss://` (MQTT over
 * WebSockets, subprotocol `mqtt`, path `/mqtt` unless the URL has one). The TLS options
 * carry MQTT.js's names (which are node:tls's). Nothing here opens a connection: the
 * platform (host/platform.ts) turns a {@link BrokerTarget} into a transport.
 *
 * @example
 * const target = parseBrokerTarget("wss://user@broker.example/ws");
 * target.scheme; // "wss"; target.port: 443; target.path: "/ws"
 */
import { argumentError, checkBoolean, show } from "./errors.ts";

/** How a URL's bytes travel. */
export type BrokerScheme = "mqtt" | "mqtts" | "ws" | "wss";

/** Where and how to connect, from a broker URL. */
export interface BrokerTarget {
  scheme: BrokerScheme;
  /** Without IPv6 brackets. */
  host: string;
  port: number;
  /** The WebSocket request path and query (`/mqtt` when the URL has no path); "" for mqtt and mqtts. */
  path: string;
  username?: string;
  password?: string;
}

/** A certificate, key or CA in PEM (a string or its bytes), or several. */
export type PemInput = string | Uint8Array | readonly (string | Uint8Array)[];

/**
 * TLS options for `mqtts://` and `wss://`, as MQTT.js (and node:tls) names them. Giving one
 * with a URL that is not TLS is refused (INVALID_ARGUMENT).
 */
export interface TlsOptions {
  /** The CA certificate(s) to trust instead of the system's. */
  ca?: PemInput;
  /** The client certificate chain, for brokers that require one. */
  cert?: PemInput;
  /** The client certificate's private key. */
  key?: PemInput;
  /** Unlocks an encrypted `key`. */
  passphrase?: string;
  /** Refuse a broker whose certificate does not verify (default true). */
  rejectUnauthorized?: boolean;
  /** The name sent in SNI and checked against the certificate (default: the URL's host). */
  servername?: string;
  /** ALPN protocols to offer, most preferred first. */
  ALPNProtocols?: readonly string[] | readonly Uint8Array[];
  /** node:tls's host name check: return an Error to refuse the certificate (mosquitto's --insecure returns undefined). */
  checkServerIdentity?: (hostname: string, certificate: unknown) => Error | undefined;
}

/** Every TLS option's name, for the unknown-option message. */
export const TLS_OPTION_NAMES: readonly (keyof TlsOptions)[] = [
  "ca", "cert", "key", "passphrase", "rejectUnauthorized", "servername", "ALPNProtocols", "checkServerIdentity",
];

/** The port of each scheme when the URL names none (IANA: 1883 MQTT, 8883 MQTT over TLS; HTTP's 80 and 443). */
const DEFAULT_PORTS: Record<BrokerScheme, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };
/** URL protocols and the scheme each means. */
const SCHEMES: Record<string, BrokerScheme> = { "mqtt:": "mqtt", "tcp:": "mqtt", "mqtts:": "mqtts", "ssl:": "mqtts", "ws:": "ws", "wss:": "wss" };
/** The WebSocket path when the URL has none, as MQTT.js. */
const DEFAULT_WS_PATH = "/mqtt";

/** True for the schemes that run over TLS. */
export function isTls(scheme: BrokerScheme): boolean {
  return scheme === "mqtts" || scheme === "wss";
}

/**
 * Parses a broker URL. Throws INVALID_ARGUMENT for something that is not a URL, another
 * scheme, or no host.
 */
export function parseBrokerTarget(url: string | URL): BrokerTarget {
  if (typeof url !== "string" && !(url instanceof URL)) throw argumentError(`url must be a string or URL (got ${show(url)})`);
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    throw argumentError(`${show(url)} is not a URL; expected mqtt://host:port`);
  }
  const scheme = SCHEMES[parsed.protocol];
  if (scheme === undefined) {
    throw argumentError(
      `unsupported scheme "${parsed.protocol}" in ${show(parsed.href)}; wasmqtt connects to mqtt://, tcp://, mqtts://, ssl://, ws:// and wss:// URLs`,
    );
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw argumentError(`${show(parsed.href)} names no host`);
  const websocket = scheme === "ws" || scheme === "wss";
  // the WHATWG URL parser gives "/" for an authority with no path
  const path = !websocket ? "" : parsed.pathname === "/" || parsed.pathname === "" ? `${DEFAULT_WS_PATH}${parsed.search}` : `${parsed.pathname}${parsed.search}`;
  return {
    scheme,
    host,
    port: parsed.port === "" ? DEFAULT_PORTS[scheme] : Number(parsed.port),
    path,
    username: parsed.username === "" ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === "" ? undefined : decodeURIComponent(parsed.password),
  };
}

/** The URL a WebSocket opens for `target`: scheme, host, port and path, without the user info (that goes in CONNECT). */
export function webSocketUrl(target: BrokerTarget): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `${target.scheme}://${host}:${target.port}${target.path}`;
}

/**
 * Checks the TLS options against the target: each one's type, and that a TLS option
 * comes with a TLS URL. Returns them (only those given); throws INVALID_ARGUMENT naming
 * the option.
 */
export function checkTlsOptions(target: BrokerTarget | undefined, options: TlsOptions): TlsOptions {
  const given = TLS_OPTION_NAMES.filter((name) => options[name] !== undefined);
  if (given.length === 0) return {};
  if (target !== undefined && !isTls(target.scheme)) {
    throw argumentError(`${given[0]} is a TLS option, but ${target.scheme}:// is not TLS; use mqtts:// or wss://`);
  }
  for (const name of ["ca", "cert", "key"] as const) checkPem(options[name], name);
  for (const name of ["passphrase", "servername"] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== "string") throw argumentError(`${name} must be a string (got ${show(value)})`);
  }
  checkBoolean(options.rejectUnauthorized, "rejectUnauthorized");
  const alpn = options.ALPNProtocols;
  if (alpn !== undefined && (!Array.isArray(alpn) || !alpn.every((entry) => typeof entry === "string" || entry instanceof Uint8Array))) {
    throw argumentError(`ALPNProtocols must be an array of strings (got ${show(alpn)})`);
  }
  if (options.checkServerIdentity !== undefined && typeof options.checkServerIdentity !== "function") {
    throw argumentError(`checkServerIdentity must be a function (got ${show(options.checkServerIdentity)})`);
  }
  return Object.fromEntries(given.map((name) => [name, options[name]])) as TlsOptions;
}

/** A PEM option: a string, bytes, or an array of them. */
function checkPem(value: unknown, name: string): void {
  if (value === undefined || typeof value === "string" || value instanceof Uint8Array) return;
  if (Array.isArray(value) && value.every((entry) => typeof entry === "string" || entry instanceof Uint8Array)) return;
  throw argumentError(`${name} must be PEM text, its bytes, or an array of them (got ${show(value)})`);
}
