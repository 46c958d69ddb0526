/**
 * mosquitto_pub / mosquitto_sub's MQTT 5 flags: `-V` (protocol version) and
 * `-D command identifier value` (`-D command user-property name value`), taken out of the
 * command line before node:util parseArgs sees it (a flag with two or three values) and
 * turned into the properties `connect()` and `publish()` take.
 *
 * @example
 * const { argv, properties } = extractPropertyFlags(["-t", "a", "-D", "publish", "content-type", "text/plain"]);
 * commandProperties(properties, 5).publish; // { contentType: "text/plain" }
 */
import type { ConnectProperties, DisconnectProperties, PublishProperties, UserProperties, WillProperties } from "../index.ts";
import { UsageError } from "./options.ts";

/** One `-D`: the command (lower case), the identifier, the value(s). */
export interface PropertyFlag {
  command: string;
  identifier: string;
  values: string[];
}

/** Properties by the packet they go in. */
export interface CommandProperties {
  connect?: ConnectProperties;
  publish?: PublishProperties;
  will?: WillProperties;
  subscribe?: { userProperties?: UserProperties };
  disconnect?: DisconnectProperties;
}

type Kind = "number" | "boolean" | "string" | "user";

/** The PUBLISH identifiers, which the will's take too (MQTT 5.0 §3.1.3.2). */
const PUBLISH: Record<string, [name: string, kind: Kind]> = {
  "payload-format-indicator": ["payloadFormatIndicator", "boolean"],
  "message-expiry-interval": ["messageExpiryInterval", "number"],
  "content-type": ["contentType", "string"],
  "response-topic": ["responseTopic", "string"],
  "correlation-data": ["correlationData", "string"],
  "user-property": ["userProperties", "user"],
};

/** The identifiers `-D` takes per command, with mosquitto's names, as MQTT.js's names. */
const IDENTIFIERS: Record<keyof CommandProperties, Record<string, [name: string, kind: Kind]>> = {
  connect: {
    "session-expiry-interval": ["sessionExpiryInterval", "number"],
    "receive-maximum": ["receiveMaximum", "number"],
    "maximum-packet-size": ["maximumPacketSize", "number"],
    "topic-alias-maximum": ["topicAliasMaximum", "number"],
    "request-response-information": ["requestResponseInformation", "boolean"],
    "request-problem-information": ["requestProblemInformation", "boolean"],
    "user-property": ["userProperties", "user"],
  },
  publish: PUBLISH,
  will: { "will-delay-interval": ["willDelayInterval", "number"], ...PUBLISH },
  subscribe: { "user-property": ["userProperties", "user"] },
  disconnect: {
    "session-expiry-interval": ["sessionExpiryInterval", "number"],
    "user-property": ["userProperties", "user"],
  },
};

/**
 * Takes every `-D` / `--property` and its values out of `argv`.
 *
 * @throws UsageError when a `-D` lacks its values
 */
export function extractPropertyFlags(argv: string[]): { argv: string[]; properties: PropertyFlag[] } {
  const rest: string[] = [];
  const properties: PropertyFlag[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== "-D" && argv[i] !== "--property") {
      rest.push(argv[i]);
      continue;
    }
    const [command, identifier] = [argv[i + 1], argv[i + 2]];
    const count = identifier === "user-property" ? 2 : 1;
    const values = argv.slice(i + 3, i + 3 + count);
    if (command === undefined || identifier === undefined || values.length < count) {
      throw new UsageError(`-D needs a command, a property and ${identifier === "user-property" ? "a name and a value" : "a value"} (e.g. -D publish user-property name value).`);
    }
    properties.push({ command: command.toLowerCase(), identifier, values });
    i += 2 + count;
  }
  return { argv: rest, properties };
}

/**
 * The `-V` value as a protocolVersion: mqttv311 / 311 → 4, mqttv5 / 5 → 5 (default 4).
 *
 * @throws UsageError for another value (MQTT 3.1, mqttv31, is not supported)
 */
export function protocolVersionOption(value: string | undefined): 4 | 5 {
  if (value === undefined || value === "mqttv311" || value === "311") return 4;
  if (value === "mqttv5" || value === "5") return 5;
  throw new UsageError(`Invalid protocol version '${value}': mqttv311 (311) or mqttv5 (5); MQTT 3.1 is not supported.`);
}

/**
 * The `-D` flags as properties per packet.
 *
 * @throws UsageError for -D without -V mqttv5, an unknown command or property, a bad number
 */
export function commandProperties(flags: PropertyFlag[], protocolVersion: 4 | 5): CommandProperties {
  if (flags.length > 0 && protocolVersion !== 5) throw new UsageError("-D properties need MQTT 5 (-V mqttv5).");
  const result: Record<string, Record<string, unknown>> = {};
  for (const { command, identifier, values } of flags) {
    if (!Object.hasOwn(IDENTIFIERS, command)) {
      throw new UsageError(`-D ${command}: properties are supported for ${Object.keys(IDENTIFIERS).join(", ")} only.`);
    }
    const entry = IDENTIFIERS[command as keyof CommandProperties][identifier];
    if (entry === undefined) {
      const known = Object.keys(IDENTIFIERS[command as keyof CommandProperties]).join(", ");
      throw new UsageError(`-D ${command} ${identifier}: not a property wasmqtt sends in ${command === "will" ? "the Will Properties" : command.toUpperCase()} (${known}).`);
    }
    const [name, kind] = entry;
    const target = (result[command] ??= {});
    const [value] = values;
    if (kind === "user") {
      const users = (target.userProperties ??= {}) as Record<string, string | string[]>;
      const [key, text] = values;
      const held = users[key];
      users[key] = held === undefined ? text : Array.isArray(held) ? [...held, text] : [held, text];
    } else if (kind === "number") {
      if (!/^\d+$/.test(value)) throw new UsageError(`-D ${command} ${identifier} '${value}': it must be a whole number.`);
      target[name] = Number(value);
    } else if (kind === "boolean") {
      if (value !== "0" && value !== "1") throw new UsageError(`-D ${command} ${identifier} '${value}': it must be 0 or 1.`);
      target[name] = value === "1";
    } else target[name] = value;
  }
  return result as CommandProperties;
}
