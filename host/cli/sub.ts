/**
 * `wasmqtt sub`: subscribe to topic filters and print every message, with the flags of
 * mosquitto_sub. Runs until -C messages arrived, -W seconds passed, or Ctrl-C; a lost
 * connection is re-established by the module (jittered exponential backoff), which
 * resubscribes when the broker kept no session.
 *
 * @example
 * wasmqtt sub -t 'sensors/#' -v
 * wasmqtt sub -t cmd/reboot -C 1 -W 60 -q 1
 */
import type { Granted, WasmqttClient } from "../index.ts";
import { closeClient, eventsEmitted, openClient, printLine, refusedAtOnce } from "./connection.ts";
import { EXIT_ERROR, EXIT_OK, EXIT_TIMEOUT, describeError, exitStatusFor, printError } from "./exit.ts";
import {
  CONNECTION_HELP, CONNECTION_OPTIONS, type ConnectionSettings, UsageError, connectionSettings, integerOption,
  parseCommand, qosOption,
} from "./options.ts";

/** The flags of `wasmqtt sub`. */
const SUB_OPTIONS = {
  ...CONNECTION_OPTIONS,
  topic: { type: "string", short: "t", multiple: true },
  count: { type: "string", short: "C" },
  verbose: { type: "boolean", short: "v" },
  timeout: { type: "string", short: "W" },
  "no-eol": { type: "boolean", short: "N" },
  "no-retained": { type: "boolean", short: "R" },
  "exit-on-subscribed": { type: "boolean", short: "E" },
} as const;

/** `wasmqtt sub --help`. */
export const SUB_HELP = `wasmqtt sub: subscribe to MQTT 3.1.1 or 5.0 topic filters and print the messages.

Usage: wasmqtt sub {[-h host] [-p port] [-u username [-P password]] -t topic ... | -L URL [-t topic ...]}
                   [-q qos] [-v] [-N] [-R] [-C count] [-W timeout] [-E]
                   [-c] [-i id | -I id-prefix] [-k keepalive] [-d] [--quiet]
                   [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                   [--profile desktop|esp32|nodemcu] [-V mqttv311|mqttv5] [-D connect property value]
                   [--state file]

 -t, --topic FILTER     topic filter to subscribe to ("+" and "#" wildcards); repeatable
 -q, --qos 0|1|2        maximum QoS to receive (default 0)
 -v, --verbose          print "topic payload" instead of the payload alone
 -N, --no-eol           print no newline after each payload
 -R, --no-retained      skip (and do not count) retained messages
 -C, --count N          exit after N messages
 -W, --timeout SEC      exit with status 27 if the messages have not all arrived after SEC
                        seconds (counted from the first CONNACK)
 -E, --exit-on-subscribed
                        exit once the broker has acknowledged the subscriptions
${CONNECTION_HELP}

Exit status: 0 done (or Ctrl-C), 1 usage or runtime error, 1-5 the broker's CONNACK
refusal code, 27 the -W timeout passed.`;

/** Backoff bounds for reconnecting after the connection is lost (mosquitto_sub retries too). */
const RECONNECT = { minDelayMs: 1000, maxDelayMs: 30000 };

/** What a run of `sub` was asked to do. */
interface SubRequest {
  settings: ConnectionSettings;
  filters: { topic: string; qos: 0 | 1 | 2 }[];
  count: number | undefined;
  timeoutSec: number | undefined;
  verbose: boolean;
  eol: boolean;
  skipRetained: boolean;
  exitOnSubscribed: boolean;
}

/**
 * Runs `wasmqtt sub`.
 *
 * @param argv the arguments after "sub"
 * @returns the exit status (see exit.ts)
 * @throws UsageError for a mistake on the command line (the caller prints it, status 1)
 */
export async function runSub(argv: string[]): Promise<number> {
  const values = parseCommand(argv, SUB_OPTIONS);
  if (values.help === true) {
    process.stdout.write(`${SUB_HELP}\n`);
    return EXIT_OK;
  }
  const settings = connectionSettings(values);
  if (settings.publishProperties !== undefined) throw new UsageError("-D publish properties are for wasmqtt pub; sub publishes nothing.");
  // a filter given twice is subscribed once (one SUBSCRIBE may not name a filter twice here)
  const topics = [...new Set([...((values.topic as string[] | undefined) ?? []), ...(settings.urlTopic === undefined ? [] : [settings.urlTopic])])];
  if (topics.length === 0) throw new UsageError("You must specify a topic to subscribe to.");
  const qos = qosOption(values.qos, "qos") ?? 0;
  const request: SubRequest = {
    settings,
    filters: topics.map((topic) => ({ topic, qos })),
    count: integerOption(values.count, "count", 1, Number.MAX_SAFE_INTEGER),
    timeoutSec: integerOption(values.timeout, "timeout", 1, 2_000_000),
    verbose: values.verbose === true,
    eol: values["no-eol"] !== true,
    skipRetained: values["no-retained"] === true,
    exitOnSubscribed: values["exit-on-subscribed"] === true,
  };
  return subscribeAndPrint(request);
}

/** Connects, subscribes, prints messages; resolves with the exit status once finished. */
async function subscribeAndPrint(request: SubRequest): Promise<number> {
  const { settings } = request;
  let client: WasmqttClient | undefined;
  let subscribed: Promise<Granted[]>;
  try {
    client = await openClient(settings, RECONNECT, { subscriptions: request.filters });
    // handed to the module before connecting: it checks the filters now (INVALID_FILTER
    // rejects at once) and sends the SUBSCRIBE right after the CONNACK
    const { subscribeProperties } = settings;
    subscribed = client.subscribe(request.filters, subscribeProperties === undefined ? {} : { properties: subscribeProperties });
    const refusal = await refusedAtOnce(subscribed);
    if (refusal !== undefined) throw refusal.error;
  } catch (error) {
    printError(error, settings.quiet);
    if (client !== undefined) await closeClient(client);
    return exitStatusFor(error);
  }
  return receive(request, client, subscribed);
}

/** Connects and prints messages until -C, -W, -E, Ctrl-C or a fatal error. */
function receive(request: SubRequest, client: WasmqttClient, subscribed: Promise<Granted[]>): Promise<number> {
  const { settings } = request;
  return new Promise<number>((resolve) => {
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    let received = 0;
    const finish = (status: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      process.off("SIGINT", interrupt).off("SIGTERM", interrupt);
      void closeClient(client, undefined, settings.disconnectProperties).then(() => resolve(status));
    };
    const fail = (error: unknown) => {
      if (finished) return;
      printError(error, settings.quiet);
      finish(exitStatusFor(error));
    };
    const interrupt = () => finish(EXIT_OK);
    process.on("SIGINT", interrupt).on("SIGTERM", interrupt);

    client.on("message", (topic, payload, meta) => {
      if (finished || (request.skipRetained && meta.retain)) return;
      printMessage(request, topic, payload);
      received++;
      if (request.count !== undefined && received >= request.count) finish(EXIT_OK);
    });
    client.on("offline", (reason) => {
      if (!settings.quiet && !finished) printLine(`Warning: ${describeError(reason)}; reconnecting.`);
    });
    client.on("error", () => {}); // "offline" reports lost connections; failed attempts are retried
    let connects = 0;
    client.on("connect", (sessionPresent) => {
      connects++;
      const again = connects > 1;
      if (settings.debug || (again && !settings.quiet)) {
        printLine(`${again ? "Reconnected" : "Connected"} (session present: ${sessionPresent ? 1 : 0}).`);
      }
    });
    subscribed.then(async (granted) => {
      await eventsEmitted();
      if (!finished) reportGranted(request, granted, finish);
    }, fail);
    client.connect().then(() => {
      if (request.timeoutSec === undefined || finished) return;
      timer = setTimeout(() => {
        if (!settings.quiet) printLine("Timed out");
        finish(EXIT_TIMEOUT);
      }, request.timeoutSec * 1000);
    }, fail);
  });
}

/**
 * After the SUBACK: with -d, what was granted; a warning per refused filter; exits when
 * every filter was refused, or with -E.
 */
function reportGranted(request: SubRequest, granted: Granted[], finish: (status: number) => void): void {
  const { settings } = request;
  if (settings.debug) printLine(`Subscribed: ${granted.map(({ topic, qos }) => `${topic} (granted ${qos === 128 ? "failure 0x80" : `QoS ${qos}`})`).join(", ")}`);
  const refused = granted.filter(({ qos }) => qos === 128);
  if (!settings.quiet) for (const { topic } of refused) printLine(`Warning: the broker refused the subscription to "${topic}".`);
  if (refused.length === granted.length) {
    if (!settings.quiet) printLine("Error: All subscription requests were denied.");
    finish(EXIT_ERROR);
  } else if (request.exitOnSubscribed) {
    finish(EXIT_OK);
  }
}

/** Writes one message to stdout: the raw payload bytes, "topic " first with -v, a newline unless -N. */
function printMessage(request: SubRequest, topic: string, payload: Uint8Array): void {
  const parts: Uint8Array[] = [];
  if (request.verbose) parts.push(Buffer.from(`${topic} `));
  parts.push(payload);
  if (request.eol) parts.push(Buffer.from("\n"));
  process.stdout.write(Buffer.concat(parts));
}
