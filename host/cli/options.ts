/**
 * Command-line options shared by `wasmqtt pub` and `wasmqtt sub`: the connection flags
 * mosquitto_pub / mosquitto_sub users know (-h -p -i -k -u -P -c -d -L, the will, the TLS
 * files --cafile --cert --key and --insecure), parsed
 * with node:util `parseArgs` and checked into the options `connect()` takes.
 *
 * @example
 * const values = parseCommand(argv, { ...CONNECTION_OPTIONS, message: { type: "string", short: "m" } });
 * const settings = connectionSettings(values, "pub");
 * const client = await connect(settings.url, settings.options);
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { ConnectProperties, PublishProperties, WillProperties } from "../index.ts";
import { type CommandProperties, type PropertyFlag, commandProperties, extractPropertyFlags, protocolVersionOption } from "./properties.ts";

/** A mistake on the command line: printed with a pointer to `--help`, exit status 1. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The `options` argument of node:util `parseArgs`. */
export type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }
>;

/** Parsed values: strings, booleans, or arrays of strings for `multiple` options. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** The build profiles `--profile` accepts (see boards/README.md). */
export const PROFILES = ["desktop", "esp32", "nodemcu"] as const;
export type Profile = (typeof PROFILES)[number];

/** Flags every client command accepts, named as mosquitto names them. */
export const CONNECTION_OPTIONS = {
  help: { type: "boolean" },
  host: { type: "string", short: "h" },
  port: { type: "string", short: "p" },
  url: { type: "string", short: "L" },
  id: { type: "string", short: "i" },
  "id-prefix": { type: "string", short: "I" },
  keepalive: { type: "string", short: "k" },
  username: { type: "string", short: "u" },
  pw: { type: "string", short: "P" },
  "disable-clean-session": { type: "boolean", short: "c" },
  qos: { type: "string", short: "q" },
  debug: { type: "boolean", short: "d" },
  pcap: { type: "string" },
  quiet: { type: "boolean" },
  "will-topic": { type: "string" },
  "will-payload": { type: "string" },
  "will-qos": { type: "string" },
  "will-retain": { type: "boolean" },
  profile: { type: "string" },
  cafile: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  insecure: { type: "boolean" },
  "protocol-version": { type: "string", short: "V" },
  state: { type: "string" },
} as const satisfies OptionSpec;

/** The connection flags' lines of `--help`, shared by both commands. */
export const CONNECTION_HELP = ` -h, --host HOST        broker host (default localhost)
 -p, --port PORT        broker port (default 1883, 8883 with TLS)
 -L, --url URL          mqtt(s)://[username[:password]@]host[:port]/topic instead of -h -p -u -P -t
     --cafile FILE      connect over TLS, trusting the CA certificate(s) in this PEM file
     --cert FILE, --key FILE
                        a client certificate and its private key (PEM), for brokers that
                        require one (TLS)
     --insecure         do not check that the broker's certificate is for the host name
                        connected to (the chain is still verified)
 -i, --id ID            client id (default wasmqtt- and random characters)
 -I, --id-prefix PREFIX client id is PREFIX followed by the process id
 -k, --keepalive SEC    keepalive in seconds, 0 to disable (default 60)
 -u, --username NAME    username
 -P, --pw PASSWORD      password (needs -u)
 -c, --disable-clean-session
                        keep the session on the broker after disconnecting (needs -i or -I)
 -d, --debug            print every MQTT packet sent and received (on stderr)
     --pcap FILE        write the MQTT bytes both ways to FILE as a pcap of TCP
                        segments, for Wireshark (over TLS too, as MQTT)
     --quiet            print no runtime errors (usage errors are still printed)
     --will-topic TOPIC, --will-payload TEXT, --will-qos 0|1|2, --will-retain
                        the message the broker publishes if this client disconnects
                        unexpectedly
     --profile NAME     module build to run: desktop (default), esp32 or nodemcu
     --state FILE       keep the session in FILE: what is not yet delivered (and,
                        with -c, the broker session's packet ids) survives this process
                        and is sent by the next run with the same FILE
 -V, --protocol-version mqttv311|mqttv5
                        MQTT 3.1.1 (default, also 311) or MQTT 5.0 (also 5)
 -D, --property COMMAND IDENTIFIER VALUE
                        an MQTT 5 property (needs -V mqttv5), as mosquitto: COMMAND connect
                        (session-expiry-interval, receive-maximum, maximum-packet-size,
                        topic-alias-maximum, request-response-information,
                        request-problem-information, user-property NAME VALUE) or publish
                        (content-type, payload-format-indicator, message-expiry-interval,
                        response-topic, correlation-data, user-property NAME VALUE)
     --help             this text`;

/** Default broker port for mqtt:// (MQTT 3.1.1 §4.2 leaves it to IANA: 1883). */
const DEFAULT_PORT = 1883;
/** Default broker port for MQTT over TLS (IANA: 8883), as mosquitto's clients. */
const DEFAULT_TLS_PORT = 8883;
/** Default keepalive, as mosquitto_pub / mosquitto_sub. */
const DEFAULT_KEEPALIVE_SEC = 60;
/** MQTT 3.1.1 §3.1.3.1: servers must accept client ids of 1–23 characters. */
const MAX_PORTABLE_CLIENT_ID = 23;

/** What `connect()` needs, plus what the commands print. */
export interface ConnectionSettings {
  /** `mqtt://host:port`, or `mqtts://host:port` for TLS. */
  url: string;
  /** The topic from `-L`, if any. */
  urlTopic: string | undefined;
  clientId: string;
  debug: boolean;
  quiet: boolean;
  /** MQTT 5: the PUBLISH properties of `-D publish …`. */
  publishProperties: PublishProperties | undefined;
  /** MQTT 5: the SUBSCRIBE's and the DISCONNECT's properties (`-D subscribe …`, `-D disconnect …`). */
  subscribeProperties: CommandProperties["subscribe"];
  disconnectProperties: CommandProperties["disconnect"];
  options: {
    clientId: string;
    clean: boolean;
    keepalive: number;
    username?: string;
    password?: string;
    will?: { topic: string; payload: string; qos: 0 | 1 | 2; retain: boolean; properties?: WillProperties };
    profile: Profile;
    protocolVersion: 4 | 5;
    properties?: ConnectProperties;
    trace?: { pcap: string };
    persist?: string;
  } & TlsFiles;
}

/**
 * Parses `argv` strictly against `spec`: unknown flags, missing values and stray
 * positional arguments become a `UsageError` with a short message.
 *
 * @param argv the arguments after the command name
 * @param spec the flags the command accepts
 * @returns the parsed values
 * @throws UsageError
 */
export function parseCommand(argv: string[], spec: OptionSpec): OptionValues {
  // -D takes two or three values, which parseArgs cannot: the client commands take it out first
  const extracted = "protocol-version" in spec ? extractPropertyFlags(argv) : { argv, properties: [] };
  let values: OptionValues;
  try {
    values = parseArgs({ args: extracted.argv, options: spec, strict: true, allowPositionals: false }).values as OptionValues;
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  if (extracted.properties.length > 0) values.property = extracted.properties.map((flag) => JSON.stringify(flag));
  return values;
}

/** A one-line message for a `parseArgs` error, without its hints about positionals. */
function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'([^']+)'/.exec(message)?.[1];
    return flag === undefined ? message : `Unknown option '${flag}'.`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const argument = /'([^']*)'/.exec(message)?.[1];
    return `Unexpected argument '${argument}'.`;
  }
  return message.split("\n").join(" ");
}

/**
 * Checks the connection flags and builds the `connect()` options from them.
 *
 * @param values what `parseCommand` returned
 * @returns the broker URL, client options and output settings
 * @throws UsageError for a bad number, a password without a username, -c without an id,
 *   will flags without --will-topic, -L together with -h / -p, a bad URL, a TLS file
 *   that cannot be read, --cert without --key (or the reverse), --insecure without TLS
 */
export function connectionSettings(values: OptionValues): ConnectionSettings {
  const urlText = stringValue(values.url);
  const fromUrl = urlText === undefined ? undefined : parseBrokerUrl(urlText);
  if (fromUrl !== undefined && (values.host !== undefined || values.port !== undefined)) {
    throw new UsageError("-L cannot be used together with -h or -p.");
  }
  const tlsFiles = tlsOptions(values);
  const tls = fromUrl?.tls === true || tlsFiles !== undefined;
  if (values.insecure === true && !tls) throw new UsageError("--insecure needs TLS (--cafile, --cert or -L mqtts://).");
  const host = fromUrl?.host ?? stringValue(values.host) ?? "localhost";
  const port = fromUrl?.port ?? integerOption(values.port, "port", 1, 65535) ?? (tls ? DEFAULT_TLS_PORT : DEFAULT_PORT);
  const username = stringValue(values.username) ?? fromUrl?.username;
  const password = stringValue(values.pw) ?? fromUrl?.password;
  const protocolVersion = protocolVersionOption(stringValue(values["protocol-version"]));
  if (password !== undefined && username === undefined && protocolVersion !== 5) {
    throw new UsageError("A password (-P) needs a username (-u): MQTT 3.1.1 §3.1.2.9.");
  }
  const flags = ((values.property ?? []) as string[]).map((text) => JSON.parse(text) as PropertyFlag);
  const properties = commandProperties(flags, protocolVersion);
  const clean = values["disable-clean-session"] !== true;
  const clientId = chooseClientId(values, clean);
  const options: ConnectionSettings["options"] = {
    clientId,
    clean,
    keepalive: integerOption(values.keepalive, "keepalive", 0, 65535) ?? DEFAULT_KEEPALIVE_SEC,
    profile: profileOption(values.profile),
    protocolVersion,
    ...tlsFiles,
  };
  if (values.insecure === true) options.checkServerIdentity = () => undefined;
  if (properties.connect !== undefined) options.properties = properties.connect;
  const pcap = stringValue(values.pcap);
  if (pcap !== undefined) options.trace = { pcap };
  if (username !== undefined) options.username = username;
  if (password !== undefined) options.password = password;
  const will = willOption(values);
  if (properties.will !== undefined) {
    if (will === undefined) throw new UsageError("-D will … needs a will: give --will-topic.");
    will.properties = properties.will;
  }
  if (will !== undefined) options.will = will;
  const state = stringValue(values.state);
  if (state === "") throw new UsageError("The state file (--state) cannot be empty.");
  if (state !== undefined) options.persist = state;
  return {
    url: `${tls ? "mqtts" : "mqtt"}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    urlTopic: fromUrl?.topic,
    clientId,
    debug: values.debug === true,
    quiet: values.quiet === true,
    publishProperties: properties.publish,
    subscribeProperties: properties.subscribe,
    disconnectProperties: properties.disconnect,
    options,
  };
}

/** `-i`, `-I` + pid, or `wasmqtt-` and 12 random characters (20 in all, within 23). */
function chooseClientId(values: OptionValues, clean: boolean): string {
  const id = stringValue(values.id);
  const prefix = stringValue(values["id-prefix"]);
  if (id !== undefined && prefix !== undefined) throw new UsageError("-i and -I cannot be used together.");
  if (!clean && id === undefined && prefix === undefined) {
    throw new UsageError("You must provide a client id (-i or -I) if you are using the -c option.");
  }
  if (id === "") throw new UsageError("The client id (-i) cannot be empty.");
  if (id !== undefined) return id;
  if (prefix !== undefined) return `${prefix}${process.pid}`;
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const random = [...randomBytes(12)].map((byte) => alphabet[byte % alphabet.length]).join("");
  const generated = `wasmqtt-${random}`;
  return generated.slice(0, MAX_PORTABLE_CLIENT_ID);
}

/** The will from `--will-*`, or undefined; the other will flags need `--will-topic`. */
function willOption(values: OptionValues): ConnectionSettings["options"]["will"] {
  const topic = stringValue(values["will-topic"]);
  const others = ["will-payload", "will-qos", "will-retain"].filter((name) => values[name] !== undefined);
  if (topic === undefined) {
    if (others.length > 0) throw new UsageError(`--${others[0]} needs --will-topic.`);
    return undefined;
  }
  return {
    topic,
    payload: stringValue(values["will-payload"]) ?? "",
    qos: qosOption(values["will-qos"], "will-qos") ?? 0,
    retain: values["will-retain"] === true,
  };
}

/** The TLS options `connect()` takes. */
interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  checkServerIdentity?: () => undefined;
}

/** The contents of --cafile, --cert and --key; undefined when none is given. */
function tlsOptions(values: OptionValues): TlsFiles | undefined {
  const [ca, cert, key] = (["cafile", "cert", "key"] as const).map((name) => readTlsFile(stringValue(values[name]), name));
  if ((cert === undefined) !== (key === undefined)) throw new UsageError("Both --cert and --key must be given if one of them is.");
  if (ca === undefined && cert === undefined) return undefined;
  const files: TlsFiles = {};
  if (ca !== undefined) files.ca = ca;
  if (cert !== undefined) files.cert = cert;
  if (key !== undefined) files.key = key;
  return files;
}

/** Reads a PEM file named by a TLS flag; a file that cannot be read is a usage error naming it. */
function readTlsFile(file: string | undefined, flag: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`Cannot read --${flag} '${file}': ${(error as Error).message}.`);
  }
}

/** `--profile`, default desktop. */
function profileOption(value: OptionValues[string]): Profile {
  const name = stringValue(value) ?? "desktop";
  if (!(PROFILES as readonly string[]).includes(name)) {
    throw new UsageError(`Unknown profile '${name}' (${PROFILES.join(", ")}).`);
  }
  return name as Profile;
}

/**
 * A QoS flag: 0, 1 or 2.
 *
 * @param value the flag's value, or undefined when absent
 * @param name the long flag name, for the message
 * @returns the QoS, or undefined when the flag was not given
 * @throws UsageError when the value is not 0, 1 or 2
 */
export function qosOption(value: OptionValues[string], name: string): 0 | 1 | 2 | undefined {
  const qos = integerOption(value, name, 0, 2);
  return qos as 0 | 1 | 2 | undefined;
}

/**
 * A whole-number flag within [min, max].
 *
 * @param value the flag's value, or undefined when absent
 * @param name the long flag name, for the message
 * @returns the number, or undefined when the flag was not given
 * @throws UsageError when the value is not a whole number in range
 */
export function integerOption(value: OptionValues[string], name: string, min: number, max: number): number | undefined {
  const text = stringValue(value);
  if (text === undefined) return undefined;
  const number = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(number >= min && number <= max)) {
    throw new UsageError(`Invalid --${name} '${text}': it must be a whole number from ${min} to ${max}.`);
  }
  return number;
}

/** A string flag's value (the last one given, for a repeated flag). */
export function stringValue(value: OptionValues[string]): string | undefined {
  if (Array.isArray(value)) return value.at(-1);
  return typeof value === "string" ? value : undefined;
}

/** The parts of `mqtt(s)://[username[:password]@]host[:port]/topic`. */
interface BrokerUrl {
  /** mqtts:// */
  tls: boolean;
  host: string;
  port: number;
  username?: string;
  password?: string;
  topic?: string;
}

/**
 * Parses a broker URL as `-L` and `demo --broker` take it: mqtt:// or mqtts:// (TLS).
 *
 * @param text the URL
 * @returns host, port (default 1883, 8883 for mqtts), credentials and topic when present
 * @throws UsageError for another scheme or a URL that does not parse
 */
export function parseBrokerUrl(text: string): BrokerUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`Invalid URL '${text}': expected mqtt://host[:port][/topic].`);
  }
  if (url.protocol !== "mqtt:" && url.protocol !== "mqtts:") {
    throw new UsageError(`Unsupported URL scheme '${url.protocol}' in '${text}': only mqtt:// and mqtts:// are supported.`);
  }
  const tls = url.protocol === "mqtts:";
  if (url.hostname === "") throw new UsageError(`Invalid URL '${text}': no host.`);
  const parsed: BrokerUrl = {
    tls,
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (tls ? DEFAULT_TLS_PORT : DEFAULT_PORT) : Number(url.port),
  };
  if (url.username !== "") parsed.username = decodeUrlPart(url.username, text);
  if (url.password !== "") parsed.password = decodeUrlPart(url.password, text);
  // everything after the authority's "/" is the topic, "#" included (URL calls it a
  // fragment), percent-decoded so "%23" and "%2B" work too
  const slash = text.indexOf("/", text.indexOf("//") + 2);
  const topic = slash === -1 ? "" : decodeUrlPart(text.slice(slash + 1), text);
  if (topic !== "") parsed.topic = topic;
  return parsed;
}

/** Percent-decodes one part of a URL; a broken escape is a usage error. */
function decodeUrlPart(part: string, text: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UsageError(`Invalid URL '${text}': bad percent-escape in '${part}'.`);
  }
}
