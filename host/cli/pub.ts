/**
 * `wasmqtt pub`: publish one message (or one per line of stdin) and exit, with the flags
 * of mosquitto_pub.
 *
 * @example
 * wasmqtt pub -h broker.local -t sensors/kitchen/temp -m 21.5 -q 1 -r
 * wasmqtt pub -t firmware/blob -f image.bin -q 2
 * journalctl -f | wasmqtt pub -t logs/host -l
 */
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import type { PublishOptions, WasmqttClient } from "../index.ts";
import { closeClient, openClient, refusedAtOnce } from "./connection.ts";
import { EXIT_OK, errorCode, exitStatusFor, printError } from "./exit.ts";
import {
  CONNECTION_HELP, CONNECTION_OPTIONS, type OptionValues, UsageError, connectionSettings,
  parseCommand, qosOption, stringValue,
} from "./options.ts";

/** The flags of `wasmqtt pub`. */
const PUB_OPTIONS = {
  ...CONNECTION_OPTIONS,
  topic: { type: "string", short: "t" },
  message: { type: "string", short: "m" },
  file: { type: "string", short: "f" },
  "stdin-file": { type: "boolean", short: "s" },
  "stdin-line": { type: "boolean", short: "l" },
  "null-message": { type: "boolean", short: "n" },
  retain: { type: "boolean", short: "r" },
} as const;

/** `wasmqtt pub --help`. */
export const PUB_HELP = `wasmqtt pub: publish a message to an MQTT 3.1.1 or 5.0 broker and exit.

Usage: wasmqtt pub {[-h host] [-p port] [-u username [-P password]] -t topic | -L URL}
                   {-m message | -f file | -s | -l | -n}
                   [-q qos] [-r] [-c] [-i id | -I id-prefix] [-k keepalive] [-d] [--quiet]
                   [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                   [--profile desktop|esp32|nodemcu] [-V mqttv311|mqttv5] [-D command property value]
                   [--state file]

 -t, --topic TOPIC      topic to publish to (no wildcards)
 -m, --message TEXT     the message
 -f, --file FILE        send the contents of FILE as the message
 -s, --stdin-file       send all of stdin as one message
 -l, --stdin-line       send each line of stdin as a message
 -n, --null-message     send a zero-length message
 -q, --qos 0|1|2        quality of service (default 0); exits once the flow is complete
 -r, --retain           ask the broker to retain the message
${CONNECTION_HELP}

Exit status: 0 sent, 1 usage or runtime error, 1-5 the broker's CONNACK refusal code.`;

/** Where the message comes from: exactly one of -m -f -s -l -n. */
type Source = { kind: "payload"; payload: string | Buffer } | { kind: "lines" };

/**
 * Runs `wasmqtt pub`.
 *
 * @param argv the arguments after "pub"
 * @returns the exit status (see exit.ts)
 * @throws UsageError for a mistake on the command line (the caller prints it, status 1)
 */
export async function runPub(argv: string[]): Promise<number> {
  const values = parseCommand(argv, PUB_OPTIONS);
  if (values.help === true) {
    process.stdout.write(`${PUB_HELP}\n`);
    return EXIT_OK;
  }
  const settings = connectionSettings(values);
  const topic = chooseTopic(stringValue(values.topic), settings.urlTopic);
  const qos = qosOption(values.qos, "qos") ?? 0;
  const retain = values.retain === true;
  const source = await readSource(values);
  let client: WasmqttClient | undefined;
  try {
    client = await openClient(settings, false, { publishTopic: topic });
    if (source.kind === "lines") {
      await client.connect();
      await publishLines(client, topic, { qos, retain, properties: settings.publishProperties });
    } else {
      // handed to the module before connecting: it checks the topic now and sends the
      // PUBLISH right after the CONNACK
      const published = client.publish(topic, source.payload, { qos, retain, properties: settings.publishProperties });
      const refusal = await refusedAtOnce(published);
      if (refusal !== undefined) throw refusal.error;
      await client.connect();
      await published;
    }
    await closeClient(client, undefined, settings.disconnectProperties);
    return EXIT_OK;
  } catch (error) {
    printError(error, settings.quiet);
    if (client !== undefined) await closeClient(client);
    return exitStatusFor(error);
  }
}

/** The topic from -t or from -L's path; exactly one of them. */
function chooseTopic(topic: string | undefined, urlTopic: string | undefined): string {
  if (topic !== undefined && urlTopic !== undefined) throw new UsageError("Give the topic with -t or in the -L URL, not both.");
  const chosen = topic ?? urlTopic;
  if (chosen === undefined) throw new UsageError("Both topic and message must be supplied.");
  return chosen;
}

/**
 * Reads the message from the flag that names its source, before connecting.
 *
 * @throws UsageError when none or more than one of -m -f -s -l -n is given, or -f cannot be read
 */
async function readSource(values: OptionValues): Promise<Source> {
  const given = ["message", "file", "stdin-file", "stdin-line", "null-message"].filter((name) => values[name] !== undefined);
  if (given.length === 0) throw new UsageError("Both topic and message must be supplied.");
  if (given.length > 1) throw new UsageError("Only one type of message can be sent at once (-m, -f, -s, -l or -n).");
  switch (given[0]) {
    case "message":
      return { kind: "payload", payload: stringValue(values.message) ?? "" };
    case "file": {
      const path = stringValue(values.file) ?? "";
      try {
        return { kind: "payload", payload: await readFile(path) };
      } catch (error) {
        throw new UsageError(`Unable to read file '${path}': ${(error as Error).message}.`);
      }
    }
    case "stdin-file":
      return { kind: "payload", payload: await readStdin() };
    case "stdin-line":
      return { kind: "lines" };
    default:
      return { kind: "payload", payload: "" };
  }
}

/** All of stdin as bytes. */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** How long `-l` waits before offering a message again when the outbox is full. */
const OUTBOX_RETRY_MS = 20;

/**
 * `-l`: one message per line of stdin, in order, until stdin ends. Each publish is awaited
 * (QoS 1/2: until acknowledged); when the outbox is full the line waits for room.
 */
async function publishLines(client: WasmqttClient, topic: string, options: PublishOptions): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      for (;;) {
        try {
          await client.publish(topic, line, options);
          break;
        } catch (error) {
          if (errorCode(error) !== "OUTBOX_FULL") throw error;
          await delay(OUTBOX_RETRY_MS);
        }
      }
    }
  } finally {
    lines.close();
  }
}
